package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Bad and hostile stores, through the binary: each either mounts the
// right view or fails with one error line naming the file at fault (exit
// 1, nothing mounted), never a crash, never a host file in the view, and
// nothing under the store written.

// hostileFixture is a sound store that a case then breaks: the image
// hostile/app:v1 (three layers), other:v1 on the same base layer, and the
// container box made from hostile/app:v1.
type hostileFixture struct {
	b          *st.Built
	img, other *st.Image
	ctr        *st.Container
}

const hostileRef = "hostile/app:v1"

func newHostileFixture(t testing.TB, layout layerstore.Layout) *hostileFixture {
	t.Helper()
	base := l(st.F("etc/os-release", "base os"), st.F("bin/sh", "sh"), st.F("var/lib/base", "b"))
	mid := l(st.F("usr/bin/app", "app"), st.F("etc/mid.conf", "mid"))
	top := l(st.F("etc/app.conf", "conf"), st.WH("bin/sh"))
	img := &st.Image{Names: []string{hostileRef}, Layers: []*st.Layer{base, mid, top}}
	other := &st.Image{Names: []string{"other:v1"}, Layers: []*st.Layer{base, l(st.F("other/x", "x"))}}
	ctr := &st.Container{Name: "box", Image: img, RW: l(st.F("root/.history", "ls"))}
	b := writeTestStore(t, &st.Store{Images: []*st.Image{img, other}, Containers: []*st.Container{ctr}}, layout)
	return &hostileFixture{b: b, img: img, other: other, ctr: ctr}
}

func (f *hostileFixture) graph() bool { return f.b.Layout == layerstore.LayoutGraph }

func (f *hostileFixture) path(elem ...string) string {
	return filepath.Join(append([]string{f.b.Root}, elem...)...)
}

// id is the directory name of layer i of the image, 0 being the top.
func (f *hostileFixture) id(i int) string { return filepath.Base(f.b.Chain[f.img][i]) }

func (f *hostileFixture) diffDir(i int) string    { return f.b.Chain[f.img][i] }
func (f *hostileFixture) layersFile(i int) string { return f.path("aufs", "layers", f.id(i)) }

func (f *hostileFixture) tagFile() string {
	if f.graph() {
		return f.path("repositories-aufs")
	}
	return f.path("image", "aufs", "repositories.json")
}

// graphFile is graph/<id of layer i>/name (pre-1.10).
func (f *hostileFixture) graphFile(i int, name string) string { return f.path("graph", f.id(i), name) }

// layerdbFile is layerdb/sha256/<chain id of layer i>/name (1.10+).
func (f *hostileFixture) layerdbFile(i int, name string) string {
	return f.path("image", "aufs", "layerdb", "sha256", strings.TrimPrefix(f.b.ChainIDs[f.img][i], "sha256:"), name)
}

func (f *hostileFixture) configFile() string {
	return f.path("image", "aufs", "imagedb", "content", "sha256", f.b.ImageID[f.img])
}

// imageMeta is the file that describes layer i: its graph json, or (1.10+)
// the image config.
func (f *hostileFixture) imageMeta(i int) string {
	if f.graph() {
		return f.graphFile(i, "json")
	}
	return f.configFile()
}

func (f *hostileFixture) cid() string { return f.b.ContainerID[f.ctr] }

func (f *hostileFixture) containerConfig() string {
	name := "config.v2.json"
	if f.graph() {
		name = "config.json"
	}
	return f.path("containers", f.cid(), name)
}

func (f *hostileFixture) mountsFile(name string) string {
	return f.path("image", "aufs", "layerdb", "mounts", f.cid(), name)
}

// setTag rewrites the tag store with hostile/app:v1 naming target, as is.
func (f *hostileFixture) setTag(t testing.TB, target string) string {
	t.Helper()
	otherID := f.b.ImageID[f.other]
	repos := map[string]map[string]string{}
	if f.graph() {
		repos["hostile/app"] = map[string]string{"v1": target}
		repos["other"] = map[string]string{"v1": otherID}
	} else {
		repos["hostile/app"] = map[string]string{hostileRef: target}
		repos["other"] = map[string]string{"other:v1": "sha256:" + otherID}
	}
	data, err := json.Marshal(map[string]any{"Repositories": repos})
	if err != nil {
		t.Fatal(err)
	}
	hostileWrite(t, f.tagFile(), data)
	return f.tagFile()
}

