package integration

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestRealPodman checks aufsmount against stores written by a real Podman
// (Debian's podman 4.3), one subtest per storage driver: kernel overlay
// (rootful: whiteouts as 0/0 devices, trusted.overlay.opaque), vfs (whole
// trees), and overlay with fuse-overlayfs as its mount_program. The images
// come as the issue says users get them: a private dockerd imports and
// builds them (TestRealEngine's images: whiteouts of files and
// directories, an opaque directory, hard links, symlinks, a fifo, a
// device, odd modes and owners, extended attributes) and docker saves
// them; each subtest podman loads that archive into a private store, tags
// one image with a localhost/ name and one with a registry's, creates a
// container whose files it changes through podman mount, and a container
// with a named volume. Podman's own views (podman image mount, podman
// mount) are walked as the expected trees; then, with nothing of Podman
// mounted any more, aufsmount lists the images and containers and mounts
// each, and every entry is compared: type, mode, owner, size, mtime (to
// the nanosecond), symlink target, device number, content, extended
// attributes and hard-link groups. Nothing under the graphroot may change
// (not even the atime of a *.lock file).
func TestRealPodman(t *testing.T) {
	testenv.FUSE(t)
	podman := testenv.Tool(t, "podman")
	archive := dockerSavedImages(t)
	for _, tc := range []struct{ name, driver, mountProgram string }{
		{"overlay", "overlay", ""},
		{"vfs", "vfs", ""},
		{"fuse-overlayfs", "overlay", "fuse-overlayfs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []string
			if tc.mountProgram != "" {
				opts = append(opts, "overlay.mount_program="+testenv.Tool(t, tc.mountProgram))
			}
			start := time.Now()
			p := newPodmanStore(t, podman, tc.driver, opts...)
			s := p.makeStore(archive)
			t.Logf("%s: loaded, created, changed and read through podman in %v", tc.name, time.Since(start).Round(time.Millisecond))
			s.check(t)
		})
	}
}

// dockerSavedImages has a private dockerd make TestRealEngine's images
// and save them in one archive, and stops it.
func dockerSavedImages(t *testing.T) string {
	t.Helper()
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	busybox := requireStaticBusybox(t)
	start := time.Now()
	rootfs := writeEngineRootfs(t, busybox)
	e := startEngine(t, dockerd, docker, "overlay2")
	e.makeImages(rootfs, buildXattrHelper(t))
	archive := filepath.Join(t.TempDir(), "saved.tar")
	e.dockerTo(archive, "save", engineBase, engineImage, engineLoaded)
	e.stop()
	t.Logf("docker made and saved the images in %v", time.Since(start).Round(time.Millisecond))
	return archive
}

// The names the images and containers have in Podman's store. podman
// load names docker save's images (which docker save writes without a
// registry) under localhost/; the test tags the built image with two
// names more, and the loaded one with two docker.io/library/ names, one of
// which, app:1, localhost/app:1 shadows: podman resolves a short name to
// localhost/ first.
const (
	podmanBase      = "localhost/base:1"        // engineBase
	podmanBuilt     = "localhost/test/built:v1" // engineImage
	podmanLoaded    = "localhost/test/loaded:v1"
	podmanLocal     = "localhost/app:1" // podmanBuilt
	podmanRemote    = "registry.example.com/team/app:prod"
	podmanShadowed  = "docker.io/library/app:1"     // podmanLoaded
	podmanDockerHub = "docker.io/library/loaded:v1" // podmanLoaded
	podmanChanged   = "c1"                          // of app:1, changed through podman mount
	podmanVolumed   = "c2"                          // of loaded:v1, with the volume v1 at /data
	podmanVolume    = "v1"
)

// podmanView is one image or container: the reference aufsmount mounts,
// and Podman's own view of it.
type podmanView struct {
	name, ref string
	tree      map[string]info
}

// podmanMade is a store after Podman is done with it.
type podmanMade struct {
	p     *podmanStore
	views []podmanView
}

