package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Helpers for the tests that mount through the aufsmount binary and watch
// its background process: hostile stores, faults and load.

// daemonMount mounts ref of the store at root through the binary (in the
// background, as a user would) on a new directory, and unmounts it in
// cleanup. args go before REF (say "--log", file).
func daemonMount(t testing.TB, root, ref string, args ...string) string {
	t.Helper()
	testenv.FUSE(t)
	mnt := t.TempDir()
	daemonMountAt(t, root, ref, mnt, args...)
	return mnt
}

// daemonMountAt is daemonMount on a given, empty directory.
func daemonMountAt(t testing.TB, root, ref, mnt string, args ...string) {
	t.Helper()
	cmd := append([]string{"--root", root, "mount"}, args...)
	stdout, stderr, code := run(t, append(cmd, ref, mnt)...)
	if code != 0 {
		t.Fatalf("aufsmount mount %s %s: exit %d\nstdout: %s\nstderr: %s", ref, mnt, code, stdout, stderr)
	}
	noCrash(t, "mount "+ref, stdout+stderr)
	if !isMounted(t, mnt) {
		t.Fatalf("aufsmount mount %s %s: exit 0 but nothing is mounted", ref, mnt)
	}
	t.Cleanup(func() { daemonUnmount(t, mnt) })
}

// daemonUnmount unmounts mnt with the binary if it is still mounted, and
// detaches it if that fails, so that a failing test leaves nothing behind.
func daemonUnmount(t testing.TB, mnt string) {
	if !isMounted(t, mnt) {
		return
	}
	if _, stderr, code := run(t, "umount", mnt); code != 0 {
		t.Errorf("aufsmount umount %s: exit %d: %s", mnt, code, stderr)
		forceUnmount(mnt)
	}
}

// daemonPID finds the process serving mnt: named aufsmount (its comm),
// with mnt on its command line.
func daemonPID(t testing.TB, mnt string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "aufsmount" {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if string(arg) == mnt {
				found = append(found, pid)
				break
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("processes named aufsmount serving %s: %v, want exactly one", mnt, found)
	}
	return found[0]
}

// procAlive says whether pid is still running (a zombie is not).
func procAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// procStatusKB reads a "Name:   123 kB" line of /proc/pid/status.
func procStatusKB(t testing.TB, pid int, name string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the status of process %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("process %d: %s: %v", pid, line, err)
			}
			return n
		}
	}
	t.Fatalf("process %d has no %s", pid, name)
	return 0
}

// openFDs counts the file descriptors pid holds.
func openFDs(t testing.TB, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("listing the descriptors of process %d: %v", pid, err)
	}
	return len(entries)
}

// promptly bounds the wait for something the daemon promises to do soon
// (unmount, exit, release a file): a bound on a promise kept, not a
// measure of speed, so ample on a busy machine.
const promptly = 20 * time.Second

// pollUntil polls cond every 10ms until it holds or d has passed.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emptyDir says whether dir has no entries; a directory that cannot be
// read is not empty.
func dirIsEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err == io.EOF && len(names) == 0 {
		return true, nil
	}
	return false, err
}

// noPanic fails when output looks like a Go crash rather than an error line.
func noCrash(t testing.TB, what, output string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic", "runtime error", "SIGSEGV"} {
		if strings.Contains(output, bad) {
			t.Errorf("%s: output holds %q:\n%s", what, bad, output)
			return
		}
	}
}

// walkTree is walk without testing.T, for goroutines: every entry under
// root described, keyed by slash path.
func walkTree(root string) (map[string]info, error) {
	out := map[string]info{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			rel = ""
		}
		in, err := describe(p)
		if err != nil {
			return err
		}
		out[rel] = in
		return nil
	})
	return out, err
}

// treeDigest is one hash over a described tree, like a hash of its tar:
// every path with its type, mode, owner, size, times, link count, target,
// xattrs and content hash. Inode numbers are left out: the view numbers
// its inodes its own way (diffTrees checks the hard-link groups).
func treeDigest(tree map[string]info) string {
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		in := tree[p]
		in.Ino = 0
		fmt.Fprintf(h, "%q %+v\n", p, in)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkView walks a mounted view and compares it with what its layers
// (top first, with their directories) must show.
func checkDaemonView(t testing.TB, mnt string, layers []*st.Layer, dirs []string) {
	t.Helper()
	want := expect(t, layers, dirs)
	got := walk(t, mnt)
	if diffs := diffTrees(want, got, nil); len(diffs) > 0 {
		t.Errorf("%s: %d differences:\n%s", mnt, len(diffs), strings.Join(head(diffs, 30), "\n"))
	}
}

// writeTestStore writes s in layout under a new tmpfs.
func writeTestStore(t testing.TB, s *st.Store, layout layerstore.Layout) *st.Built {
	t.Helper()
	b, err := s.Write(filepath.Join(tmpfsDir(t), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	return b
}

// isErrnoOf says whether err is one of the given errnos.
func isErrnoOf(err error, errnos ...unix.Errno) bool {
	for _, e := range errnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// tmpfsDir mounts a new tmpfs on a temporary directory, for stores that
// must be quick to write (creating a file on this machine's ext4 takes
// several times longer), and detaches it in cleanup, after the views
// mounted from it are gone (cleanups run last registered first).
func tmpfsDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Logf("no tmpfs (%v): writing to %s as it is", err, dir)
		return dir
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}