// newConfig stores data as an image config under its own digest and
// tags it hostile/app:v1 (1.10+): the config is then the image's, however
// broken.
func (f *hostileFixture) newConfig(t testing.TB, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	p := f.path("image", "aufs", "imagedb", "content", "sha256", id)
	hostileWrite(t, p, data)
	f.setTag(t, "sha256:"+id)
	return p
}

// editConfig changes the image config and stores it as a new image.
func (f *hostileFixture) editConfig(t testing.TB, edit func(map[string]any)) string {
	t.Helper()
	m := hostileReadJSON(t, f.configFile())
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return f.newConfig(t, data)
}

func hostileReadJSON(t testing.TB, p string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return m
}

// editJSON rewrites a JSON object file in place.
func hostileEditJSON(t testing.TB, p string, edit func(map[string]any)) string {
	t.Helper()
	m := hostileReadJSON(t, p)
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	hostileWrite(t, p, data)
	return p
}

func hostileWrite(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0600); err != nil {
		t.Fatal(err)
	}
}

func hostileRead(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// truncate cuts a file to its first n bytes.
func hostileTruncate(t testing.TB, p string, n int) string {
	t.Helper()
	hostileWrite(t, p, hostileRead(t, p)[:n])
	return p
}

func hostileRemove(t testing.TB, p string) string {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceWithSymlink puts a symlink to target where p was.
func hostileSymlink(t testing.TB, p, target string) string {
	t.Helper()
	hostileRemove(t, p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// grow makes p a sparse file of size bytes: larger than any limit, cheap
// to make.
func hostileGrow(t testing.TB, p string, size int64) string {
	t.Helper()
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// layerLines is the content of an aufs/layers file listing ids.
func layerLines(ids ...string) []byte {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id + "\n")
	}
	return []byte(b.String())
}

// hostileCase breaks a store in one way. corrupt returns what the error
// line must name: the file at fault (or the reference, when the fault is
// that nothing has the name).
type hostileCase struct {
	name   string
	layout layerstore.Layout // 0: both layouts
	ctr    bool              // mount the container (by id), not the image
	// recovers says the metadata broken is not needed: the chain is known
	// from the driver's and the layer store's own files (layerstore's
	// recover.go), so the view mounts, the same as before, with a
	// warning naming the file at fault.
	recovers bool
	corrupt  func(t testing.TB, f *hostileFixture) string
}

// runHostile runs every case on a fresh store of each layout it applies to.
func runHostile(t *testing.T, cases []hostileCase) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		for _, c := range cases {
			if c.layout != 0 && c.layout != layout {
				continue
			}
			t.Run(fmt.Sprintf("%v/%s", layout, c.name), func(t *testing.T) {
				t.Parallel()
				f := newHostileFixture(t, layout)
				file := c.corrupt(t, f)
				ref := hostileRef
				if c.ctr {
					ref = f.cid()
				}
				if c.recovers {
					wantMountRecovered(t, f, ref, file)
					return
				}
				wantMountError(t, f.b.Root, ref, file)
			})
		}
	}
}

// wantMountError mounts ref and wants one error line naming file, nothing
// mounted, and nothing under the store changed; images must not crash.
func wantMountError(t *testing.T, root, ref, file string) {
	t.Helper()
	before := storeSnapshot(t, root)
	mnt := t.TempDir()
	stdout, stderr, code := run(t, "--root", root, "mount", ref, mnt)
	if isMounted(t, mnt) {
		forceUnmount(mnt)
		t.Fatalf("mounted a broken store: exit %d, stderr %q", code, stderr)
	}
	wantErrorLine(t, "mount", stdout, stderr, code, file)
	if empty, err := dirIsEmpty(mnt); !empty {
		t.Errorf("the mount point is not left empty (%v)", err)
	}
	// Listing the store must not crash either: it warns, or fails in one line.
	stdout, stderr, code = run(t, "--root", root, "images")
	noCrash(t, "images", stdout+stderr)
	if code != 0 && code != 1 {
		t.Errorf("images: exit %d: %s", code, stderr)
	}
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, "aufsmount: ") {
			t.Errorf("images: stderr line %q does not start with \"aufsmount: \"", line)
		}
	}
	after := storeSnapshot(t, root)
	if diffs := diffTrees(before, after, nil); len(diffs) > 0 {
		t.Errorf("the store changed:\n%s", strings.Join(head(diffs, 10), "\n"))
	}
}

