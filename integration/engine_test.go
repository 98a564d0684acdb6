package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestRealEngine checks aufsmount against stores written by a real Docker
// engine (Debian's docker.io, Docker 20.10), one subtest per storage
// driver. Each starts a private dockerd on a new root, imports a busybox
// root filesystem the test builds, builds an image whose steps delete,
// replace and re-create files and directories of the layers below (plain
// whiteouts, a directory whiteout, an opaque directory), make hard links,
// symlinks, a fifo, a device, odd modes and owners and extended
// attributes, loads a second image from a docker save archive the test
// writes (layers as a pull brings them, whiteout markers and all), runs a
// container that changes more and exits, creates one of each image, and
// asks the engine for its own view of each: docker export (the merged
// root filesystem as a tar) and, for extended attributes, which docker
// export leaves out but for security.capability, a dump taken inside a
// container by a small static helper. Then it stops the engine, mounts
// both images and the three containers with aufsmount, and compares every
// entry with the engine's views: type, mode, owner, size, mtime (seconds:
// what a tar keeps), symlink target, device number, content, hard-link
// groups and extended attributes. It also checks the images, containers
// and layers listings against docker's, and that nothing under the store
// changed.
//
// AUFSMOUNT_ENGINE_KEEP=DIR keeps a copy of each engine's root (cp -a:
// xattrs and whiteout devices kept), its exports and dumps, in DIR/<driver>/.
func TestRealEngine(t *testing.T) {
	testenv.FUSE(t)
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	busybox := requireStaticBusybox(t)
	start := time.Now()
	helper := buildXattrHelper(t)
	rootfs := writeEngineRootfs(t, busybox)
	t.Logf("helper and root filesystem ready in %v", time.Since(start).Round(time.Millisecond))
	for _, driver := range []string{"overlay2", "vfs", "overlay", "fuse-overlayfs"} {
		t.Run(driver, func(t *testing.T) {
			if driver == "fuse-overlayfs" {
				testenv.Tool(t, "fuse-overlayfs")
			}
			start := time.Now()
			e := startEngine(t, dockerd, docker, driver)
			s := e.makeStore(rootfs, helper)
			e.stop()
			t.Logf("%s: engine started, built, ran, exported and stopped in %v", driver, time.Since(start).Round(time.Millisecond))
			s.keep(t)
			s.check(t)
		})
	}
}

// The images the test makes, and its containers.
const (
	engineBase    = "base:1"
	engineImage   = "test/built:v1"  // built by the Dockerfile
	engineLoaded  = "test/loaded:v1" // docker load of an archive the test writes
	engineRan     = "ran"            // ran engineRanScript, and exited
	engineMade    = "created"        // of engineImage, created, never started
	engineLoadedC = "loaded"         // of engineLoaded, created, never started
)

// engineInitPaths are what Docker's init layer adds to every container
// (daemon/initlayer in moby 20.10), as docker export shows them: a
// container's view has them, its image's does not. The image built here
// has none of them of its own.
var engineInitPaths = []string{
	".dockerenv", "dev", "dev/console", "dev/pts", "dev/shm",
	"etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf", "proc", "sys",
}

// engineDockerfile builds on the imported base. The layer each RUN step
// leaves is what the driver's diff of the step's container says (kernel
// overlayfs, fuse-overlayfs, or vfs comparing whole trees), so what the
// image holds can differ between drivers; the export says what it is.
// (Docker 20.10's layer tars carry security.capability and no other
// extended attribute, so user.note does not reach the image; and vfs
// copies only security.capability from a layer to the next.)
const engineDockerfile = `FROM ` + engineBase + `
COPY xattrs /usr/local/bin/xattrs
RUN set -e; mkdir -p /opt/app/sub; echo hello > /opt/app/hello; ln /opt/app/hello /opt/app/hello.link; \
    echo data > /opt/app/sub/data; touch -t 200102030405.06 /opt/app/sub/data; ln -s ../../etc/passwd /opt/app/pw; \
    chmod 0640 /opt/app/hello; chown 1000:1000 /opt/app/sub; chmod 2750 /opt/app/sub; \
    mkfifo /opt/app/fifo; mknod /opt/app/null c 1 3; \
    echo cap > /opt/app/cap; /usr/local/bin/xattrs set /opt/app/cap security.capability %[1]s; \
    echo note > /opt/app/note; /usr/local/bin/xattrs set /opt/app/note user.note 6e6f7465
RUN set -e; rm /etc/motd; rm -rf /var/lib/app /opt/gone; mkdir /var/lib/app; echo c > /var/lib/app/c; \
    rm /opt/app/sub/data; chmod 4755 /opt/app/hello; chown 33:44 /usr/share/doc/README; chmod 1777 /opt/app
ENV A=1
RUN echo last > /last && touch -t 200102030405.06 /opt/app/hello.link
`

// engineRanScript is what the container "ran" does before it exits; its
// last step prints the extended attributes of its tree.
const engineRanScript = `set -e
echo changed > /opt/app/hello
rm /opt/app/pw /last /usr/bin/hl1
rm -rf /usr/share/doc; mkdir /usr/share/doc; echo new > /usr/share/doc/new
rm -rf /var/lib/app; mkdir /var/lib/app; echo d > /var/lib/app/d
touch /newfile; ln /newfile /newfile.hl
chmod 0600 /etc/passwd
chown 1:2 /ping
mkdir -p /root/x; echo y > /root/x/y
/usr/local/bin/xattrs set /newfile user.note 6e6577
exec /usr/local/bin/xattrs dump`

