package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	binenc "encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// refStore is a store whose images and containers can be named every way
// docker takes: two images sharing a base, tagged, pulled by digest, under
// a registry name, and two containers.
type refStore struct {
	b       *st.Built
	busybox *st.Image // busybox:latest, busybox:1.36, busybox@sha256:...
	app     *st.Image // user/app:v2, localhost:5000/team/app:v2; an empty (ENV) layer
	web     *st.Container
	db      *st.Container
	digest  string // busybox's "sha256:<hex>" repository digest
}

func buildRefStore(t testing.TB, layout layerstore.Layout) *refStore {
	t.Helper()
	return refStoreOf(t, driverCase{name: layout.String(), layout: layout})
}

// refStoreOf is the reference store in the layout and driver dc says.
func refStoreOf(t testing.TB, dc driverCase) *refStore {
	t.Helper()
	base := l(
		st.F("etc/os-release", "ID=test\n"), st.F("etc/motd", "welcome\n"),
		st.F("bin/busybox", "#!busybox\n").WithMode(0755), st.H("bin/sh", "bin/busybox"), st.L("bin/vi", "busybox"),
		st.Mknod("dev/null", st.CharDev, 1, 3), st.F("var/cache/a", "a"),
		st.F("bin/ping", "ping").WithMode(0755).WithXattr("security.capability", capNetRaw()),
	)
	bbTop := l(st.F("etc/busybox.conf", "x"), st.WH("etc/motd"))
	app1 := l(st.F("app/main", "v1"), st.OPQ("var/cache"), st.F("var/cache/b", "b"))
	env := &st.Layer{CreatedBy: "ENV A=1", Empty: true}
	app2 := l(st.F("app/main", "v2"), st.WH("bin/vi"), st.D("app/data").WithMode(0700).WithOwner(1000, 1000))
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("busybox manifest")))
	rs := &refStore{
		busybox: &st.Image{Names: []string{"busybox:latest", "busybox:1.36", "busybox@" + digest}, Layers: []*st.Layer{base, bbTop}},
		app:     &st.Image{Names: []string{"user/app:v2", "localhost:5000/team/app:v2"}, Layers: []*st.Layer{base, app1, env, app2}},
		digest:  digest,
	}
	rs.web = &st.Container{Name: "web", Image: rs.app, RW: l(st.F("app/state", "running"), st.WH("etc/os-release"), st.F("tmp/x", "x"))}
	rs.db = &st.Container{Name: "db", Image: rs.busybox}
	rs.b = writeDriverStore(t, dc, []*st.Image{rs.busybox, rs.app}, []*st.Container{rs.web, rs.db})
	return rs
}

// imageRefs is every reference that must name img.
func (rs *refStore) imageRefs(img *st.Image) []string {
	id := rs.b.ImageID[img]
	refs := []string{id, "sha256:" + id, id[:12], "sha256:" + id[:12]}
	switch img {
	case rs.busybox:
		refs = append(refs, "busybox:1.36", "busybox", "busybox:latest", "library/busybox:1.36",
			"docker.io/library/busybox:1.36", "docker.io/library/busybox", "index.docker.io/library/busybox:1.36",
			"busybox@"+rs.digest, "docker.io/library/busybox@"+rs.digest)
	case rs.app:
		refs = append(refs, "user/app:v2", "docker.io/user/app:v2", "localhost:5000/team/app:v2")
	}
	return refs
}

// containerRefs is every reference that must name c.
func (rs *refStore) containerRefs(c *st.Container) []string {
	id := rs.b.ContainerID[c]
	return []string{id, id[:12], id[:7], c.Name, "/" + c.Name}
}

// mountRef mounts ref of the store at root on a new directory with the
// aufsmount binary, in the background as a user would.
func mountRef(t *testing.T, root, ref string) string {
	t.Helper()
	mnt := t.TempDir()
	mountRefAt(t, root, ref, mnt)
	return mnt
}