// wantMountRecovered mounts ref and wants the view it had before the
// store was broken, a warning naming file, and nothing under the store
// changed.
func wantMountRecovered(t *testing.T, f *hostileFixture, ref, file string) {
	t.Helper()
	before := storeSnapshot(t, f.b.Root)
	mnt := t.TempDir()
	stdout, stderr, code := run(t, "--root", f.b.Root, "mount", ref, mnt)
	if code != 0 {
		t.Fatalf("mount %s: exit %d, stderr %q: want the chain recovered", ref, code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, mnt) })
	noCrash(t, "mount", stdout+stderr)
	if stdout != "" || !strings.HasPrefix(stderr, "aufsmount: warning: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, file) {
		t.Errorf("mount %s: stdout %q, stderr %q: want one warning naming %s", ref, stdout, stderr, file)
	}
	switch ref {
	case hostileRef:
		checkDaemonView(t, mnt, f.b.ChainLayers[f.img], f.b.Chain[f.img])
	case f.cid():
		want := withBinds(t, f.b, f.ctr, containerExpect(t, f.b, f.ctr), nil)
		if diffs := diffTrees(want, walk(t, mnt), nil); len(diffs) > 0 {
			t.Errorf("%d differences:\n%s", len(diffs), strings.Join(head(diffs, 30), "\n"))
		}
	}
	daemonUnmount(t, mnt)
	if diffs := diffTrees(before, storeSnapshot(t, f.b.Root), nil); len(diffs) > 0 {
		t.Errorf("the store changed:\n%s", strings.Join(head(diffs, 10), "\n"))
	}
}

// wantErrorLine checks a failed command: exit 1, nothing on stdout, and
// exactly one line on stderr that names file.
func wantErrorLine(t *testing.T, what, stdout, stderr string, code int, file string) {
	t.Helper()
	noCrash(t, what, stdout+stderr)
	if code != 1 {
		t.Errorf("%s: exit %d, want 1; stderr: %q", what, code, stderr)
	}
	if stdout != "" {
		t.Errorf("%s: printed %q on stdout", what, stdout)
	}
	if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "aufsmount: ") {
		t.Errorf("%s: stderr is not one line \"aufsmount: ...\": %q", what, stderr)
	}
	if !strings.Contains(stderr, file) {
		t.Errorf("%s: the error does not name %s: %q", what, file, stderr)
	}
}

// storeSnapshot records what a write to a store would change: every
// entry's type, mode, owner, size, link count, mtime and ctime (a write
// moves them, and nothing can set ctime back), and link targets.
func storeSnapshot(t testing.TB, root string) map[string]info {
	t.Helper()
	tree := map[string]info{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var sb unix.Stat_t
		if err := unix.Lstat(p, &sb); err != nil {
			return err
		}
		in := info{Mode: sb.Mode, UID: sb.Uid, GID: sb.Gid, Size: sb.Size, Nlink: uint64(sb.Nlink), Mtime: sb.Mtim, Ctime: sb.Ctim, Ino: sb.Ino}
		if d.Type()&os.ModeSymlink != 0 {
			if in.Target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		tree[p] = in
		return nil
	})
	if err != nil {
		t.Fatalf("taking stock of the store %s: %v", root, err)
	}
	return tree
}

// Bad values for a file that names an id.
var badIDs = []struct{ name, value string }{
	{"../..", "../.."},
	{"an absolute path", "/etc"},
	{"a non-hex id", strings.Repeat("g", 64)},
}

