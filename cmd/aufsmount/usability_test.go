package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// expectRun runs aufsmount and compares its whole stdout, stderr and exit
// status with what is expected.
func expectRun(t *testing.T, code int, stdout, stderr string, args ...string) {
	t.Helper()
	r := aufsmount(t, nil, args...)
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("aufsmount %q:\n exit %d, stdout %q, stderr %q\nwant\n exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// A mistyped command is not taken for a reference to mount.
func TestCommandTypos(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS)
	dir := t.TempDir()
	root := []string{"--root", s.Root}
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"umont", dir}, "umont: not a command, nor an image or container of the store (did you mean aufsmount umount?)"},
		{[]string{"mount-al", dir}, "mount-al: not a command, nor an image or container of the store (did you mean aufsmount mount-all?)"},
		{[]string{"mount-al"}, "mount-al: not a command (did you mean aufsmount mount-all?)"},
		{[]string{"imgaes"}, "imgaes: not a command (did you mean aufsmount images?)"},
		{[]string{"contain"}, "contain: not a command (did you mean aufsmount containers?)"},
		{[]string{"histroy", "busybox"}, "histroy: not a command, nor an image or container of the store (did you mean aufsmount history?)"},
		{[]string{"help", "mont"}, "help: mont: no such command (did you mean mount?) (see aufsmount --help)"},
		{[]string{"completion", "tcsh"}, "completion: tcsh: not a shell aufsmount completes (bash, zsh, fish)"},
	}
	for _, tt := range tests {
		expectRun(t, 2, "", "aufsmount: "+tt.msg+"\n", append(root, tt.args...)...)
	}
	// Far from every command, or not a typo at all: a reference.
	expectRun(t, 1, "", "aufsmount: busybx: not found (did you mean busybox:latest?)\n", append(root, "busybx", dir)...)
	expectRun(t, 1, "", "aufsmount: umont: not found\n", append(root, "mount", "umont", dir)...)
}

// A reference that looks like a command is mounted all the same.
func TestCommandLikeReference(t *testing.T) {
	store := &st.Store{Images: []*st.Image{{Names: []string{"image:latest"}, Layers: []*st.Layer{st.NewLayer("", st.F("a", "a"))}}}}
	b, err := store.Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	// "image" is a command cut short, and an image of the store: mounted
	// (here on a mount point that does not exist, to stop early).
	missing := filepath.Join(t.TempDir(), "missing")
	expectRun(t, 1, "", "aufsmount: "+missing+": mount point does not exist\n", "--root", b.Root, "image", missing)
	expectRun(t, 2, "", "aufsmount: imag: not a command, nor an image or container of the store (did you mean aufsmount images?)\n", "--root", b.Root, "imag", missing)
}

func TestHelpCommand(t *testing.T) {
	for _, cmd := range []string{"mount", "history", "umount", "mounts", "completion"} {
		help := mustSucceed(t, nil, "help", cmd)
		if own := mustSucceed(t, nil, cmd, "--help"); help != own {
			t.Errorf("help %s:\n%s\nis not %s --help:\n%s", cmd, help, cmd, own)
		}
	}
	want := "NAME:\n   aufsmount mount - mount an image or container read-only (also what aufsmount REF MOUNTPOINT does)\n\nUSAGE:\n"
	if help := mustSucceed(t, nil, "help", "mount"); !strings.HasPrefix(help, want) {
		t.Errorf("help mount begins\n%s\nwant\n%s", help[:min(len(help), len(want))], want)
	}
	if help, own := mustSucceed(t, nil, "help"), mustSucceed(t, nil, "--help"); help != own {
		t.Errorf("help is not --help")
	}
}

func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "aufsmount")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building with a version: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil || string(out) != "aufsmount version 1.2.3-test\n" {
			t.Errorf("aufsmount %q: %q, %v", args, out, err)
		}
	}
	// Without -ldflags, the version Go recorded at build time.
	out := mustSucceed(t, nil, "--version")
	if out == "aufsmount version \n" || !strings.HasPrefix(out, "aufsmount version ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--version without a version set: %q", out)
	}
}