// engineStore is a stopped engine's root and what the engine said of it.
type engineStore struct {
	driver, root, dir string
	images            []engineImageInfo     // docker image inspect of every image
	containers        []engineContainerInfo // docker inspect of every container
	made              string                // the id of the container created
	ran               string                // the id of the container that ran
	ranExport         string                // docker export of ran
	madeExport        string                // docker export of created: the image, and the init layer
	loadedExport      string                // docker export of loaded: the loaded image, and the init layer
	imageDump         string                // the xattrs helper's dump of engineImage, in a container
	ranDump           string                // ran's own dump, its last step
	loadedDump        string                // the dump of engineLoaded, in a container
}

type engineImageInfo struct {
	ID          string
	RepoTags    []string
	Created     time.Time
	RootFS      struct{ Layers []string }
	GraphDriver struct {
		Name string
		Data map[string]string
	}
}

type engineContainerInfo struct {
	ID          string
	Name        string
	Image       string
	GraphDriver struct {
		Name string
		Data map[string]string
	}
}

// makeStore has the engine build the image and the containers, and takes
// its views of them while it runs.
func (e *engine) makeStore(rootfs, helper string) *engineStore {
	t := e.t
	s := &engineStore{driver: e.driver, root: e.root, dir: e.dir}
	e.makeImages(rootfs, helper)
	// SYS_ADMIN for the dumps: without it, listxattr hides trusted.* names.
	s.imageDump = e.docker("run", "--rm", "--network", "none", "--cap-add", "SYS_ADMIN", engineImage, "/usr/local/bin/xattrs", "dump")
	s.ranDump = e.docker("run", "--network", "none", "--cap-add", "SYS_ADMIN", "--name", engineRan, engineImage, "sh", "-c", engineRanScript)
	e.docker("create", "--network", "none", "--name", engineMade, engineImage, "true")
	s.loadedDump = e.docker("run", "--rm", "--network", "none", "--cap-add", "SYS_ADMIN", engineLoaded, "/usr/local/bin/xattrs", "dump")
	e.docker("create", "--network", "none", "--name", engineLoadedC, engineLoaded, "true")
	s.ranExport = filepath.Join(e.dir, "ran.tar")
	s.madeExport = filepath.Join(e.dir, "created.tar")
	s.loadedExport = filepath.Join(e.dir, "loaded.tar")
	e.dockerTo(s.ranExport, "export", engineRan)
	e.dockerTo(s.madeExport, "export", engineMade)
	e.dockerTo(s.loadedExport, "export", engineLoadedC)

	ids := strings.Fields(e.docker("images", "-a", "-q", "--no-trunc"))
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if err := json.Unmarshal([]byte(e.docker(append([]string{"image", "inspect"}, ids...)...)), &s.images); err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	cids := strings.Fields(e.docker("ps", "-a", "-q", "--no-trunc"))
	if err := json.Unmarshal([]byte(e.docker(append([]string{"inspect"}, cids...)...)), &s.containers); err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	for _, c := range s.containers {
		switch c.Name {
		case "/" + engineMade:
			s.made = c.ID
		case "/" + engineRan:
			s.ran = c.ID
		}
	}
	if s.made == "" {
		t.Fatalf("docker inspect does not list the container %s: %+v", engineMade, s.containers)
	}
	return s
}

// makeImages has the engine make the test's images: engineBase imported
// from rootfs, engineImage built on it by engineDockerfile, and
// engineLoaded loaded from an archive the test writes.
func (e *engine) makeImages(rootfs, helper string) {
	t := e.t
	t.Helper()
	e.docker("import", rootfs, engineBase)
	ctx := filepath.Join(e.dir, "context")
	if err := os.Mkdir(ctx, 0755); err != nil {
		t.Fatal(err)
	}
	dockerfile := fmt.Sprintf(engineDockerfile, hex.EncodeToString([]byte(capNetRaw())))
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, helper, filepath.Join(ctx, "xattrs"), 0755)
	e.docker("build", "-t", engineImage, ctx)
	e.docker("load", "-i", writeEngineArchive(t, rootfs, helper))
}