func TestHostileJSON(t *testing.T) {
	cases := []hostileCase{
		{name: "tag store truncated", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.tagFile(), 25)
		}},
		{name: "tag store empty", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.tagFile(), 0)
		}},
		{name: "tag store of the wrong shape", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.tagFile(), []byte(`{"Repositories": {"hostile/app": ["v1"]}}`))
			return f.tagFile()
		}},
		{name: "tag store not JSON", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.tagFile(), []byte("\x00\xff\xfe not json"))
			return f.tagFile()
		}},
		{name: "image metadata truncated", recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.imageMeta(0), 40)
		}},
		{name: "image metadata of the wrong shape", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.imageMeta(0), []byte(`{"id": 5, "parent": ["x"]}`))
			return f.imageMeta(0)
		}},
		{name: "image config of the wrong shape", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return f.newConfig(t, []byte(`{"rootfs": "layers", "history": 7}`))
		}},
		{name: "image config invalid but named by its digest", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return f.newConfig(t, []byte(`{"rootfs": {"type": "layers", "diff_ids": [`))
		}},
		{name: "middle layer metadata truncated", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.graphFile(1, "json"), 10)
		}},
		{name: "base layer metadata not JSON", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.graphFile(2, "json"), []byte("}{"))
			return f.graphFile(2, "json")
		}},
		{name: "layerdb diff not a digest", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(1, "diff"), []byte(`{"sha256": "x"}`))
			return f.layerdbFile(1, "diff")
		}},
		// A container's layers are its own to know: its image's metadata is
		// not needed for them.
		{name: "container of an image whose metadata is truncated", ctr: true, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.imageMeta(0), 40)
		}},
		{name: "container of an image whose config is gone", layout: layerstore.LayoutCAS, ctr: true, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileRemove(t, f.configFile())
			return f.containerConfig() // it names an image that is gone
		}},
		{name: "container config truncated", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.containerConfig(), 30)
		}},
		{name: "container config of the wrong shape", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.containerConfig(), []byte(`{"ID": ["x"], "Image": 1}`))
			return f.containerConfig()
		}},
	}
	runHostile(t, cases)
}

func TestHostileNames(t *testing.T) {
	var cases []hostileCase
	// The tag store and aufs/layers get every bad value.
	for _, bad := range badIDs {
		v := bad.value
		cases = append(cases,
			hostileCase{name: "tag names " + bad.name, corrupt: func(t testing.TB, f *hostileFixture) string {
				return f.setTag(t, v)
			}},
			hostileCase{name: "tag names sha256:" + bad.name, layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
				return f.setTag(t, "sha256:"+v)
			}},
			hostileCase{name: "layers file names " + bad.name, corrupt: func(t testing.TB, f *hostileFixture) string {
				hostileWrite(t, f.layersFile(0), layerLines(v, f.id(2)))
				return f.layersFile(0)
			}},
		)
	}
	// Every other file that names an id gets one of them, in turn.
	bad := func(i int) string { return badIDs[i%len(badIDs)].value }
	others := []hostileCase{
		{name: "image json id", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileEditJSON(t, f.graphFile(0, "json"), func(m map[string]any) { m["id"] = bad(0) })
		}},
		{name: "image json parent", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileEditJSON(t, f.graphFile(0, "json"), func(m map[string]any) { m["parent"] = bad(1) })
		}},
		{name: "parent file", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.graphFile(0, "parent"), []byte(bad(2)))
			return f.graphFile(0, "parent")
		}},
		{name: "container image", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileEditJSON(t, f.containerConfig(), func(m map[string]any) { m["Image"] = bad(0) })
		}},
		{name: "config diff_id", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return f.editConfig(t, func(m map[string]any) {
				m["rootfs"].(map[string]any)["diff_ids"].([]any)[1] = "sha256:" + bad(1)
			})
		}},
		{name: "cache-id", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(1, "cache-id"), []byte(bad(0)))
			return f.layerdbFile(1, "cache-id")
		}},
		{name: "layerdb parent", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(1, "parent"), []byte("sha256:"+bad(2)))
			return f.layerdbFile(1, "parent")
		}},
		{name: "mount-id", layout: layerstore.LayoutCAS, ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.mountsFile("mount-id"), []byte(bad(1)))
			return f.mountsFile("mount-id")
		}},
		{name: "init-id", layout: layerstore.LayoutCAS, ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.mountsFile("init-id"), []byte(bad(2)))
			return f.mountsFile("init-id")
		}},
	}
	for _, c := range others {
		c.name += " not an id"
		cases = append(cases, c)
	}
	runHostile(t, cases)
}