func TestWording(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS)
	parent := filepath.Dir(s.Root)
	tests := []struct {
		code int
		args []string
		msg  string
	}{
		// Flags as they are written, commands by the name typed.
		{2, []string{"images", "--bogus-flag"}, "images: flag provided but not defined: --bogus-flag (see aufsmount images --help)"},
		{2, []string{"history", "--bogus", "busybox"}, "history: flag provided but not defined: --bogus (see aufsmount history --help)"},
		{2, []string{"ps", "-x"}, "ps: flag provided but not defined: -x (see aufsmount ps --help)"},
		{2, []string{"unmount", "a", "b"}, "unmount: expected one MOUNTPOINT, got 2 arguments (see aufsmount unmount --help)"},
		{2, []string{"--bogus", "busybox", "/mnt"}, "flag provided but not defined: --bogus (see aufsmount --help)"},
		{2, []string{"images", "--root"}, "images: flag needs an argument: --root (see aufsmount images --help)"},
		// -o glued to its options, as sshfs and mount(8) take it.
		{2, []string{"-oro,uid=1", "busybox", "/mnt"}, "-o uid=1: unknown mount option (known: root=DIR, driver=NAME, allow_other, allow_root, nonempty, noexec, noatime, as-is, kernel, fuse, and mount(8)'s ro, rw, nosuid, nodev, defaults, nofail, _netdev, x-*, ...)"},
		// One argument is not "arguments".
		{2, []string{"mount", "busybox"}, "mount: expected REF MOUNTPOINT, got 1 argument (see aufsmount mount --help)"},
		{2, []string{"which", "busybox"}, "which: expected REF PATH, got 1 argument (see aufsmount which --help)"},
		{2, []string{"umount", "--all", "/mnt"}, "umount: --all takes no MOUNTPOINT (see aufsmount umount --help)"},
		// An empty reference.
		{2, []string{"--root", s.Root, "", "/mnt"}, "mount: REF is empty: name an image or container (see aufsmount images, aufsmount containers)"},
		// A root one level off.
		{1, []string{"--root", filepath.Join(s.Root, "aufs"), "images"}, "opening store " + s.Root + "/aufs: no store here: not a Docker root (image/<driver>/ of aufs, overlay2, fuse-overlayfs, overlay, vfs, or a pre-1.10 repositories-aufs or graph/), a containers/storage graphroot (overlay-layers/, vfs-layers/), a containerd root (io.containerd.metadata.v1.bolt/), an image archive or layout, nor a host's filesystem (var/lib/ and etc/) (did you mean " + s.Root + "?)"},
		{1, []string{"--root", filepath.Join(s.Root, "image", "aufs"), "images"}, "opening store " + s.Root + "/image/aufs: no store here: not a Docker root (image/<driver>/ of aufs, overlay2, fuse-overlayfs, overlay, vfs, or a pre-1.10 repositories-aufs or graph/), a containers/storage graphroot (overlay-layers/, vfs-layers/), a containerd root (io.containerd.metadata.v1.bolt/), an image archive or layout, nor a host's filesystem (var/lib/ and etc/) (did you mean " + s.Root + "?)"},
		{1, []string{"--root", parent, "images"}, "opening store " + parent + ": no store here: not a Docker root (image/<driver>/ of aufs, overlay2, fuse-overlayfs, overlay, vfs, or a pre-1.10 repositories-aufs or graph/), a containers/storage graphroot (overlay-layers/, vfs-layers/), a containerd root (io.containerd.metadata.v1.bolt/), an image archive or layout, nor a host's filesystem (var/lib/ and etc/) (did you mean " + s.Root + "?)"},
		// A name without its namespace.
		{1, []string{"--root", s.Root, "layers", "app:v1"}, "app:v1: not found (did you mean user/app:v1, user/app:v2, registry:5000/team/app:v2?)"},
		{1, []string{"--root", s.Root, "layers", "team/app:v2"}, "team/app:v2: not found (did you mean registry:5000/team/app:v2?)"},
	}
	for _, tt := range tests {
		expectRun(t, tt.code, "", "aufsmount: "+tt.msg+"\n", tt.args...)
	}
}

// Mount points that would hide the store or what they hold are refused;
// none of this needs FUSE.
func TestMountPointRefused(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS)
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "kept"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(s.Root)
	for _, fg := range [][]string{nil, {"-f"}} {
		base := append([]string{"--root", s.Root}, fg...)
		expectRun(t, 1, "", "aufsmount: "+parent+": holds the store "+s.Root+", which the view would hide: choose a mount point outside it\n", append(base, "busybox", parent)...)
		expectRun(t, 1, "", "aufsmount: "+s.Root+": is the store "+s.Root+": choose a mount point outside it\n", append(base, "busybox", s.Root)...)
		expectRun(t, 1, "", "aufsmount: "+full+": mount point is not empty: the view would hide what it holds (use an empty directory, or -o nonempty to mount over it)\n", append(base, "busybox", full)...)
		expectRun(t, 1, "", "aufsmount: "+full+": mount point is not empty: the view would hide what it holds (use an empty directory, or -o nonempty to mount over it)\n", append(base, "mount-all", full)...)
		expectRun(t, 1, "", "aufsmount: /: already a mount point ("+rootFS(t)+"): unmount it first\n", append(base, "busybox", "/")...)
	}
}