// keep copies the store for a person to look at, when asked to.
func (s *engineStore) keep(t *testing.T) {
	dir := os.Getenv("AUFSMOUNT_ENGINE_KEEP")
	if dir == "" {
		return
	}
	dst := filepath.Join(dir, s.driver)
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", s.root, s.ranExport, s.madeExport, s.loadedExport, dst).CombinedOutput(); err != nil {
		t.Fatalf("keeping the store: %v: %s", err, out)
	}
	for name, dump := range map[string]string{"image-xattrs.txt": s.imageDump, "ran-xattrs.txt": s.ranDump, "loaded-xattrs.txt": s.loadedDump} {
		if err := os.WriteFile(filepath.Join(dst, name), []byte(dump), 0644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kept the %s store in %s", s.driver, dst)
}

// check runs aufsmount on the stopped engine's store.
func (s *engineStore) check(t *testing.T) {
	ranTree, ranExportX := readExport(t, s.ranExport)
	madeTree, madeExportX := readExport(t, s.madeExport)
	loadedCTree, loadedExportX := readExport(t, s.loadedExport)
	imageX := parseXattrDump(t, engineImage, s.imageDump)
	ranX := parseXattrDump(t, engineRan, s.ranDump)
	loadedX := parseXattrDump(t, engineLoaded, s.loadedDump)
	checkDumpAgrees(t, engineImage, madeExportX, imageX)
	checkDumpAgrees(t, engineRan, ranExportX, ranX)
	checkDumpAgrees(t, engineLoaded, loadedExportX, loadedX)
	// A container that ran sees its hostname, hosts and resolv.conf as
	// Docker bind-mounted them from containers/<id>/, and so does its
	// view; docker export shows the init layer's empty files there.
	for p, in := range containerBindFiles(t, s.root, s.ran) {
		in.Mtime.Nsec = 0 // the comparison is in the export's whole seconds
		ranTree[p] = in
	}
	imageTree, loose := withoutInitLayer(t, madeTree)
	loadedTree, _ := withoutInitLayer(t, loadedCTree)
	checkEngineBuilt(t, imageTree, imageX, ranTree, ranX, loadedTree)

	snap := roSnap(t, s.root)
	t.Run("images", func(t *testing.T) { s.checkImages(t) })
	checkStoreUnchanged(t, s.root, "images", snap)
	t.Run("containers", func(t *testing.T) { s.checkContainers(t) })
	checkStoreUnchanged(t, s.root, "containers", snap)
	// overlay and vfs show an image as one directory: Docker has no layer
	// list of theirs to compare with.
	for _, ref := range []string{engineImage, engineLoaded} {
		if s.driver != "overlay2" && s.driver != "fuse-overlayfs" {
			break
		}
		t.Run("layers "+ref, func(t *testing.T) { s.checkLayers(t, ref) })
		checkStoreUnchanged(t, s.root, "layers "+ref, snap)
	}
	views := []struct {
		name, ref string
		tree      map[string]info
		xattrs    xattrDump
		loose     map[string]bool
	}{
		{"image " + engineImage, engineImage, imageTree, imageX, loose},
		{"container " + engineRan, engineRan, ranTree, ranX, nil},
		{"container " + engineMade, s.made[:12], madeTree, imageX, nil}, // by id prefix
		{"image " + engineLoaded, engineLoaded, loadedTree, loadedX, loose},
		{"container " + engineLoadedC, engineLoadedC, loadedCTree, loadedX, nil},
	}
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			mnt := mountRef(t, s.root, v.ref)
			checkEngineView(t, mnt, v.tree, v.xattrs, v.loose)
			umountNow(t, mnt)
		})
		checkStoreUnchanged(t, s.root, "mounting and walking "+v.ref, snap)
	}
	t.Run("copied with cp -r", func(t *testing.T) {
		s.checkCopy(t, views[0].tree, views[0].xattrs, views[0].loose, views[3].tree, views[3].xattrs)
	})
}

// checkCopy copies the store as root without -a (cp -r: owners root's,
// modes cut by the umask, times the copy's, no xattrs, hard links split)
// and mounts its images: each view must still be the engine's, restored
// from the layers' tar-splits, and verify must find only a copy's losses.
func (s *engineStore) checkCopy(t *testing.T, image map[string]info, imageX xattrDump, loose map[string]bool, loaded map[string]info, loadedX xattrDump) {
	cp := filepath.Join(t.TempDir(), "docker")
	cmd := exec.Command("cp", "-r", s.root, cp)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp -r %s: %v: %s", s.root, err, out)
	}
	for _, v := range []struct {
		ref    string
		tree   map[string]info
		xattrs xattrDump
	}{{engineImage, image, imageX}, {engineLoaded, loaded, loadedX}} {
		mnt := t.TempDir()
		_, stderr, code := run(t, "--root", cp, "mount", v.ref, mnt)
		if code != 0 {
			t.Fatalf("mount %s of the copy: exit %d: %s", v.ref, code, stderr)
		}
		if !strings.Contains(stderr, "restored from its tar-split") {
			t.Errorf("mount %s of the copy: stderr does not say what was restored:\n%s", v.ref, stderr)
		}
		checkEngineView(t, mnt, v.tree, v.xattrs, loose)
		umountNow(t, mnt)
	}
	out, stderr, code := run(t, "--root", cp, "verify", engineImage, engineLoaded)
	if code != 3 {
		t.Errorf("verify of the copy: exit %d, want 3 (only a copy's losses)\n%s%s", code, out, stderr)
	}
}

// withoutInitLayer is an image's view from the export of a container
// that never ran: the export without what the init layer adds. It also
// returns the directories the init layer wrote in (the mtime there is
// the init layer's, not the image's).
func withoutInitLayer(t *testing.T, export map[string]info) (map[string]info, map[string]bool) {
	t.Helper()
	image := maps.Clone(export)
	loose := map[string]bool{}
	for _, p := range engineInitPaths {
		if _, ok := image[p]; !ok {
			t.Fatalf("docker export of a new container has no %q: Docker's init layer is not what the test knows (%s)", p, strings.Join(keys(export), " "))
		}
		delete(image, p)
		if q := parentOf(p); q != "" && !slices.Contains(engineInitPaths, q) {
			loose[q] = true
		}
	}
	return image, loose
}

// checkImages compares images --json with docker image inspect.
func (s *engineStore) checkImages(t *testing.T) {
	var got []struct {
		ID      string   `json:"id"`
		Names   []string `json:"names"`
		Created string   `json:"created"`
		Layers  int      `json:"layers"`
	}
	stdout, stderr, code := run(t, "--root", s.root, "images", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("aufsmount --root %s images --json: exit %d, stderr %q", s.root, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("images --json: %v\n%s", err, stdout)
	}
	byID := map[string]int{}
	for i, g := range got {
		if _, dup := byID[g.ID]; dup {
			t.Errorf("images --json lists %s twice", g.ID)
		}
		byID[g.ID] = i
	}
	for _, want := range s.images {
		id := strings.TrimPrefix(want.ID, "sha256:")
		i, ok := byID[id]
		if !ok {
			t.Errorf("images --json: no image %s (docker images -a has it, tags %q)", id, want.RepoTags)
			continue
		}
		delete(byID, id)
		g := got[i]
		names := slices.Sorted(slices.Values(want.RepoTags))
		if names == nil {
			names = []string{}
		}
		if !reflect.DeepEqual(g.Names, names) {
			t.Errorf("images --json: %s has names %q, docker says %q", id[:12], g.Names, names)
		}
		if g.Layers != len(want.RootFS.Layers) {
			t.Errorf("images --json: %s has %d layers, docker's rootfs %d", id[:12], g.Layers, len(want.RootFS.Layers))
		}
		if created, err := time.Parse(time.RFC3339, g.Created); err != nil || created.Unix() != want.Created.Unix() {
			t.Errorf("images --json: %s created %q, docker says %s", id[:12], g.Created, want.Created.Format(time.RFC3339))
		}
	}
	for id := range byID {
		t.Errorf("images --json: image %s, which docker images -a does not list", id)
	}
}

// engineContainerJSON is what containers --json says of a container.
type engineContainerJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	ImageID string   `json:"image_id"`
	Layers  []string `json:"layers"`
}