func TestHostileMissing(t *testing.T) {
	cases := []hostileCase{
		{name: "middle diff directory", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.diffDir(1))
		}},
		{name: "top diff directory", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.diffDir(0))
		}},
		{name: "base diff directory", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.diffDir(2))
		}},
		{name: "layers file", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.layersFile(0))
		}},
		{name: "middle layer json", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.graphFile(1, "json"))
		}},
		{name: "middle layer graph directory", layout: layerstore.LayoutGraph, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileRemove(t, f.path("graph", f.id(1)))
			return f.graphFile(0, "json") // it names the parent that is gone
		}},
		{name: "image config", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileRemove(t, f.configFile())
			return f.tagFile() // it tags an image that is gone
		}},
		{name: "cache-id", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.layerdbFile(1, "cache-id"))
		}},
		{name: "empty cache-id", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.layerdbFile(1, "cache-id"), 0)
		}},
		{name: "layerdb entry", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, filepath.Dir(f.layerdbFile(1, "cache-id")))
		}},
		{name: "layerdb parent", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.layerdbFile(0, "parent"))
		}},
		{name: "container config", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.containerConfig())
		}},
		{name: "mount-id", layout: layerstore.LayoutCAS, ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.mountsFile("mount-id"))
		}},
		{name: "container's writable layer", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.b.ContainerChain[f.ctr][0])
		}},
		{name: "container's init layer", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileRemove(t, f.b.ContainerChain[f.ctr][1])
		}},
		{name: "tag store", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileRemove(t, f.tagFile())
			return hostileRef + ": not found"
		}},
	}
	runHostile(t, cases)
}

func TestHostileCycles(t *testing.T) {
	cases := []hostileCase{
		{name: "graph json parent loops to the top", layout: layerstore.LayoutGraph, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileEditJSON(t, f.graphFile(2, "json"), func(m map[string]any) { m["parent"] = f.id(0) })
		}},
		{name: "graph json is its own parent", layout: layerstore.LayoutGraph, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileEditJSON(t, f.graphFile(1, "json"), func(m map[string]any) { m["parent"] = f.id(1) })
		}},
		{name: "graph parent file loops to the top", layout: layerstore.LayoutGraph, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.graphFile(2, "parent"), []byte(f.id(0)+"\n"))
			return f.graphFile(2, "parent")
		}},
		{name: "layerdb parent loops to the top", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(2, "parent"), []byte(f.b.ChainIDs[f.img][0]))
			return f.layerdbFile(2, "parent")
		}},
		{name: "layerdb entry is its own parent", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(1, "parent"), []byte(f.b.ChainIDs[f.img][1]))
			return f.layerdbFile(1, "parent")
		}},
		{name: "aufs layers lists the layer itself", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layersFile(0), layerLines(f.id(1), f.id(0), f.id(2)))
			return f.layersFile(0)
		}},
		{name: "aufs layers lists a layer twice", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layersFile(0), layerLines(f.id(1), f.id(2), f.id(1)))
			return f.layersFile(0)
		}},
	}
	runHostile(t, cases)
}