// mountRefAt mounts ref at mnt and unmounts it when the test ends.
func mountRefAt(t *testing.T, root, ref, mnt string) {
	t.Helper()
	testenv.FUSE(t)
	stdout, stderr, code := run(t, "--root", root, "mount", ref, mnt)
	t.Cleanup(func() { unmountRef(t, mnt) })
	if code != 0 {
		t.Fatalf("aufsmount mount %s %s: exit %d: %s", ref, mnt, code, stderr)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("aufsmount mount %s: printed %q on stdout and %q on stderr; a mount that works says nothing", ref, stdout, stderr)
	}
	if !isMounted(t, mnt) {
		t.Fatalf("aufsmount mount %s %s: exit 0 but nothing mounted", ref, mnt)
	}
}

// unmountRef unmounts mnt with aufsmount umount, within a time limit, and
// detaches it if that fails, so that a broken unmount cannot leave a
// mount behind.
func unmountRef(t testing.TB, mnt string) {
	t.Helper()
	if !isMounted(t, mnt) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "umount", mnt).CombinedOutput()
	if err != nil || isMounted(t, mnt) {
		t.Errorf("aufsmount umount %s: %v: %s", mnt, err, out)
		forceUnmount(mnt)
	}
}

// umountNow is aufsmount umount in the middle of a test, where it must work.
func umountNow(t *testing.T, mnt string) {
	t.Helper()
	stdout, stderr, code := run(t, "umount", mnt)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("aufsmount umount %s: exit %d, stdout %q, stderr %q", mnt, code, stdout, stderr)
	}
	if isMounted(t, mnt) {
		t.Fatalf("aufsmount umount %s: exit 0, still mounted", mnt)
	}
}

// mountEntry is a line of /proc/mounts.
type mountEntry struct{ source, target, fstype, options string }

// procMounts lists the mounts whose target is mnt, with their options
// as /proc/mounts shows them (the mount's and its superblock's).
func procMounts(t testing.TB, mnt string) []mountEntry {
	t.Helper()
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []mountEntry
	for _, m := range mounts {
		if m.MountPoint == mnt {
			out = append(out, mountEntry{m.Source, m.MountPoint, m.FSType, m.Options + "," + m.SuperOptions})
		}
	}
	return out
}

// checkMountTable checks that mnt shows in /proc/mounts as one read-only,
// nosuid, nodev aufsmount mount of ref.
func checkMountTable(t testing.TB, mnt, ref string) {
	t.Helper()
	ms := procMounts(t, mnt)
	if len(ms) != 1 {
		t.Fatalf("/proc/mounts: %d mounts on %s, want 1: %+v", len(ms), mnt, ms)
	}
	m := ms[0]
	if m.fstype != "fuse.aufsmount" {
		t.Errorf("/proc/mounts: %s has type %q, want fuse.aufsmount", mnt, m.fstype)
	}
	if m.source != ref {
		t.Errorf("/proc/mounts: %s has source %q, want the reference %q", mnt, m.source, ref)
	}
	opts := map[string]bool{}
	for _, o := range strings.Split(m.options, ",") {
		opts[o] = true
	}
	for _, o := range []string{"ro", "nosuid", "nodev"} {
		if !opts[o] {
			t.Errorf("/proc/mounts: %s has options %q, without %s", mnt, m.options, o)
		}
	}
}

// checkView walks mnt and compares it with want.
func checkView(t testing.TB, mnt string, want map[string]info) {
	t.Helper()
	got := walk(t, mnt)
	if diffs := diffTrees(want, got, nil); len(diffs) > 0 {
		t.Errorf("%d differences:\n%s", len(diffs), strings.Join(head(diffs, 30), "\n"))
	}
}

func imageExpect(t testing.TB, b *st.Built, img *st.Image) map[string]info {
	t.Helper()
	if len(b.ChainLayers[img]) != len(b.Chain[img]) {
		t.Fatalf("storetest: %d chain layers for %d directories", len(b.ChainLayers[img]), len(b.Chain[img]))
	}
	return expect(t, b.ChainLayers[img], b.Chain[img])
}

func containerExpect(t testing.TB, b *st.Built, c *st.Container) map[string]info {
	t.Helper()
	if len(b.ContainerLayers[c]) != len(b.ContainerChain[c]) {
		t.Fatalf("storetest: %d container layers for %d directories", len(b.ContainerLayers[c]), len(b.ContainerChain[c]))
	}
	return expect(t, b.ContainerLayers[c], b.ContainerChain[c])
}