// checkContainers compares containers --json with docker inspect.
func (s *engineStore) checkContainers(t *testing.T) {
	var got []engineContainerJSON
	stdout, stderr, code := run(t, "--root", s.root, "containers", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("aufsmount --root %s containers --json: exit %d, stderr %q", s.root, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("containers --json: %v\n%s", err, stdout)
	}
	if len(got) != len(s.containers) {
		t.Errorf("containers --json: %d containers, docker ps -a %d:\n%s", len(got), len(s.containers), stdout)
	}
	for _, want := range s.containers {
		i := slices.IndexFunc(got, func(g engineContainerJSON) bool { return g.ID == want.ID })
		if i < 0 {
			t.Errorf("containers --json: no container %s (%s)", want.ID, want.Name)
			continue
		}
		g := got[i]
		if g.Name != strings.TrimPrefix(want.Name, "/") || g.ImageID != strings.TrimPrefix(want.Image, "sha256:") {
			t.Errorf("containers --json: %s is %q of image %s, docker says %q of %s", want.ID[:12], g.Name, g.ImageID, want.Name, want.Image)
		}
		// The directories Docker mounts for the container, top first,
		// where it says (overlay2, fuse-overlayfs: each is <id>/diff).
		if wantLayers := engineLayerIDs(want.GraphDriver.Name, want.GraphDriver.Data); wantLayers != nil && !reflect.DeepEqual(g.Layers, wantLayers) {
			t.Errorf("containers --json: %s has layers %q, docker mounts %q", want.ID[:12], g.Layers, wantLayers)
		}
	}
}

// checkLayers compares layers --json of the image with docker image
// inspect: the diff ids top first, and the directories Docker mounts. It
// is for the drivers that stack every layer's directory (overlay2,
// fuse-overlayfs); overlay and vfs show an image as one directory that
// holds the whole tree, and how the layers command lists their history
// is the command's to decide, not Docker's.
func (s *engineStore) checkLayers(t *testing.T, ref string) {
	var img *engineImageInfo
	for i := range s.images {
		if slices.Contains(s.images[i].RepoTags, ref) {
			img = &s.images[i]
		}
	}
	if img == nil {
		t.Fatalf("docker image inspect has no %s", ref)
	}
	var got []struct {
		ID     string `json:"id"`
		Dir    string `json:"dir"`
		DiffID string `json:"diff_id"`
	}
	stdout, stderr, code := run(t, "--root", s.root, "layers", "--json", ref)
	if code != 0 || stderr != "" {
		t.Fatalf("aufsmount --root %s layers --json %s: exit %d, stderr %q", s.root, ref, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("layers --json: %v\n%s", err, stdout)
	}
	var diffIDs, dirs []string
	for _, g := range got {
		diffIDs = append(diffIDs, g.DiffID)
		dirs = append(dirs, filepath.Clean(g.Dir))
	}
	wantDiffIDs := slices.Clone(img.RootFS.Layers)
	slices.Reverse(wantDiffIDs)
	if !reflect.DeepEqual(diffIDs, wantDiffIDs) {
		t.Errorf("layers --json %s: diff ids %q, docker's rootfs (top first) %q", ref, diffIDs, wantDiffIDs)
	}
	if wantDirs := engineLayerDirs(img.GraphDriver.Data); !reflect.DeepEqual(dirs, wantDirs) {
		t.Errorf("layers --json %s: directories %q, docker mounts %q", ref, dirs, wantDirs)
	}
}

// engineLayerDirs is the directories Docker stacks for an image or a
// container, top first, from docker inspect's GraphDriver.Data.
func engineLayerDirs(data map[string]string) []string {
	var dirs []string
	if d := data["UpperDir"]; d != "" {
		dirs = append(dirs, filepath.Clean(d))
	}
	if l := data["LowerDir"]; l != "" {
		for _, d := range strings.Split(l, ":") {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	return dirs
}

// engineLayerIDs is the layer ids of engineLayerDirs for the drivers
// whose every layer is <id>/diff; nil for the others.
func engineLayerIDs(driver string, data map[string]string) []string {
	if driver != "overlay2" && driver != "fuse-overlayfs" {
		return nil
	}
	var ids []string
	for _, d := range engineLayerDirs(data) {
		ids = append(ids, filepath.Base(filepath.Dir(d)))
	}
	return ids
}

// checkEngineView walks a mounted view and compares it with the engine's.
// Compared: type, permission bits, owner, the size and content of regular
// files, mtime in seconds, symlink targets, device numbers, hard-link
// groups, and extended attributes where the dump saw the path. Not
// compared: atime, ctime, blocks and link counts (a tar has none of
// them), the root (a tar has no entry for it), and the mtime of loose
// paths.
func checkEngineView(t *testing.T, mnt string, want map[string]info, x xattrDump, loose map[string]bool) {
	t.Helper()
	want = maps.Clone(want)
	for p, in := range want {
		if x.seen[p] {
			in.Xattrs = x.line(p)
			want[p] = in
		}
	}
	got := walk(t, mnt)
	delete(got, "")
	diffs := diffTrees(want, got, func(p string, w, g *info) {
		g.Mtime = unix.Timespec{Sec: g.Mtime.Sec}
		if loose[p] {
			w.Mtime, g.Mtime = unix.Timespec{}, unix.Timespec{}
		}
		w.Atime, g.Atime, w.Ctime, g.Ctime = unix.Timespec{}, unix.Timespec{}, unix.Timespec{}, unix.Timespec{}
		w.Blocks, g.Blocks, w.Nlink, g.Nlink = 0, 0, 0, 0
		if w.Mode&unix.S_IFMT != unix.S_IFREG || g.Mode&unix.S_IFMT != unix.S_IFREG {
			w.Size, g.Size = 0, 0
		}
		if !x.seen[p] {
			w.Xattrs, g.Xattrs = "", ""
		}
	})
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences between the engine's view (want) and the mount (got):\n%s", mnt, len(diffs), strings.Join(head(diffs, 40), "\n"))
	}
	attrs, links := 0, map[uint64]int{}
	for _, in := range want {
		if in.Xattrs != "" {
			attrs++
		}
		if in.Mode&unix.S_IFMT != unix.S_IFDIR {
			links[in.Ino]++
		}
	}
	groups := 0
	for _, n := range links {
		if n > 1 {
			groups++
		}
	}
	t.Logf("compared %d entries with the engine's, %d of them with extended attributes, %d hard-link groups, %d mtimes not compared (%s)",
		len(want), attrs, groups, len(loose), strings.Join(slices.Sorted(maps.Keys(loose)), " "))
}

// checkEngineBuilt makes sure that the engine did what the Dockerfile and
// the container's script say, so that a step that silently did nothing
// cannot make a comparison pass.
func checkEngineBuilt(t *testing.T, image map[string]info, imageX xattrDump, ran map[string]info, ranX xattrDump, loaded map[string]info) {
	t.Helper()
	const what = "the engine's view"
	kind := func(tree map[string]info, p string, mode uint32) { t.Helper(); wantKind(t, what, tree, p, mode) }
	absent := func(tree map[string]info, ps ...string) { t.Helper(); wantAbsent(t, what, tree, ps...) }
	linked := func(tree map[string]info, a, b string) { t.Helper(); wantLinked(t, what, tree, a, b) }
	absent(image, "etc/motd", "var/lib/app/a", "var/lib/app/b", "opt/gone", "opt/gone/x", "opt/app/sub/data")
	kind(image, "var/lib/app/c", unix.S_IFREG)
	kind(image, "opt/app/pw", unix.S_IFLNK)
	kind(image, "opt/app/fifo", unix.S_IFIFO)
	kind(image, "opt/app/null", unix.S_IFCHR)
	if image["opt/app/null"].Rdev != unix.Mkdev(1, 3) {
		t.Fatalf("the engine's /opt/app/null is not device 1:3: %+v", image["opt/app/null"])
	}
	linked(image, "usr/bin/hl1", "usr/bin/hl2")
	if in := image["secret"]; in.Mode&07777 != 0 || in.UID != 65534 {
		t.Fatalf("the engine's /secret lost its mode or owner: %+v", in)
	}
	if !strings.Contains(imageX.line("opt/app/cap"), "security.capability=") || !strings.Contains(imageX.line("ping"), "security.capability=") {
		t.Fatalf("the engine's image lost security.capability: /opt/app/cap %q, /ping %q", imageX.line("opt/app/cap"), imageX.line("ping"))
	}
	absent(ran, "opt/app/pw", "last", "usr/share/doc/README", "var/lib/app/c", "usr/bin/hl1")
	kind(ran, "usr/share/doc/new", unix.S_IFREG)
	kind(ran, "var/lib/app/d", unix.S_IFREG)
	kind(ran, "root/x/y", unix.S_IFREG)
	kind(ran, "usr/bin/hl2", unix.S_IFREG)
	linked(ran, "newfile", "newfile.hl")
	if ran["etc/passwd"].Mode&07777 != 0600 {
		t.Fatalf("the container's chmod of /etc/passwd did not show: %+v", ran["etc/passwd"])
	}
	if !strings.Contains(ranX.line("newfile"), "user.note=") {
		t.Fatalf("the container's user.note on /newfile is not in its dump: %q", ranX.line("newfile"))
	}
	absent(loaded, "etc/motd", "opt/gone", "opt/gone/x", "var/lib/app/a", "var/lib/app/b", "usr/bin/hl1")
	kind(loaded, "var/lib/app/new", unix.S_IFREG)
	kind(loaded, "usr/bin/hl2", unix.S_IFREG)
	kind(loaded, "usr/local/bin/xattrs", unix.S_IFREG)
	kind(loaded, "etc/passwd", unix.S_IFREG)
}

// wantKind fails the test unless tree, what an engine showed, has p of
// type mode: a step that silently did nothing cannot make a comparison
// pass.
func wantKind(t *testing.T, what string, tree map[string]info, p string, mode uint32) {
	t.Helper()
	if in, ok := tree[p]; !ok || in.Mode&unix.S_IFMT != mode {
		t.Fatalf("%s has no %q of type %o (%+v, present %v)", what, p, mode, in, ok)
	}
}

// wantAbsent fails the test if tree has any of ps, which a step deleted.
func wantAbsent(t *testing.T, what string, tree map[string]info, ps ...string) {
	t.Helper()
	for _, p := range ps {
		if _, ok := tree[p]; ok {
			t.Fatalf("%s still has %q, which a step deleted", what, p)
		}
	}
}

// wantLinked fails the test unless tree has a and b as one file.
func wantLinked(t *testing.T, what string, tree map[string]info, a, b string) {
	t.Helper()
	if tree[a].Ino == 0 || tree[a].Ino != tree[b].Ino {
		t.Fatalf("%s does not have %q and %q as one file", what, a, b)
	}
}

// readExport reads a docker export into the entries a walk of the same
// tree would give (inode numbers stand for hard-link groups), with the
// extended attributes the tar carries.
func readExport(t *testing.T, file string) (map[string]info, map[string]map[string]string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readTarTree(t, "docker export "+file, f)
}

// readTarTree is readExport of the tar r, which name names in errors.
func readTarTree(t *testing.T, name string, r io.Reader) (map[string]info, map[string]map[string]string) {
	t.Helper()
	file := name
	tree := map[string]info{}
	xattrs := map[string]map[string]string{}
	tr := tar.NewReader(r)
	var ino uint64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		p := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if p == "" {
			continue
		}
		if _, dup := tree[p]; dup {
			t.Fatalf("%s: %q twice", file, p)
		}
		ino++
		in := info{Mode: uint32(hdr.Mode) & 07777, UID: uint32(hdr.Uid), GID: uint32(hdr.Gid), Mtime: unix.Timespec{Sec: hdr.ModTime.Unix()}, Ino: ino}
		switch hdr.Typeflag {
		case tar.TypeReg:
			in.Mode |= unix.S_IFREG
			h := sha256.New()
			n, err := io.Copy(h, tr)
			if err != nil {
				t.Fatalf("reading %s: %q: %v", file, p, err)
			}
			in.Size, in.Hash = n, hex.EncodeToString(h.Sum(nil))
		case tar.TypeLink:
			target := strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/")
			first, ok := tree[target]
			if !ok {
				t.Fatalf("%s: %q links to %q, not before it", file, p, hdr.Linkname)
			}
			in = first
		case tar.TypeSymlink:
			in.Mode |= unix.S_IFLNK
			in.Target = hdr.Linkname
		case tar.TypeDir:
			in.Mode |= unix.S_IFDIR
		case tar.TypeChar, tar.TypeBlock:
			in.Mode |= map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK}[hdr.Typeflag]
			in.Rdev = unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		case tar.TypeFifo:
			in.Mode |= unix.S_IFIFO
		default:
			t.Fatalf("%s: %q has tar type %q", file, p, hdr.Typeflag)
		}
		tree[p] = in
		for k, v := range hdr.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if xattrs[p] == nil {
					xattrs[p] = map[string]string{}
				}
				xattrs[p][name] = hex.EncodeToString([]byte(v))
			}
		}
	}
	return tree, xattrs
}