func TestHostileDisagree(t *testing.T) {
	cases := []hostileCase{
		{name: "aufs layers swapped", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layersFile(0), layerLines(f.id(2), f.id(1)))
			return f.layersFile(0)
		}},
		{name: "aufs layers misses one", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layersFile(0), layerLines(f.id(1)))
			return f.layersFile(0)
		}},
		{name: "aufs layers has an extra one", corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layersFile(0), layerLines(f.id(1), f.id(2), filepath.Base(f.b.Chain[f.other][0])))
			return f.layersFile(0)
		}},
		{name: "aufs layers empty", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.layersFile(0), 0)
		}},
		{name: "aufs layers cut mid-line", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileTruncate(t, f.layersFile(0), 65+30)
		}},
		{name: "parent file skips a layer", layout: layerstore.LayoutGraph, corrupt: func(t testing.TB, f *hostileFixture) string {
			// The parent file overrides the json; aufs/layers still lists the middle layer.
			hostileWrite(t, f.graphFile(0, "parent"), []byte(f.id(2)))
			return f.layersFile(0)
		}},
		{name: "layerdb diff disagrees with the config", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(1, "diff"), []byte("sha256:"+strings.Repeat("ab", 32)))
			return f.layerdbFile(1, "diff")
		}},
		{name: "layerdb parent skips a layer", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.layerdbFile(0, "parent"), []byte(f.b.ChainIDs[f.img][2]))
			return f.layerdbFile(0, "parent")
		}},
		{name: "container mount parent is another layer", layout: layerstore.LayoutCAS, ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			hostileWrite(t, f.mountsFile("parent"), []byte(f.b.ChainIDs[f.img][1]))
			return f.mountsFile("parent")
		}},
		{name: "container layers file skips its init layer", ctr: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			rw := filepath.Base(f.b.ContainerChain[f.ctr][0])
			p := f.path("aufs", "layers", rw)
			hostileWrite(t, p, layerLines(f.id(0), f.id(1), f.id(2)))
			return p
		}},
	}
	runHostile(t, cases)
}

// TestHostileFileTypes puts symlinks, fifos, oversized files and the
// wrong kind of file where the store has its metadata and layers.
func TestHostileFileTypes(t *testing.T) {
	cases := []hostileCase{
		{name: "tag store is a symlink to a host file", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileSymlink(t, f.tagFile(), "/etc/passwd")
		}},
		{name: "image metadata is a symlink", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileSymlink(t, f.graphFile(1, "json"), "/etc/passwd")
		}},
		{name: "layer metadata is a symlink", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileSymlink(t, f.layerdbFile(1, "cache-id"), "/etc/hostname")
		}},
		{name: "layers file is a fifo", corrupt: func(t testing.TB, f *hostileFixture) string {
			p := hostileRemove(t, f.layersFile(0))
			if err := unix.Mkfifo(p, 0600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "layers file is a directory", corrupt: func(t testing.TB, f *hostileFixture) string {
			p := hostileRemove(t, f.layersFile(0))
			if err := os.Mkdir(p, 0700); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "layers file larger than any chain", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileGrow(t, f.layersFile(0), 17<<20)
		}},
		{name: "image json larger than any image", layout: layerstore.LayoutGraph, recovers: true, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileGrow(t, f.graphFile(1, "json"), 64<<20+1)
		}},
		{name: "cache-id larger than an id", layout: layerstore.LayoutCAS, corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileGrow(t, f.layerdbFile(1, "cache-id"), 5000)
		}},
		{name: "diff directory is a symlink to the host root", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileSymlink(t, f.diffDir(1), "/")
		}},
		{name: "diff directory is a symlink to another layer", corrupt: func(t testing.TB, f *hostileFixture) string {
			return hostileSymlink(t, f.diffDir(1), f.id(0))
		}},
		{name: "diff directory is a file", corrupt: func(t testing.TB, f *hostileFixture) string {
			p := hostileRemove(t, f.diffDir(2))
			hostileWrite(t, p, []byte("not a layer"))
			return p
		}},
	}
	runHostile(t, cases)
}

func TestHostileEmptyStore(t *testing.T) {
	testenv.FUSE(t)
	t.Run("empty directory", func(t *testing.T) {
		root := t.TempDir()
		wantMountError(t, root, "busybox", root)
	})
	for _, layout := range layouts {
		t.Run(fmt.Sprintf("%v with no image", layout), func(t *testing.T) {
			b := writeTestStore(t, &st.Store{}, layout)
			wantMountError(t, b.Root, "busybox", "busybox: not found")
			stdout, stderr, code := run(t, "--root", b.Root, "images", "--json")
			if code != 0 || strings.TrimSpace(stdout) != "[]" || stderr != "" {
				t.Errorf("images --json: exit %d, stdout %q, stderr %q; want 0, [], nothing", code, stdout, stderr)
			}
		})
	}
}