// TestMountByReference mounts each image by every form of reference that
// names it and checks the view and the mount table.
func TestMountByReference(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			rs := buildRefStore(t, layout)
			for _, img := range []*st.Image{rs.busybox, rs.app} {
				want := imageExpect(t, rs.b, img)
				for _, ref := range rs.imageRefs(img) {
					t.Run(ref, func(t *testing.T) {
						mnt := mountRef(t, rs.b.Root, ref)
						checkMountTable(t, mnt, ref)
						checkView(t, mnt, want)
					})
				}
			}
		})
	}
}

// TestMountContainer mounts each container by id, id prefix and name: the
// view is its writable layer over its init layer over its image.
func TestMountContainer(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			rs := buildRefStore(t, layout)
			for _, c := range []*st.Container{rs.web, rs.db} {
				want := withBinds(t, rs.b, c, containerExpect(t, rs.b, c), nil)
				// The writable layer must be in the view, or the
				// comparison would pass on the image alone.
				if c == rs.web {
					if _, ok := want["app/state"]; !ok {
						t.Fatalf("the expected view of %s lacks its writable layer's app/state", c.Name)
					}
					if _, ok := want["etc/os-release"]; ok {
						t.Fatalf("the expected view of %s shows etc/os-release, which its writable layer whites out", c.Name)
					}
				}
				if _, ok := want[".dockerenv"]; !ok {
					t.Fatalf("the expected view of %s lacks its init layer's .dockerenv", c.Name)
				}
				for _, ref := range rs.containerRefs(c) {
					t.Run(c.Name+"/"+ref, func(t *testing.T) {
						mnt := mountRef(t, rs.b.Root, ref)
						checkMountTable(t, mnt, ref)
						checkView(t, mnt, want)
					})
				}
			}
		})
	}
}

// inodes maps every path under root to its inode number (lstat).
func inodes(t testing.TB, root string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for p, in := range walk(t, root) {
		out[p] = in.Ino
	}
	return out
}

// dirent64 is one record of getdents64.
type dirent64 struct {
	name string
	ino  uint64
	typ  uint8
}

// getdents lists dir with the getdents64 system call, "." and "..".
func getdents(t testing.TB, dir string) []dirent64 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", dir, err)
	}
	defer unix.Close(fd)
	var out []dirent64
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			t.Fatalf("getdents %s: %v", dir, err)
		}
		if n == 0 {
			return out
		}
		out = parseDirents(out, buf[:n])
	}
}

// parseDirents appends the records of one getdents64 result to out.
func parseDirents(out []dirent64, buf []byte) []dirent64 {
	for off := 0; off < len(buf); {
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		rec := buf[off:]
		reclen := int(binenc.LittleEndian.Uint16(rec[16:]))
		name := rec[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, dirent64{name: string(name), ino: binenc.LittleEndian.Uint64(rec), typ: rec[18]})
		off += reclen
	}
	return out
}

var dtypeOf = map[uint32]uint8{
	unix.S_IFREG: unix.DT_REG, unix.S_IFDIR: unix.DT_DIR, unix.S_IFLNK: unix.DT_LNK, unix.S_IFCHR: unix.DT_CHR,
	unix.S_IFBLK: unix.DT_BLK, unix.S_IFIFO: unix.DT_FIFO, unix.S_IFSOCK: unix.DT_SOCK,
}