// xattrDump is the helper's dump: every path it saw, and the extended
// attributes of each (name to hex value).
type xattrDump struct {
	seen  map[string]bool
	attrs map[string]map[string]string
}

// line is a path's attributes as walk's info.Xattrs has them.
func (x xattrDump) line(p string) string {
	var lines []string
	for name, v := range x.attrs[p] {
		lines = append(lines, name+"="+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func parseXattrDump(t *testing.T, what, out string) xattrDump {
	t.Helper()
	x := xattrDump{seen: map[string]bool{}, attrs: map[string]map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		switch {
		case len(f) == 2 && f[0] == "PATH":
			p, err := strconv.Unquote(f[1])
			if err != nil {
				t.Fatalf("xattr dump of %s: %q: %v", what, line, err)
			}
			x.seen[p] = true
		case len(f) == 4 && f[0] == "XATTR":
			p, err1 := strconv.Unquote(f[1])
			name, err2 := strconv.Unquote(f[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("xattr dump of %s: bad line %q", what, line)
			}
			if x.attrs[p] == nil {
				x.attrs[p] = map[string]string{}
			}
			x.attrs[p][name] = f[3]
		}
	}
	if len(x.seen) < 10 {
		t.Fatalf("xattr dump of %s saw %d paths: %q", what, len(x.seen), out)
	}
	return x
}

// checkDumpAgrees checks the engine against itself: what docker export
// says of extended attributes (security.capability only) must be what
// the dump saw.
func checkDumpAgrees(t *testing.T, what string, export map[string]map[string]string, x xattrDump) {
	t.Helper()
	for p, attrs := range export {
		for name, v := range attrs {
			if x.seen[p] && x.attrs[p][name] != v {
				t.Errorf("%s: docker export has %s=%s on %q, the dump inside a container %q", what, name, v, p, x.line(p))
			}
		}
	}
}

// engine is a private dockerd with its own root, run by the test.
type engine struct {
	t                       *testing.T
	dockerd, client         string
	driver, dir, root, sock string
	cmd                     *exec.Cmd
	exited                  chan struct{}
	waitErr                 error
}

// startEngine starts dockerd with driver on a new root in t.TempDir()
// and waits for its socket to answer. It is killed, with what it started,
// when the test ends, if it is still running then.
func startEngine(t *testing.T, dockerd, docker, driver string) *engine {
	t.Helper()
	dir := t.TempDir()
	e := &engine{t: t, dockerd: dockerd, client: docker, driver: driver, dir: dir,
		root: filepath.Join(dir, "root"), sock: filepath.Join(dir, "docker.sock"), exited: make(chan struct{})}
	if len(e.sock) > 100 {
		t.Fatalf("socket path %s is too long for a unix socket", e.sock)
	}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	e.cmd = exec.Command(dockerd, "--data-root", e.root, "--exec-root", filepath.Join(dir, "exec"),
		"-H", "unix://"+e.sock, "--pidfile", filepath.Join(dir, "docker.pid"),
		"--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver", driver)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	// Its own process group, so that its containerd can be killed with
	// it; and a SIGTERM if this process dies first.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(e.kill)
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
		},
	}}
	for {
		select {
		case <-e.exited:
			t.Fatalf("dockerd --storage-driver %s exited (%v) before answering:\n%s", driver, e.waitErr, e.logTail())
		default:
		}
		if resp, err := client.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("dockerd --storage-driver %s: no answer on %s in 30 s:\n%s", driver, e.sock, e.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("dockerd --storage-driver %s answering in %v", driver, time.Since(start).Round(time.Millisecond))
	return e
}

// stop stops the engine as an administrator would, with SIGTERM, and
// waits for it to exit.
func (e *engine) stop() {
	t := e.t
	t.Helper()
	start := time.Now()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping dockerd: %v", err)
	}
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		e.kill()
		t.Fatalf("dockerd did not stop within 30 s of SIGTERM:\n%s", e.logTail())
	}
	if left := mountsUnder(t, e.dir); len(left) > 0 {
		t.Fatalf("dockerd stopped and left mounts under its directory: %q", left)
	}
	t.Logf("dockerd stopped in %v (%v)", time.Since(start).Round(time.Millisecond), e.waitErr)
}

// kill is the cleanup: the engine's process group killed if it is still
// running, and whatever it left mounted under its directory detached, so
// that removing the directory cannot reach through a mount.
func (e *engine) kill() {
	select {
	case <-e.exited:
	default:
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			e.t.Errorf("dockerd (pid %d) did not die of SIGKILL", e.cmd.Process.Pid)
		}
	}
	left := mountsUnder(e.t, e.dir)
	for i := len(left) - 1; i >= 0; i-- {
		forceUnmount(left[i])
	}
}