func TestHostileRootNotDirectory(t *testing.T) {
	testenv.FUSE(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	hostileWrite(t, file, []byte("{}"))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for name, root := range map[string]string{
		"regular file":         file,
		"symlink to a file":    link,
		"character device":     "/dev/null",
		"missing":              filepath.Join(dir, "missing"),
		"below a regular file": filepath.Join(file, "docker"),
	} {
		t.Run(name, func(t *testing.T) {
			mnt := t.TempDir()
			stdout, stderr, code := run(t, "--root", root, "mount", "busybox", mnt)
			if isMounted(t, mnt) {
				forceUnmount(mnt)
				t.Fatal("mounted")
			}
			wantErrorLine(t, "mount", stdout, stderr, code, root)
		})
	}
}

// TestHostileLongChain mounts an image of 1,000 small layers: every file
// from the layer the rules pick, whiteouts deep in the chain included.
func TestHostileLongChain(t *testing.T) {
	testenv.FUSE(t)
	const n = 1000
	layers := make([]*st.Layer, n)
	for i := range layers {
		es := []st.Entry{st.F(fmt.Sprintf("l/%04d", i), fmt.Sprint(i)), st.F("shared", fmt.Sprint(i))}
		if i%100 == 50 {
			es = append(es, st.WH(fmt.Sprintf("l/%04d", i-1)))
		}
		if i%250 == 0 {
			es = append(es, st.D(fmt.Sprintf("d%d", i)), st.F(fmt.Sprintf("d%d/f", i), "f"))
		}
		layers[i] = l(es...)
	}
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"long/chain:latest"}, Layers: layers}
			b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layout)
			if got := len(b.Chain[img]); got != n {
				t.Fatalf("the store has %d layers, want %d", got, n)
			}
			mnt := daemonMount(t, b.Root, "long/chain:latest")
			for p, want := range map[string]string{"shared": "999", "l/0000": "0", "l/0500": "500", "l/0998": "998", "l/0999": "999", "d750/f": "f"} {
				if got, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", p, got, err, want)
				}
			}
			for _, p := range []string{"l/0049", "l/0549", "l/0949"} {
				if _, err := os.Lstat(filepath.Join(mnt, p)); !isErrnoOf(err, syscall.ENOENT) {
					t.Errorf("%s is whited out, but Lstat says %v", p, err)
				}
			}
			checkDaemonView(t, mnt, b.ChainLayers[img], b.Chain[img])
		})
	}
}

// TestHostileHostSymlinks has layers whose symlinks point at the host,
// under same-named directories in the layers above: the view shows the
// links as links and the directories as directories, and nothing of the
// host's.
func TestHostileHostSymlinks(t *testing.T) {
	testenv.FUSE(t)
	layers := []*st.Layer{
		l(st.L("etc", "/etc"), st.L("up", "../../../../etc"), st.L("root", "/"), st.L("deep/x", "/etc"),
			st.L("deep/y", "../../../../../../../../etc/hostname"), st.D("usr/share"), st.F("usr/share/low", "low")),
		l(st.D("etc"), st.F("etc/own", "own file"), st.D("up"), st.F("up/mine", "mine"), st.D("root"),
			st.D("deep/x"), st.L("usr/share", "/usr/share"), st.L("usr/lib", "/usr/lib")),
		l(st.D("usr/share"), st.F("usr/share/top", "top"), st.D("usr/lib"), st.L("etc/hosts", "/etc/hosts"), st.L("up/passwd", "/etc/passwd")),
	}
	host := hostEtcHashes(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"trap:latest"}, Layers: layers}
			b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layout)
			mnt := daemonMount(t, b.Root, "trap:latest")
			checkDaemonView(t, mnt, b.ChainLayers[img], b.Chain[img])
			view := walk(t, mnt)
			for p, in := range view {
				if name, ok := host[in.Hash]; ok && in.Hash != "" {
					t.Errorf("%s has the content of the host's %s", p, name)
				}
			}
			for _, p := range []string{"etc/passwd", "etc/hostname", "up/hostname", "root/etc", "deep/x/passwd", "usr/share/doc", "usr/lib/os-release"} {
				if _, err := os.Lstat(filepath.Join(mnt, p)); !isErrnoOf(err, syscall.ENOENT) {
					t.Errorf("%s: Lstat says %v, want ENOENT", p, err)
				}
			}
			for p, want := range map[string]string{"etc/own": "own file", "up/mine": "mine", "usr/share/top": "top"} {
				if got, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", p, got, err, want)
				}
			}
			for p, want := range map[string]string{"deep/y": "../../../../../../../../etc/hostname", "etc/hosts": "/etc/hosts", "up/passwd": "/etc/passwd"} {
				if got, err := os.Readlink(filepath.Join(mnt, p)); err != nil || got != want {
					t.Errorf("readlink %s: %q, %v; want %q", p, got, err, want)
				}
			}
		})
	}
}