// checkInodesAgree checks, for every entry under mnt, that a second
// lookup, an open file's fstat and the directory listing's d_ino (and
// d_type) all give the number lstat gave.
func checkInodesAgree(t testing.TB, mnt string, inos map[string]uint64) {
	t.Helper()
	var errs []string
	for p, ino := range inos {
		full := filepath.Join(mnt, p)
		var s unix.Stat_t
		if err := unix.Lstat(full, &s); err != nil {
			t.Fatal(err)
		}
		if s.Ino != ino {
			errs = append(errs, fmt.Sprintf("%q: lstat gave inode %d, then %d", p, ino, s.Ino))
		}
		switch s.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			fd, err := unix.Open(full, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			err = unix.Fstat(fd, &s)
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			if s.Ino != ino {
				errs = append(errs, fmt.Sprintf("%q: lstat gave inode %d, fstat of the open file %d", p, ino, s.Ino))
			}
		case unix.S_IFDIR:
			for _, de := range getdents(t, full) {
				child := joinRel(p, de.name)
				var want uint64
				var known bool
				switch de.name {
				case ".":
					want, known = ino, true
				case "..":
					if p == "" {
						continue // the mount's parent is not ours
					}
					want, known = inos[parentOf(p)], true
				default:
					want, known = inos[child]
				}
				if !known {
					errs = append(errs, fmt.Sprintf("%q: listed, but not found by the walk", child))
					continue
				}
				if de.ino != want {
					errs = append(errs, fmt.Sprintf("%q: d_ino %d in the listing of %q, st_ino %d", de.name, de.ino, p, want))
				}
				if de.name == "." || de.name == ".." {
					continue
				}
				var cs unix.Stat_t
				if err := unix.Lstat(filepath.Join(mnt, child), &cs); err != nil {
					t.Fatal(err)
				}
				if de.typ != dtypeOf[cs.Mode&unix.S_IFMT] {
					errs = append(errs, fmt.Sprintf("%q: d_type %d, mode %o", child, de.typ, cs.Mode))
				}
			}
		}
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		t.Errorf("inode numbers disagree:\n%s", strings.Join(head(errs, 30), "\n"))
	}
}

// joinRel joins a slash path relative to the view ("" for the root) and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// parentOf is the directory of a slash path relative to the view.
func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func sameInodes(t testing.TB, what string, a, b map[string]uint64) {
	t.Helper()
	var errs []string
	for p, ino := range a {
		if other, ok := b[p]; !ok {
			errs = append(errs, fmt.Sprintf("%q: missing", p))
		} else if other != ino {
			errs = append(errs, fmt.Sprintf("%q: inode %d, then %d", p, ino, other))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			errs = append(errs, fmt.Sprintf("%q: new", p))
		}
	}
	sort.Strings(errs)
	if len(errs) > 0 {
		t.Errorf("%s: inode numbers changed:\n%s", what, strings.Join(head(errs, 30), "\n"))
	}
}

// TestInodesStable checks that inode numbers do not depend on how or when
// an entry is reached: lookups, readdir, open files, a remount, another
// reference, and (for the base layer) another image built on it.
func TestInodesStable(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			rs := buildRefStore(t, layout)
			mnt := mountRef(t, rs.b.Root, "user/app:v2")
			first := inodes(t, mnt)
			checkInodesAgree(t, mnt, first)
			sameInodes(t, "a second walk", first, inodes(t, mnt))

			umountNow(t, mnt)
			mountRefAt(t, rs.b.Root, "user/app:v2", mnt)
			// Readdir first this time, so that the numbers come from the
			// listing before any lookup.
			for _, de := range getdents(t, mnt) {
				if de.name != "." && de.name != ".." && de.ino != first[de.name] {
					t.Errorf("after a remount, readdir gives %q inode %d, before %d", de.name, de.ino, first[de.name])
				}
			}
			sameInodes(t, "a remount", first, inodes(t, mnt))

			byID := mountRef(t, rs.b.Root, rs.b.ImageID[rs.app])
			sameInodes(t, "the same image mounted by id beside it", first, inodes(t, byID))

			// A path that the shared base layer shows in both images is
			// the same file: it keeps its number.
			bb := inodes(t, mountRef(t, rs.b.Root, "busybox:1.36"))
			appLayers, bbLayers := rs.b.ChainLayers[rs.app], rs.b.ChainLayers[rs.busybox]
			fromBase := func(layers []*st.Layer) map[string]bool {
				out := map[string]bool{}
				for _, n := range st.Merge(layers) {
					if n.Layer == len(layers)-1 && n.Entry.Kind != st.Dir {
						out[n.Path] = true
					}
				}
				return out
			}
			inBB := fromBase(bbLayers)
			shared := 0
			for p := range fromBase(appLayers) {
				if !inBB[p] {
					continue
				}
				shared++
				if first[p] != bb[p] {
					t.Errorf("%q, from the base layer: inode %d in user/app:v2, %d in busybox:1.36", p, first[p], bb[p])
				}
			}
			if shared < 3 {
				t.Fatalf("only %d paths from the base layer in both images: the check proves nothing", shared)
			}
		})
	}
}