// mountsUnder lists the mount points at or under dir, in mount order.
func mountsUnder(t testing.TB, dir string) []string {
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, dir+"/") {
			out = append(out, m.MountPoint)
		}
	}
	return out
}

func (e *engine) logTail() string {
	data, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
}

// docker runs the docker client against the engine and returns its
// standard output; a failure fails the test.
func (e *engine) docker(args ...string) string {
	e.t.Helper()
	var out bytes.Buffer
	e.dockerCmd(&out, args...)
	return out.String()
}

// dockerTo is docker with its standard output in file.
func (e *engine) dockerTo(file string, args ...string) {
	e.t.Helper()
	f, err := os.Create(file)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	e.dockerCmd(f, args...)
}

func (e *engine) dockerCmd(stdout io.Writer, args ...string) {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.client, args...)
	// The legacy builder: BuildKit is another program, and not needed.
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_BUILDKIT=0",
		"DOCKER_CONFIG="+filepath.Join(e.dir, "client"), "DOCKER_CLI_HINTS=false")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		o := "(in a file)"
		if b, ok := stdout.(*bytes.Buffer); ok {
			if o = b.String(); len(o) > 3000 {
				o = "..." + o[len(o)-3000:]
			}
		}
		t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s\ndockerd's log:\n%s", strings.Join(args, " "), err, o, errb.String(), e.logTail())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("docker %s: %v", args[0], d.Round(time.Millisecond))
	}
}

