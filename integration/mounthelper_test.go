package integration

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// mount(8), /etc/fstab and systemd mount aufsmount views: mount(8) runs
// /sbin/mount.fuse.aufsmount (the symlink make install puts there) with
// "SOURCE MOUNTPOINT -o OPTIONS", or without it mount.fuse3, which runs
// "aufsmount SOURCE MOUNTPOINT -o OPTIONS" through sh.

// helperLink is where mount(8) looks for the helper of type fuse.aufsmount.
const helperLink = "/sbin/mount.fuse.aufsmount"

// installHelper points helperLink at the test binary for the test, and
// skips it when something else is there already: the test does not
// replace what an install put.
func installHelper(t *testing.T) {
	t.Helper()
	testenv.FUSE(t)
	if _, err := os.Lstat(helperLink); err == nil {
		target, _ := os.Readlink(helperLink)
		testenv.Require(t, target == binary, "%s exists (-> %q): a test must not replace it", helperLink, target)
	}
	if err := os.Symlink(binary, helperLink); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Fatalf("installing the mount helper: %v", err)
	}
	t.Cleanup(func() { os.Remove(helperLink) })
}

// runTool runs a system program and returns its stdout and stderr
// together, and its exit status.
func runTool(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	code := runBounded(t, cmd)
	return out.String(), code
}

// mountedBy checks that a view of ref is mounted at mnt, read-only,
// nosuid, nodev and with the extra per-mount options, that it shows the
// image's file, and unmounts it with umount(8).
func mountedBy(t *testing.T, how, mnt, ref string, extra ...string) {
	t.Helper()
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := mounttable.Find(mounts, mnt)
	if !ok {
		t.Fatalf("%s: nothing mounted at %s", how, mnt)
	}
	t.Cleanup(func() { daemonUnmount(t, mnt) })
	if m.FSType != "fuse.aufsmount" || m.Source != ref {
		t.Errorf("%s: %s is %s %s, want fuse.aufsmount %s", how, mnt, m.FSType, m.Source, ref)
	}
	opts := map[string]bool{}
	for _, o := range strings.Split(m.Options, ",") {
		opts[o] = true
	}
	for _, o := range append([]string{"ro", "nosuid", "nodev"}, extra...) {
		if !opts[o] {
			t.Errorf("%s: %s mounted with %s, without %s", how, mnt, m.Options, o)
		}
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "etc/os-release")); err != nil || string(b) != "ID=test\n" {
		t.Errorf("%s: etc/os-release: %q, %v", how, b, err)
	}
	if out, code := runTool(t, nil, "umount", mnt); code != 0 {
		t.Errorf("umount %s: exit %d: %s", mnt, code, out)
	}
	if isMounted(t, mnt) {
		t.Errorf("%s: still mounted after umount(8)", how)
	}
}

func TestMountCommand(t *testing.T) {
	installHelper(t)
	rs := buildRefStore(t, layerstore.LayoutCAS)
	root := rs.b.Root
	note := "aufsmount: note: -o rw: the view is read-only; mounting it read-only\n"

	// Every option mount(8) and fstab hand on, and the store as an option.
	mnt := t.TempDir()
	out, code := runTool(t, nil, "mount", "-t", "fuse.aufsmount", "busybox:1.36", mnt,
		"-o", "ro,noexec,noatime,nodev,nosuid,nofail,_netdev,user,noauto,defaults,x-systemd.automount,x-mount.mkdir,root="+root)
	if code != 0 || out != "" {
		t.Fatalf("mount -t fuse.aufsmount: exit %d: %q", code, out)
	}
	mountedBy(t, "mount -t fuse.aufsmount -o ro,noexec,...", mnt, "busybox:1.36", "noexec", "noatime")

	// No options: mount(8) passes rw, which gets a note and a read-only view.
	out, code = runTool(t, []string{"AUFSMOUNT_ROOT=" + root}, "mount", "-t", "fuse.aufsmount", "busybox:1.36", mnt)
	if code != 0 || out != note {
		t.Fatalf("mount -t fuse.aufsmount without options: exit %d: %q, want the note %q", code, out, note)
	}
	mountedBy(t, "mount -t fuse.aufsmount (rw)", mnt, "busybox:1.36")

	// -o driver=, and a container.
	out, code = runTool(t, nil, "mount", "-t", "fuse.aufsmount", "-o", "ro,driver=aufs,root="+root, "web", mnt)
	if code != 0 || out != "" {
		t.Fatalf("mount -o driver=aufs web: exit %d: %q", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "app/state")); err != nil || string(b) != "running" {
		t.Errorf("container web through mount(8): app/state: %q, %v", b, err)
	}
	daemonUnmount(t, mnt)

	// An error reaches mount(8)'s caller in aufsmount's words.
	out, code = runTool(t, nil, "mount", "-t", "fuse.aufsmount", "-o", "ro,root="+root, "busybx", mnt)
	if code == 0 || out != "aufsmount: busybx: not found (did you mean busybox:latest, busybox:1.36, busybox@"+rs.digest+"?)\n" {
		t.Errorf("mount of a reference that is not there: exit %d: %q", code, out)
	}
	out, code = runTool(t, nil, "mount", "-t", "fuse.aufsmount", "-o", "ro,uid=0,root="+root, "busybox", mnt)
	if code == 0 || !strings.HasPrefix(out, "aufsmount: -o uid=0: unknown mount option") {
		t.Errorf("mount -o uid=0: exit %d: %q", code, out)
	}
	// mount -f (fake) mounts nothing.
	if out, code = runTool(t, nil, "mount", "-f", "-t", "fuse.aufsmount", "-o", "root="+root, "busybox", mnt); code != 0 || isMounted(t, mnt) {
		t.Errorf("mount -f: exit %d: %q; mounted: %v", code, out, isMounted(t, mnt))
	}
}