// hostEtcHashes maps the sha256 of each non-empty regular file directly in
// the host's /etc to its name.
func hostEtcHashes(t testing.TB) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/etc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join("/etc", e.Name())
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		sum := sha256.Sum256(data)
		out[hex.EncodeToString(sum[:])] = p
	}
	if len(out) == 0 {
		t.Fatal("no readable file in /etc to look for")
	}
	return out
}

// TestHostileDotWhiteout has whiteouts named .wh.. (and .wh... and .wh.)
// at the root and in a directory: they hide nothing, and never show.
func TestHostileDotWhiteout(t *testing.T) {
	testenv.FUSE(t)
	layers := []*st.Layer{
		l(st.F("a", "a"), st.F("d/b", "b"), st.F("d/e/c", "c")),
		l(st.F(".wh..", ""), st.F(".wh...", ""), st.F(".wh.", ""), st.F("d/.wh..", ""), st.F("d/e/.wh..", ""), st.F("d/.wh..wh..", "")),
	}
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"dots:latest"}, Layers: layers}
			b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layout)
			mnt := daemonMount(t, b.Root, "dots:latest")
			checkDaemonView(t, mnt, b.ChainLayers[img], b.Chain[img])
			for _, p := range []string{"a", "d/b", "d/e/c"} {
				if _, err := os.Lstat(filepath.Join(mnt, p)); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
		})
	}
}

// everyByteNames are one name for each byte 0x01 to 0xff but '/' (the
// byte alone, or "x.x" for '.'), and one 254-byte name holding them all.
func everyByteNames() (single []string, long string) {
	var all []byte
	for b := 1; b <= 0xff; b++ {
		if b == '/' {
			continue
		}
		all = append(all, byte(b))
		if b == '.' {
			single = append(single, "x.x")
		} else {
			single = append(single, string([]byte{byte(b)}))
		}
	}
	return single, string(all)
}

// TestHostileEveryByte has a file for every byte value, and one long name
// holding them all, in a lower and an upper layer, some whited out, some
// replaced by the upper layer, some turned into directories.
func TestHostileEveryByte(t *testing.T) {
	testenv.FUSE(t)
	single, long := everyByteNames()
	var lower, upper []st.Entry
	for _, dir := range []string{"", "in/"} {
		lower = append(lower, st.F(dir+long, "long lower"))
		upper = append(upper, st.F(dir+long, "long upper"))
		for i, name := range single {
			lower = append(lower, st.F(dir+name, fmt.Sprintf("lower %d", i)))
			switch i % 5 {
			case 0:
				upper = append(upper, st.WH(dir+name))
			case 1:
				upper = append(upper, st.F(dir+name, fmt.Sprintf("upper %d", i)))
			case 2:
				upper = append(upper, st.D(dir+name), st.F(dir+name+"/"+long, "inside"))
			}
		}
	}
	layers := []*st.Layer{l(lower...), l(upper...)}
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"bytes:latest"}, Layers: layers}
			b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layout)
			mnt := daemonMount(t, b.Root, "bytes:latest")
			checkDaemonView(t, mnt, b.ChainLayers[img], b.Chain[img])
			view := walk(t, mnt)
			for _, dir := range []string{"", "in/"} {
				for i, name := range single {
					_, shown := view[dir+name]
					if shown == (i%5 == 0) {
						t.Errorf("%q: shown %v, want %v", dir+name, shown, !shown)
					}
				}
				if got, err := os.ReadFile(filepath.Join(mnt, dir+long)); err != nil || string(got) != "long upper" {
					t.Errorf("the long name in %q: %q, %v", dir, got, err)
				}
			}
		})
	}
}