// requireStaticBusybox finds a busybox that runs without a libc (Debian's
// busybox-static puts one at /bin/busybox; the busybox package's is
// dynamic and cannot run in an image that has no libc).
func requireStaticBusybox(t *testing.T) string {
	t.Helper()
	p := testenv.Tool(t, "busybox")
	f, err := elf.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			testenv.Require(t, false, "%s is dynamically linked; the test's image has no libc (install busybox-static)", p)
		}
	}
	return p
}

// engineEpoch is the mtime of the base's entries.
var engineEpoch = time.Date(2016, 6, 1, 10, 0, 0, 0, time.UTC)

// writeEngineRootfs writes the base image's tar: busybox and the applets
// the steps use, and files for the steps to change, delete and replace,
// with hard links, odd modes and owners, and extended attributes
// (security.capability, user.* and trusted.*) that docker import keeps.
func writeEngineRootfs(t *testing.T, busybox string) string {
	t.Helper()
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		h.Format = tar.FormatPAX
		if h.ModTime.IsZero() {
			h.ModTime = engineEpoch
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	dir := func(name string, mode int64) {
		add(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode}, nil)
	}
	file := func(name, content string, mode int64) {
		add(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode}, []byte(content))
	}
	for _, d := range []string{"bin", "etc", "usr", "usr/bin", "usr/share", "usr/share/doc", "var", "var/lib", "var/lib/app", "opt", "opt/gone"} {
		dir(d, 0755)
	}
	dir("tmp", 01777)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0755}, bb)
	for _, applet := range []string{"sh", "cat", "chmod", "chown", "echo", "ln", "ls", "mkdir", "mkfifo", "mknod", "rm", "touch", "true"} {
		add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0777}, nil)
	}
	file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n", 0644)
	file("etc/group", "root:x:0:\n", 0644)
	file("etc/motd", "welcome\n", 0644)
	file("var/lib/app/a", "a\n", 0644)
	file("var/lib/app/b", "b\n", 0644)
	file("opt/gone/x", "x\n", 0644)
	file("usr/share/doc/README", "doc\n", 0644)
	file("usr/bin/hl1", "linked\n", 0755)
	add(&tar.Header{Name: "usr/bin/hl2", Typeflag: tar.TypeLink, Linkname: "usr/bin/hl1"}, nil)
	add(&tar.Header{Name: "secret", Typeflag: tar.TypeReg, Mode: 0, Uid: 65534, Gid: 65534}, []byte("s\n"))
	add(&tar.Header{Name: "ping", Typeflag: tar.TypeReg, Mode: 0755, PAXRecords: map[string]string{
		"SCHILY.xattr.security.capability": capNetRaw(), "SCHILY.xattr.user.mime": "text/plain"}}, []byte("ping\n"))
	add(&tar.Header{Name: "xf", Typeflag: tar.TypeReg, Mode: 0644, PAXRecords: map[string]string{
		"SCHILY.xattr.user.foo": "bar", "SCHILY.xattr.trusted.t": "y"}}, []byte("x\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0644); err != nil {
		t.Fatal(err)
	}
	return p
}