func TestMountFstab(t *testing.T) {
	installHelper(t)
	rs := buildRefStore(t, layerstore.LayoutCAS)
	mnt := t.TempDir()
	fstab := filepath.Join(t.TempDir(), "fstab")
	line := "busybox:latest " + mnt + " fuse.aufsmount ro,nofail,_netdev,noexec,x-systemd.requires=local-fs.target,root=" + rs.b.Root + " 0 0\n"
	if err := os.WriteFile(fstab, []byte("# a test fstab\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-T", fstab, mnt}, {"--fstab", fstab, mnt}, {"--fstab", fstab, "busybox:latest"}, {"-a", "-T", fstab, "-t", "fuse.aufsmount"}} {
		out, code := runTool(t, nil, "mount", args...)
		if code != 0 || out != "" {
			t.Fatalf("mount %q: exit %d: %q", args, code, out)
		}
		mountedBy(t, "mount "+strings.Join(args, " "), mnt, "busybox:latest", "noexec")
	}
}

// Without the mount.fuse.aufsmount helper, mount.fuse3 runs aufsmount.
func TestMountFuse3(t *testing.T) {
	testenv.FUSE(t)
	helper := testenv.Tool(t, "mount.fuse3")
	if _, err := os.Lstat(helperLink); err == nil {
		t.Logf("%s exists: mount(8) would use it, so mount.fuse3 is run directly and through type#source", helperLink)
	}
	rs := buildRefStore(t, layerstore.LayoutCAS)
	root := rs.b.Root
	mnt := t.TempDir()
	// As mount(8) runs it for type fuse.aufsmount: the program named by
	// the subtype, found on PATH.
	bindir := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(bindir, "aufsmount")); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bindir + ":" + os.Getenv("PATH")}
	out, code := runTool(t, path, helper, "user/app:v2", mnt, "-t", "fuse.aufsmount", "-o", "ro,nofail,_netdev,user,auto,noexec,root="+root)
	if code != 0 || out != "" {
		t.Fatalf("mount.fuse3 -t fuse.aufsmount: exit %d: %q", code, out)
	}
	mountedBy(t, "mount.fuse3 -t fuse.aufsmount", mnt, "user/app:v2", "noexec")
	// Its own form, type#source, also through mount(8) -t fuse: the
	// program is the part before #, here the binary's path.
	out, code = runTool(t, nil, helper, binary+"#busybox", mnt, "-o", "root="+root)
	if code != 0 || out != "" {
		t.Fatalf("mount.fuse3 aufsmount#busybox: exit %d: %q", code, out)
	}
	mountedBy(t, "mount.fuse3 aufsmount#busybox", mnt, "busybox")
	out, code = runTool(t, nil, "mount", "-t", "fuse", binary+"#busybox", mnt, "-o", "ro,root="+root)
	if code != 0 || out != "" {
		t.Fatalf("mount -t fuse aufsmount#busybox: exit %d: %q", code, out)
	}
	mountedBy(t, "mount -t fuse aufsmount#busybox", mnt, "busybox")
}

// The systemd unit README shows is one systemd accepts.
func TestSystemdMountUnit(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "mnt-img.mount")
	text := `[Unit]
Description=busybox:latest of the old host's Docker store, read-only

[Mount]
What=busybox:latest
Where=/mnt/img
Type=fuse.aufsmount
Options=ro,root=/srv/old-host/docker

[Install]
WantedBy=multi-user.target
`
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte(text)) {
		t.Errorf("README.md does not show the unit checked here:\n%s", text)
	}
	// systemd-analyze comes with systemd, which .ci/run installs.
	analyze := testenv.Tool(t, "systemd-analyze")
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runTool(t, nil, analyze, "verify", "--man=no", unit)
	// systemd-analyze may complain about the host (no /mnt/img, no running
	// manager); it must not find fault with the unit's own keys.
	for _, bad := range []string{"Unknown key", "Unknown section", "Failed to parse", "mnt-img.mount: Bad", "Invalid"} {
		if strings.Contains(out, bad) {
			t.Errorf("systemd-analyze verify (exit %d):\n%s", code, out)
		}
	}
}
