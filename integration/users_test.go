package integration

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Another user's view of aufsmount: what goes wrong in fusermount3 is
// said in its words, not as "fusermount exited with code 256".

const nobody = 65534

// asNobody runs bin as uid and gid 65534 with no other groups.
func asNobody(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	setpriv := testenv.Tool(t, "setpriv")
	cmd := exec.Command(setpriv, append([]string{"--reuid", "65534", "--regid", "65534", "--clear-groups", bin}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// openToAll makes dir and the directories above it (up to the temporary
// directory) enterable by every user.
func openToAll(t *testing.T, dir string) string {
	t.Helper()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// publicCopy is the binary where every user can run it.
func publicCopy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(openToAll(t, t.TempDir()), "aufsmount")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// userAllowOther says whether /etc/fuse.conf lets users ask for allow_other.
func userAllowOther() bool {
	f, err := os.Open("/etc/fuse.conf")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "user_allow_other" {
			return true
		}
	}
	return false
}

func TestOtherUser(t *testing.T) {
	testenv.FUSE(t)
	fusermount := testenv.Tool(t, "fusermount3")
	bin := publicCopy(t)
	rs := buildRefStore(t, layerstore.LayoutCAS)
	root := rs.b.Root
	openToAll(t, filepath.Dir(root))
	if err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		mode := fi.Mode().Perm() | 0o444 // readable by all
		if fi.IsDir() || mode&0o100 != 0 {
			mode |= 0o111
		}
		return os.Chmod(p, mode)
	}); err != nil {
		t.Fatal(err)
	}

	// A mount fusermount3 refuses: its reason, on one line.
	mine := openToAll(t, t.TempDir())
	if err := os.Chown(mine, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	opts := "ro"
	if !userAllowOther() {
		opts = "allow_other" // refused without user_allow_other in /etc/fuse.conf
	}
	stdout, stderr, code := asNobody(t, bin, "--root", root, "-o", opts, "busybox", mine)
	if code == 0 {
		// This host lets nobody mount: then it must also unmount.
		if _, stderr, code := asNobody(t, bin, "umount", mine); code != 0 {
			t.Errorf("nobody's umount of its own view: exit %d: %s", code, stderr)
			forceUnmount(mine)
		}
		if opts == "allow_other" {
			t.Errorf("-o allow_other without user_allow_other in /etc/fuse.conf was accepted")
		}
	} else {
		prefix := "aufsmount: mounting busybox on " + mine + ": " + fusermount + ": "
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, prefix) || len(stderr) <= len(prefix)+1 ||
			strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "exited with code") {
			t.Errorf("nobody's mount -o %s: exit %d, stdout %q, stderr %q; want one line starting %q with fusermount3's reason", opts, code, stdout, stderr, prefix)
		}
		if opts == "allow_other" && !strings.Contains(stderr, "user_allow_other") && !strings.Contains(stderr, "/dev/fuse") {
			t.Errorf("nobody's mount -o allow_other: %q names neither user_allow_other nor /dev/fuse", stderr)
		}
	}

	// Root's view: nobody sees it listed, without what only root may
	// know, and cannot unmount it.
	theirs := openToAll(t, t.TempDir())
	testenv.FUSE(t)
	daemonMountAt(t, root, "busybox", theirs)
	stdout, stderr, code = asNobody(t, bin, "mounts")
	rows := ourRows(stdout, filepath.Dir(theirs))
	want := [][]string{{"MOUNT POINT", "REFERENCE", "STORE", "DRIVER", "PID"}, {theirs, "busybox", "-", "-", "-"}}
	if code != 0 || stderr != "" || len(rows) != 2 || strings.Join(rows[1], "|") != strings.Join(want[1], "|") {
		t.Errorf("mounts as nobody: exit %d, stderr %q, rows %q, want %q", code, stderr, rows, want)
	}
	stdout, stderr, code = asNobody(t, bin, "umount", theirs)
	suffix := "(it was mounted by uid 0: only that user or root can unmount it)\n"
	if code != 1 || stdout != "" || !regexp.MustCompile(`^aufsmount: unmounting `+regexp.QuoteMeta(theirs)+`: `+regexp.QuoteMeta(fusermount)+`: .+ `+regexp.QuoteMeta(suffix)+`$`).MatchString(stderr) {
		t.Errorf("nobody's umount of root's view: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !isMounted(t, theirs) {
		t.Errorf("nobody unmounted root's view")
	}
	// umount --all as nobody leaves other users' views alone.
	if _, stderr, code := asNobody(t, bin, "umount", "--all"); code != 0 || stderr != "" || !isMounted(t, theirs) {
		t.Errorf("umount --all as nobody: exit %d, stderr %q, root's view mounted: %v", code, stderr, isMounted(t, theirs))
	}
}