// makeStore loads the archive, tags, creates the containers, changes c1
// and fills the volume, and walks Podman's view of each image and
// container. Nothing of Podman is mounted when it returns.
func (p *podmanStore) makeStore(archive string) *podmanMade {
	t := p.t
	t.Helper()
	t.Logf("podman load: %s", p.podman("load", "-i", archive))
	t.Logf("podman images:\n%s", p.podman("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
	p.podman("tag", podmanBuilt, podmanLocal, podmanRemote)
	p.podman("tag", podmanLoaded, podmanShadowed, podmanDockerHub)
	// The short names the test mounts by, as Podman itself resolves them.
	for ref, want := range map[string]string{"app:1": podmanBuilt, "loaded:v1": podmanLoaded, "base:1": podmanBase, "test/built:v1": podmanBuilt} {
		id, wantID := p.podman("image", "inspect", "--format", "{{.ID}}", ref), p.podman("image", "inspect", "--format", "{{.ID}}", want)
		if id != wantID {
			t.Fatalf("podman resolves %s to %s, not to %s (%s)", ref, id, want, wantID)
		}
	}
	p.podman("create", "--network", "none", "--name", podmanChanged, "app:1", "sh")
	root := p.podmanPath("mount", podmanChanged)
	changePodmanContainer(t, root)
	p.podman("umount", podmanChanged)

	p.podman("volume", "create", podmanVolume)
	vol := p.podmanPath("volume", "inspect", "--format", "{{.Mountpoint}}", podmanVolume)
	if want := filepath.Join(p.root, "volumes", podmanVolume, "_data"); vol != want {
		t.Fatalf("podman's volume %s is at %s, not %s", podmanVolume, vol, want)
	}
	writeFileAt(t, filepath.Join(vol, "greeting"), "hello from the volume\n")
	if err := os.Mkdir(filepath.Join(vol, "sub"), 0700); err != nil {
		t.Fatal(err)
	}
	writeFileAt(t, filepath.Join(vol, "sub/x"), "x\n")
	p.podman("create", "--network", "none", "--name", podmanVolumed, "-v", podmanVolume+":/data", "loaded:v1", "sh")

	t.Logf("podman ps -a:\n%s", p.podman("ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}} {{.Command}}"))
	m := &podmanMade{p: p}
	for _, v := range []struct{ name, ref string }{
		{"image " + podmanLocal, "app:1"},
		{"image " + podmanLoaded, "loaded:v1"},
		{"image " + podmanBase, "base:1"},
		{"container " + podmanChanged, podmanChanged},
		{"container " + podmanVolumed, podmanVolumed},
	} {
		m.views = append(m.views, podmanView{name: v.name, ref: v.ref, tree: p.view(v.name, v.ref)})
	}
	// Podman mounts the volume when it starts the container, and c2 never
	// started: its view, as it would run, has the volume's tree at /data.
	c2 := &m.views[len(m.views)-1]
	c2.tree = withVolume(c2.tree, "data", walk(t, vol))
	checkPodmanBuilt(t, m.views)
	p.checkEncoding()
	if left := mountsUnder(t, p.dir); len(left) > 0 {
		t.Fatalf("podman left mounts under its store: %q", left)
	}
	return m
}

// withVolume is tree with what is at dest (a slash path) replaced by
// the volume's tree.
func withVolume(tree map[string]info, dest string, volume map[string]info) map[string]info {
	out := map[string]info{}
	for p, in := range tree {
		if p != dest && !strings.HasPrefix(p, dest+"/") {
			out[p] = in
		}
	}
	for p, in := range volume {
		out[strings.TrimSuffix(dest+"/"+p, "/")] = in
	}
	return out
}

// view walks Podman's view of an image or a container, mounted by Podman
// and unmounted again.
func (p *podmanStore) view(what, ref string) map[string]info {
	t := p.t
	t.Helper()
	mount, umount := []string{"mount"}, []string{"umount"}
	if strings.HasPrefix(what, "image ") {
		mount, umount = []string{"image", "mount"}, []string{"image", "umount"}
	}
	dir := p.podmanPath(append(mount, ref)...)
	tree := walk(t, dir)
	p.podman(append(umount, ref)...)
	t.Logf("podman's view of %s (%d entries):\n%s", what, len(tree), strings.Join(podmanListing(tree), "\n"))
	return tree
}

// podmanListing is a tree as ls -l would show it, for the log.
func podmanListing(tree map[string]info) []string {
	var lines []string
	for _, p := range slices.Sorted(maps.Keys(tree)) {
		in := tree[p]
		line := fmt.Sprintf("%07o %d:%d %6d %s %s", in.Mode, in.UID, in.GID, in.Size,
			time.Unix(in.Mtime.Unix()).UTC().Format(time.RFC3339Nano), "/"+p)
		if in.Target != "" {
			line += " -> " + in.Target
		}
		if in.Mode&unix.S_IFMT == unix.S_IFCHR {
			line += fmt.Sprintf(" dev %d:%d", unix.Major(in.Rdev), unix.Minor(in.Rdev))
		}
		if in.Xattrs != "" {
			line += " [" + strings.ReplaceAll(in.Xattrs, "\n", " ") + "]"
		}
		lines = append(lines, line)
	}
	return lines
}

// changePodmanContainer changes the container's files through Podman's
// mount of its root: adds, rewrites, deletes files and directories of
// the image, replaces a directory, changes modes and owners, links, and
// sets an extended attribute.
func changePodmanContainer(t *testing.T, root string) {
	t.Helper()
	at := func(p string) string { return filepath.Join(root, p) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("changing the container through podman mount: %s: %v", what, err)
		}
	}
	writeFileAt(t, at("added/new"), "new\n")
	must("link", os.Link(at("added/new"), at("added/new.hl")))
	must("symlink", os.Symlink("../etc/passwd", at("added/pw")))
	must("setxattr", unix.Lsetxattr(at("added/new"), "user.note", []byte("added"), 0))
	must("rewrite", os.WriteFile(at("etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0644))
	must("remove a file", os.Remove(at("etc/group")))
	must("remove a directory", os.RemoveAll(at("opt/app/sub")))
	must("remove a replaced directory", os.RemoveAll(at("usr/share/doc")))
	must("mkdir", os.Mkdir(at("usr/share/doc"), 0750))
	writeFileAt(t, at("usr/share/doc/new"), "replaced\n")
	must("chmod", os.Chmod(at("ping"), 0700))
	must("chown", os.Lchown(at("secret"), 1, 2))
	must("remove a hard link's name", os.Remove(at("usr/bin/hl1")))
	when := time.Date(2020, 2, 2, 2, 2, 2, 123456789, time.UTC)
	must("chtimes", os.Chtimes(at("xf"), when, when))
}

// checkPodmanBuilt makes sure Podman's views hold what the images and the
// changes made, so that a step that silently did nothing cannot make a
// comparison pass.
func checkPodmanBuilt(t *testing.T, views []podmanView) {
	t.Helper()
	tree := func(name string) map[string]info {
		for _, v := range views {
			if v.name == name {
				return v.tree
			}
		}
		t.Fatalf("no view %s", name)
		return nil
	}
	const what = "podman's view"
	kind := func(tr map[string]info, p string, mode uint32) { t.Helper(); wantKind(t, what, tr, p, mode) }
	absent := func(tr map[string]info, ps ...string) { t.Helper(); wantAbsent(t, what, tr, ps...) }
	linked := func(tr map[string]info, a, b string) { t.Helper(); wantLinked(t, what, tr, a, b) }
	built := tree("image " + podmanLocal)
	absent(built, "etc/motd", "var/lib/app/a", "var/lib/app/b", "opt/gone", "opt/app/sub/data")
	kind(built, "var/lib/app/c", unix.S_IFREG)
	kind(built, "opt/app/pw", unix.S_IFLNK)
	kind(built, "opt/app/fifo", unix.S_IFIFO)
	kind(built, "opt/app/null", unix.S_IFCHR)
	linked(built, "usr/bin/hl1", "usr/bin/hl2")
	if !strings.Contains(built["opt/app/cap"].Xattrs, "security.capability=") {
		t.Fatalf("podman's view of the built image lost security.capability: %+v", built["opt/app/cap"])
	}
	loaded := tree("image " + podmanLoaded)
	absent(loaded, "etc/motd", "opt/gone", "var/lib/app/a", "usr/bin/hl1")
	kind(loaded, "var/lib/app/new", unix.S_IFREG)
	kind(loaded, "usr/local/bin/xattrs", unix.S_IFREG)
	base := tree("image " + podmanBase)
	kind(base, "etc/motd", unix.S_IFREG)
	if !strings.Contains(base["xf"].Xattrs, "user.foo=626172") {
		t.Fatalf("podman's view of the base lost user.foo: %+v", base["xf"])
	}
	c1 := tree("container " + podmanChanged)
	absent(c1, "etc/group", "opt/app/sub", "usr/share/doc/README", "usr/bin/hl1")
	kind(c1, "usr/share/doc/new", unix.S_IFREG)
	kind(c1, "added/pw", unix.S_IFLNK)
	linked(c1, "added/new", "added/new.hl")
	if c1["ping"].Mode&07777 != 0700 || c1["secret"].UID != 1 || !strings.Contains(c1["added/new"].Xattrs, "user.note=") {
		t.Fatalf("the changes through podman mount did not show: /ping %+v, /secret %+v, /added/new %+v", c1["ping"], c1["secret"], c1["added/new"])
	}
	c2 := tree("container " + podmanVolumed)
	kind(c2, "data/greeting", unix.S_IFREG)
	kind(c2, "data/sub/x", unix.S_IFREG)
}

// check runs aufsmount on the store Podman left.
func (m *podmanMade) check(t *testing.T) {
	root := m.p.root
	snap := roSnap(t, root)
	checkPodmanEvidence(t, m.p, snap)
	t.Run("images", func(t *testing.T) {
		stdout, stderr, code := run(t, "--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}")
		want := "docker.io/library/app:1\ndocker.io/library/loaded:v1\nlocalhost/app:1\nlocalhost/base:1\nlocalhost/test/built:v1\nlocalhost/test/loaded:v1\nregistry.example.com/team/app:prod\n"
		if got := sortedLines(stdout); code != 0 || got != want || stderr != "" {
			t.Errorf("aufsmount images: exit %d, stderr %q, names (sorted):\n%s\nwant:\n%s", code, stderr, got, want)
		}
	})
	checkStoreUnchanged(t, root, "images", snap)
	t.Run("ps", func(t *testing.T) {
		stdout, stderr, code := run(t, "--root", root, "ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}}")
		want := "c1 localhost/app:1 Created\nc2 docker.io/library/loaded:v1 Created\n"
		if got := sortedLines(stdout); code != 0 || got != want || stderr != "" {
			t.Errorf("aufsmount ps -a: exit %d, stderr %q, lines (sorted):\n%s\nwant:\n%s", code, stderr, got, want)
		}
	})
	checkStoreUnchanged(t, root, "ps", snap)
	for _, v := range m.views {
		t.Run(v.name, func(t *testing.T) {
			mnt := mountRef(t, root, v.ref)
			checkPodmanView(t, mnt, v.tree)
			umountNow(t, mnt)
		})
		checkStoreUnchanged(t, root, "mounting and walking "+v.ref, snap)
	}
	// The other names of the images: each mounts the same tree.
	for _, n := range []struct {
		ref  string
		view int
	}{
		{podmanLocal, 0}, {podmanRemote, 0}, {podmanBuilt, 0}, {"test/built:v1", 0},
		{podmanShadowed, 1}, {podmanDockerHub, 1}, {"test/loaded:v1", 1},
	} {
		t.Run("name "+n.ref, func(t *testing.T) {
			mnt := mountRef(t, root, n.ref)
			checkPodmanView(t, mnt, m.views[n.view].tree)
			umountNow(t, mnt)
		})
		checkStoreUnchanged(t, root, "mounting and walking "+n.ref, snap)
	}
}

// checkPodmanEvidence makes sure the snapshot holds the files a reader
// using containers/storage itself would write (its locks), so that the
// store's being unchanged says they were left alone.
func checkPodmanEvidence(t *testing.T, p *podmanStore, snap *roSnapshot) {
	t.Helper()
	d := p.driver
	for _, f := range []string{"storage.lock", d + "-layers/layers.lock", d + "-images/images.lock", d + "-containers/containers.lock",
		d + "-layers/layers.json", d + "-images/images.json", d + "-containers/containers.json", "libpod/bolt_state.db"} {
		if _, ok := snap.state[f]; !ok {
			t.Errorf("the graphroot has no %s: Podman's store is not what the test knows", f)
		}
	}
}

// checkPodmanView walks a mounted view and compares it with Podman's:
// every entry, the root included. Not compared: atime and ctime (walking
// Podman's view read the files), blocks, link counts, and the size of a
// directory (each filesystem counts its own).
func checkPodmanView(t *testing.T, mnt string, want map[string]info) {
	t.Helper()
	got := walk(t, mnt)
	diffs := diffTrees(want, got, func(p string, w, g *info) {
		w.Atime, g.Atime, w.Ctime, g.Ctime = unix.Timespec{}, unix.Timespec{}, unix.Timespec{}, unix.Timespec{}
		w.Blocks, g.Blocks, w.Nlink, g.Nlink = 0, 0, 0, 0
		if w.Mode&unix.S_IFMT == unix.S_IFDIR && g.Mode&unix.S_IFMT == unix.S_IFDIR {
			w.Size, g.Size = 0, 0
		}
	})
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences between Podman's view (want) and the mount (got):\n%s", mnt, len(diffs), strings.Join(head(diffs, 60), "\n"))
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// checkEncoding makes sure the layers on disk hold the driver's encoding
// of whiteouts and opaque directories that the test is there to read:
// the loaded image's top layer (a pull's layer, as containers/storage
// applied it) and c1's (changed through Podman's mount).
func (p *podmanStore) checkEncoding() {
	t := p.t
	t.Helper()
	if p.driver == "vfs" {
		return // whole trees: nothing deleted is on disk
	}
	loaded := p.podmanPath("image", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", podmanLoaded)
	c1 := p.podmanPath("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", podmanChanged)
	lt, ct := walk(t, loaded), walk(t, c1)
	t.Logf("c1's layer on disk:\n%s", strings.Join(podmanListing(ct), "\n"))
	t.Logf("the loaded image's top layer on disk:\n%s", strings.Join(podmanListing(lt), "\n"))
	whiteout := func(tree map[string]info, p string) {
		t.Helper()
		if in, ok := tree[p]; !ok || in.Mode&unix.S_IFMT != unix.S_IFCHR || in.Rdev != 0 {
			t.Fatalf("the layer on disk has no whiteout device %q (%+v, present %v)", p, in, ok)
		}
	}
	marker := func(tree map[string]info, p string) {
		t.Helper()
		if in, ok := tree[p]; !ok || in.Mode&unix.S_IFMT != unix.S_IFREG {
			t.Fatalf("the layer on disk has no marker file %q (%+v, present %v)", p, in, ok)
		}
	}
	opaque := func(tree map[string]info, p string) {
		t.Helper()
		if !slices.Contains(strings.Split(tree[p].Xattrs, "\n"), "trusted.overlay.opaque=79") {
			t.Fatalf("the layer on disk has no trusted.overlay.opaque=y on %q: %+v", p, tree[p])
		}
	}
	// Podman's own mount of c1 made its whiteouts, with the kernel's
	// encoding (fuse-overlayfs run as root makes devices too, and marks an
	// opaque directory every way it knows).
	whiteout(ct, "etc/group")
	whiteout(ct, "opt/app/sub")
	opaque(ct, "usr/share/doc")
	if slices.ContainsFunc(p.storageOpts, func(o string) bool { return strings.HasPrefix(o, "overlay.mount_program=") }) {
		// containers/storage applies a layer for a mount_program with
		// aufs-style markers.
		marker(lt, "etc/.wh.motd")
		marker(lt, "opt/.wh.gone")
		marker(lt, "var/lib/app/.wh..wh..opq")
		marker(ct, "usr/share/doc/.wh..wh..opq")
		return
	}
	whiteout(lt, "etc/motd")
	whiteout(lt, "opt/gone")
	opaque(lt, "var/lib/app")
}