// mountFailure runs a mount that must fail and checks how: exit 1, one
// line on stderr that says what is wrong, nothing mounted, no process left.
func mountFailure(t *testing.T, root, ref, mnt string, says ...string) {
	t.Helper()
	before := len(procMounts(t, mnt))
	serving := map[int]bool{}
	for _, pid := range servers(t, mnt) {
		serving[pid] = true
	}
	stdout, stderr, code := run(t, "--root", root, "mount", ref, mnt)
	t.Cleanup(func() {
		// Whatever a failed mount left, the test must not leave it.
		if len(procMounts(t, mnt)) > before {
			forceUnmount(mnt)
		}
	})
	if code != 1 {
		t.Errorf("aufsmount mount %s %s: exit %d, want 1", ref, mnt, code)
	}
	if stdout != "" {
		t.Errorf("stdout: %q, want nothing", stdout)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "aufsmount: ") {
		t.Errorf("stderr: %q, want one line starting with \"aufsmount: \"", stderr)
	}
	for _, s := range says {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr: %q, does not say %q", stderr, s)
		}
	}
	if n := len(procMounts(t, mnt)); n != before {
		t.Errorf("%d mounts on %s after a failed mount, %d before", n, mnt, before)
	}
	for _, pid := range servers(t, mnt) {
		if !serving[pid] {
			t.Errorf("process %d still runs aufsmount for %s after it failed", pid, mnt)
		}
	}
}

// servers lists the aufsmount processes whose command line names mnt.
// A failed mount's background copy is waited for before the command
// exits, so none should be found.
func servers(t testing.TB, mnt string) []int {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range procs {
		exe, err := os.Readlink(p + "/exe")
		if err != nil || exe != binary {
			continue
		}
		cmdline, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			if arg == mnt {
				var pid int
				fmt.Sscan(filepath.Base(p), &pid)
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestMountErrors checks the mistakes a user makes: each is one line on
// stderr and exit status 1, and leaves nothing mounted.
func TestMountErrors(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			rs := buildRefStore(t, layout)
			root := rs.b.Root
			t.Run("unknown reference", func(t *testing.T) {
				mnt := t.TempDir()
				mountFailure(t, root, "nosuch/image:v9", mnt, "nosuch/image:v9", "not found")
			})
			t.Run("unknown id prefix", func(t *testing.T) {
				mnt := t.TempDir()
				mountFailure(t, root, "ffffffffffff0", mnt, "ffffffffffff0", "not found")
			})
			t.Run("mount point missing", func(t *testing.T) {
				mnt := filepath.Join(t.TempDir(), "missing")
				mountFailure(t, root, "busybox", mnt, mnt)
				if _, err := os.Lstat(mnt); err == nil {
					t.Errorf("the failed mount created %s", mnt)
				}
			})
			t.Run("mount point is a file", func(t *testing.T) {
				mnt := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(mnt, []byte("x"), 0644); err != nil {
					t.Fatal(err)
				}
				mountFailure(t, root, "busybox", mnt, mnt, "not a directory")
			})
			t.Run("mount point already a mount", func(t *testing.T) {
				mnt := mountRef(t, root, "busybox")
				mountFailure(t, root, "user/app:v2", mnt, mnt)
				// The first mount must still be there and still serve.
				checkMountTable(t, mnt, "busybox")
				if _, err := os.Stat(filepath.Join(mnt, "etc/busybox.conf")); err != nil {
					t.Errorf("the first mount no longer serves: %v", err)
				}
			})
			t.Run("mount point inside the store", func(t *testing.T) {
				mnt := rs.b.Chain[rs.busybox][0] // a layer directory
				mountFailure(t, root, "busybox", mnt, mnt, "inside the store")
			})
			t.Run("store missing", func(t *testing.T) {
				mnt := t.TempDir()
				missing := filepath.Join(t.TempDir(), "nostore")
				mountFailure(t, missing, "busybox", mnt, missing)
			})
		})
	}
}