// xattrHelperSource is a static program for the images: "xattrs set PATH
// NAME HEX" sets an attribute (busybox has no setfattr); "xattrs dump"
// prints every path of the container's tree, but for /proc, /sys, /dev
// and the files Docker bind-mounts over (/etc/hostname, /etc/hosts,
// /etc/resolv.conf), with its extended attributes.
const xattrHelperSource = `package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

func llistxattr(p string) ([]string, error) {
	pp, err := syscall.BytePtrFromString(p)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<16)
	n, _, e := syscall.Syscall(syscall.SYS_LLISTXATTR, uintptr(unsafe.Pointer(pp)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if e == syscall.ENOTSUP {
		return nil, nil
	}
	if e != 0 {
		return nil, e
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names, nil
}

func lgetxattr(p, name string) ([]byte, error) {
	pp, err := syscall.BytePtrFromString(p)
	if err != nil {
		return nil, err
	}
	np, err := syscall.BytePtrFromString(name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<16)
	n, _, e := syscall.Syscall6(syscall.SYS_LGETXATTR, uintptr(unsafe.Pointer(pp)), uintptr(unsafe.Pointer(np)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return nil, e
	}
	return buf[:n], nil
}

var skip = map[string]bool{"/proc": true, "/sys": true, "/dev": true, "/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true}

func dump() error {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	return filepath.WalkDir("/", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip[p] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p == "/" {
			return nil
		}
		rel := strconv.Quote(strings.TrimPrefix(p, "/"))
		names, err := llistxattr(p)
		if err != nil {
			return fmt.Errorf("listxattr %s: %w", p, err)
		}
		fmt.Fprintf(w, "PATH\t%s\n", rel)
		for _, name := range names {
			v, err := lgetxattr(p, name)
			if err != nil {
				return fmt.Errorf("getxattr %s %s: %w", p, name, err)
			}
			fmt.Fprintf(w, "XATTR\t%s\t%s\t%x\n", rel, strconv.Quote(name), v)
		}
		return nil
	})
}

func main() {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == "set":
		var v []byte
		if v, err = hex.DecodeString(os.Args[4]); err == nil {
			err = syscall.Setxattr(os.Args[2], os.Args[3], v, 0)
		}
	case len(os.Args) == 2 && os.Args[1] == "dump":
		err = dump()
	default:
		fmt.Fprintln(os.Stderr, "usage: xattrs set PATH NAME HEX | xattrs dump")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xattrs:", err)
		os.Exit(1)
	}
}
`

// buildXattrHelper builds xattrHelperSource, static, for the images.
func buildXattrHelper(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(xattrHelperSource), 0644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module xattrs\n\ngo 1.21\n"), 0644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "xattrs")
	// Built as TestMain builds aufsmount, so that the two share the
	// build cache.
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the xattrs helper: %v\n%s", err, b)
	}
	return out
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// writeEngineArchive writes what docker save writes, for an image made
// elsewhere, as a pull would bring it: the base's tar as its first layer,
// and a second one with a whiteout of a file, of a directory and of one
// name of a hard-link pair, an opaque directory (the .wh..wh..opq marker
// as Docker's own exporter writes it, first in its directory), and the
// xattrs helper. docker load unpacks each layer into the driver's own
// encoding, as a pull does; a built image's layers come from the driver's
// diff of a container instead.
func writeEngineArchive(t *testing.T, rootfs, helper string) string {
	t.Helper()
	base, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	when := engineEpoch.Add(24 * time.Hour)
	writeTar := func(entries func(add func(name string, typ byte, mode int64, data []byte))) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		entries(func(name string, typ byte, mode int64, data []byte) {
			h := &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: int64(len(data)), ModTime: when, Format: tar.FormatPAX}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(data); err != nil {
				t.Fatal(err)
			}
		})
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	top := writeTar(func(add func(string, byte, int64, []byte)) {
		dir := func(name string) { add(name, tar.TypeDir, 0755, nil) }
		dir("etc/")
		add("etc/.wh.motd", tar.TypeReg, 0644, nil)
		dir("opt/")
		add("opt/.wh.gone", tar.TypeReg, 0644, nil)
		dir("usr/")
		dir("usr/bin/")
		add("usr/bin/.wh.hl1", tar.TypeReg, 0644, nil)
		dir("usr/local/")
		dir("usr/local/bin/")
		add("usr/local/bin/xattrs", tar.TypeReg, 0755, hb)
		dir("var/")
		dir("var/lib/")
		dir("var/lib/app/")
		add("var/lib/app/.wh..wh..opq", tar.TypeReg, 0644, nil)
		add("var/lib/app/new", tar.TypeReg, 0644, []byte("new\n"))
	})
	diffID := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux", "created": when.Format(time.RFC3339),
		"config": map[string]any{"Cmd": []string{"sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID(base), diffID(top)}},
		"history": []map[string]string{
			{"created": engineEpoch.Format(time.RFC3339), "created_by": "the base"},
			{"created": when.Format(time.RFC3339), "created_by": "a layer from elsewhere"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{engineLoaded}, "Layers": []string{"base/layer.tar", "top/layer.tar"}}})
	if err != nil {
		t.Fatal(err)
	}
	archive := writeTar(func(add func(string, byte, int64, []byte)) {
		add("base/", tar.TypeDir, 0755, nil)
		add("base/layer.tar", tar.TypeReg, 0644, base)
		add("top/", tar.TypeDir, 0755, nil)
		add("top/layer.tar", tar.TypeReg, 0644, top)
		add("config.json", tar.TypeReg, 0644, config)
		add("manifest.json", tar.TypeReg, 0644, manifest)
	})
	p := filepath.Join(t.TempDir(), "loaded.tar")
	if err := os.WriteFile(p, archive, 0644); err != nil {
		t.Fatal(err)
	}
	return p
}