// rootFS is "TYPE SOURCE" of the mount at /.
func rootFS(t *testing.T) string {
	m, ok := mountAt(t, "/")
	if !ok {
		t.Fatal("nothing mounted at /")
	}
	return m.FSType + " " + m.Source
}

func TestMountNonEmpty(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutCAS)
	mnt := t.TempDir()
	if err := os.WriteFile(filepath.Join(mnt, "hidden"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := aufsmount(t, nil, "--root", s.Root, "-o", "nonempty", "busybox", mnt)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("-o nonempty: exit %d, stderr %q", r.code, r.stderr)
	}
	defer mustSucceed(t, nil, "umount", mnt)
	if _, err := os.Stat(filepath.Join(mnt, "etc/passwd")); err != nil {
		t.Errorf("mounted over a non-empty directory: %v", err)
	}
}

// A view whose server died is named for what it is.
func TestMountOverDeadView(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutCAS)
	mnt, pid := mountDaemon(t, s.Root, "busybox")
	expectRun(t, 1, "", "aufsmount: "+mnt+": already a mount point (fuse.aufsmount busybox): unmount it first (aufsmount umount "+mnt+")\n", "--root", s.Root, "user/app:v1", mnt)
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the serving process to die", func() bool { return gone(pid) })
	expectRun(t, 1, "", "aufsmount: "+mnt+": already a mount point (fuse.aufsmount busybox), whose server is gone (its process ended): aufsmount umount "+mnt+" clears it\n", "--root", s.Root, "user/app:v1", mnt)
	mustSucceed(t, nil, "umount", mnt)
	mountDaemonAt(t, s.Root, "user/app:v1", mnt)
}

// mountDaemonAt mounts ref at the empty directory mnt in the background.
func mountDaemonAt(t *testing.T, root, ref, mnt string) {
	t.Helper()
	mustSucceed(t, nil, "--root", root, ref, mnt)
	t.Cleanup(func() {
		if _, ok := mountAt(t, mnt); ok {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
}

// publicBinary is the test binary where any user can run it.
func publicBinary(t *testing.T) string {
	t.Helper()
	dir := publicDir(t)
	bin := filepath.Join(dir, "aufsmount")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// publicDir is a new directory that every user can enter.
func publicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testenv.Public(t, dir)
	return dir
}

// asNobody runs bin as user and group 65534, with no other groups.
func asNobody(t *testing.T, bin string, args ...string) result {
	t.Helper()
	testenv.Root(t, "running as another user")
	setpriv := testenv.Tool(t, "setpriv")
	cmd := exec.Command(setpriv, append([]string{"--reuid", "65534", "--regid", "65534", "--clear-groups", bin}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// A store only root may read, as every real /var/lib/docker is, says so
// to another user, naming the directory it cannot read.
func TestStoreNeedsRoot(t *testing.T) {
	testenv.Root(t, "running as another user")
	bin := publicBinary(t)
	s := writeSampleIn(t, publicDir(t))
	mnt := publicDir(t)
	hint := ": permission denied (reading the store needs root: run aufsmount as root, e.g. with sudo)\n"
	check := func(unreadable string) {
		t.Helper()
		for _, args := range [][]string{{"images"}, {"containers"}, {"layers", "busybox"}, {"diff", "busybox", "user/app:v1"}, {"busybox", mnt}, {"mount-all", mnt}} {
			r := asNobody(t, bin, append([]string{"--root", s.Root}, args...)...)
			want := result{stderr: "aufsmount: opening store " + s.Root + ": cannot read " + unreadable + hint, code: 1}
			if !reflect.DeepEqual(r, want) {
				t.Errorf("aufsmount %q as nobody: %+v, want %+v", args, r, want)
			}
		}
	}
	// The store's root itself, 0700 like Docker's (0710 root:root).
	if err := os.Chmod(s.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	check(s.Root)
	// Its metadata directory, 0700 root like the rest of a real store.
	if err := os.Chmod(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(s.Root, "image"))
	// Past detection: a file under a readable image/aufs/.
	if err := os.Chmod(filepath.Join(s.Root, "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(s.Root, "image", "aufs"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := asNobody(t, bin, "--root", s.Root, "images")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "aufsmount: opening store "+s.Root+": ") || !strings.HasSuffix(r.stderr, hint) {
		t.Errorf("images as nobody with image/aufs readable: %+v", r)
	}
}
