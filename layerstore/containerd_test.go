package layerstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	bolt "go.etcd.io/bbolt"
)

// cdFixture is a containerd root of three namespaces written by
// storetest: default (ctr's: busybox, a container "web" of it, and an
// image imported without unpacking), k8s.io (an index, a pod's sandbox
// and its container) and moby (Docker 29's, with a Docker container in a
// Docker root beside it).
type cdFixture struct {
	b                 *storetest.CDBuilt
	docker            string
	busybox, app, raw *storetest.CDImage
	pause, moby       *storetest.CDImage
	web, sandbox, ctr *storetest.CDContainer
	dockerCtr         *storetest.CDContainer
}

func newCDFixture(t *testing.T) *cdFixture {
	t.Helper()
	base := storetest.NewLayer("base", storetest.D("bin"), storetest.F("bin/sh", "#!sh"), storetest.D("etc"), storetest.F("etc/passwd", "root:x:0:0"),
		storetest.D("a"), storetest.F("a/x", "x"))
	top := storetest.NewLayer("top", storetest.WH("etc/passwd"), storetest.OPQ("a"), storetest.F("a/y", "y"))
	f := &cdFixture{
		busybox: &storetest.CDImage{Names: []string{"docker.io/library/busybox:latest"}, Layers: []*storetest.Layer{base, top}},
		raw:     &storetest.CDImage{Names: []string{"docker.io/library/raw:1"}, Layers: []*storetest.Layer{storetest.NewLayer("raw", storetest.F("r", "r"))}, NoUnpack: true},
		app:     &storetest.CDImage{Names: []string{"registry.k8s.io/app:2"}, Layers: []*storetest.Layer{base, storetest.NewLayer("app", storetest.F("app", "app"))}, Index: true},
		pause:   &storetest.CDImage{Names: []string{"registry.k8s.io/pause:3.9"}, Layers: []*storetest.Layer{storetest.NewLayer("pause", storetest.F("pause", "p"))}},
		moby:    &storetest.CDImage{Names: []string{"docker.io/library/busybox:latest", "moby-dangling@sha256:" + strings.Repeat("0", 64)}, Layers: []*storetest.Layer{base}},
	}
	f.web = &storetest.CDContainer{ID: "web", Image: f.busybox, RW: storetest.NewLayer("", storetest.F("a/new", "n"), storetest.WH("bin/sh"))}
	f.sandbox = &storetest.CDContainer{ID: strings.Repeat("5", 64), Image: f.pause, Labels: storetest.PodLabels("kube-system", "app-1", "")}
	f.ctr = &storetest.CDContainer{ID: strings.Repeat("c", 64), Image: f.app, Labels: storetest.PodLabels("kube-system", "app-1", "app")}
	f.dockerCtr = &storetest.CDContainer{ID: strings.Repeat("d", 64), Image: f.moby, Docker: true, RW: storetest.NewLayer("", storetest.F("etc/motd", "hi")),
		Init: storetest.NewLayer("", storetest.F(".dockerenv", ""))}
	dir := t.TempDir()
	f.docker = filepath.Join(dir, "docker")
	c := &storetest.Containerd{DockerRoot: f.docker, Namespaces: []*storetest.CDNamespace{
		{Name: "default", Images: []*storetest.CDImage{f.busybox, f.raw}, Containers: []*storetest.CDContainer{f.web}},
		{Name: "k8s.io", Images: []*storetest.CDImage{f.app, f.pause}, Containers: []*storetest.CDContainer{f.sandbox, f.ctr}},
		{Name: "moby", Images: []*storetest.CDImage{f.moby}, Containers: []*storetest.CDContainer{f.dockerCtr}},
	}}
	var err error
	if f.b, err = c.Write(filepath.Join(f.docker, "containerd", "daemon")); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestContainerdImages(t *testing.T) {
	f := newCDFixture(t)
	s, err := layerstore.Open(f.b.Root)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Layout(); got != layerstore.LayoutContainerd {
		t.Errorf("layout %v", got)
	}
	if p := s.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	type row struct{ ns, names, id, note string }
	var got []row
	for _, img := range s.Images() {
		got = append(got, row{img.Namespace, strings.Join(img.Names, ","), img.ID, img.Note})
	}
	hexOf := func(d string) string { return strings.TrimPrefix(d, "sha256:") }
	want := map[string]row{
		"busybox:latest":            {"default", "busybox:latest", hexOf(f.b.Targets[f.busybox]), ""},
		"raw:1":                     {"default", "raw:1", hexOf(f.b.Targets[f.raw]), "not unpacked (no overlayfs snapshot holds its top layer: imported without unpacking, or its snapshots removed): served from its layer blobs"},
		"registry.k8s.io/app:2":     {"k8s.io", "registry.k8s.io/app:2", hexOf(f.b.Targets[f.app]), ""},
		"registry.k8s.io/pause:3.9": {"k8s.io", "registry.k8s.io/pause:3.9", hexOf(f.b.Targets[f.pause]), ""},
		"busybox:latest (moby)":     {"moby", "busybox:latest", hexOf(f.b.Targets[f.moby]), ""},
	}
	if len(got) != len(want) {
		t.Fatalf("images: %v", got)
	}
	for _, r := range got {
		key := r.names
		if r.ns == "moby" {
			key += " (moby)"
		}
		if want[key] != r {
			t.Errorf("image %s: got %+v, want %+v", key, r, want[key])
		}
	}

	// A name in two namespaces is ambiguous; narrowed to one it is not.
	_, err = s.Resolve("busybox")
	var amb *layerstore.AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || !strings.Contains(amb.Candidates[0], "namespace default") || !strings.Contains(amb.Candidates[1], "namespace moby") {
		t.Errorf("busybox: %v", err)
	}
	one, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := one.Resolve("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != 2 || tg.Layers[0].DiffID == "" || tg.Layers[0].TarSplit != "" || tg.Driver != "overlayfs" || len(tg.Stack) != 2 {
		t.Errorf("busybox target: %+v", tg)
	}
	for _, l := range tg.Layers {
		if !strings.HasPrefix(l.Dir, filepath.Join(f.b.Root, "io.containerd.snapshotter.v1.overlayfs", "snapshots")+"/") || filepath.Base(l.Dir) != "fs" {
			t.Errorf("layer dir %s", l.Dir)
		}
	}
	// The config's digest names the image too; its config is its blob.
	if tg2, err := one.Resolve(f.b.Configs[f.busybox]); err != nil || tg2.Image.ID != tg.Image.ID {
		t.Errorf("by config digest: %v", err)
	}
	if tg2, err := one.Resolve(tg.Layers[0].ChainID); err != nil || tg2.Image.ID != tg.Image.ID {
		t.Errorf("by its top chain id: %v", err)
	}
	if cfg, err := one.ImageConfig(tg); err != nil || !strings.Contains(string(cfg), `"diff_ids"`) {
		t.Errorf("config: %v", err)
	}
	// Not unpacked: its layer comes from its blob (containerd_blobs_test.go).
	if tg, err := one.Resolve("raw:1"); err != nil || len(tg.Layers) != 1 || tg.Layers[0].Archive == nil {
		t.Errorf("raw:1: %v", err)
	}
	// The index's manifest for this platform is taken.
	if tg, err := s.Resolve("registry.k8s.io/app:2"); err != nil || len(tg.Layers) != 2 {
		t.Errorf("app: %v", err)
	}
}

func TestContainerdContainers(t *testing.T) {
	f := newCDFixture(t)
	s, err := layerstore.Open(f.b.Root)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ns, name, image string
		sandbox         bool
	}
	got := map[string]row{}
	for _, c := range s.Containers() {
		got[c.ID] = row{c.Namespace, c.Name, c.Image, c.Sandbox}
	}
	want := map[string]row{
		"web":                   {"default", "web", "busybox:latest", false},
		strings.Repeat("5", 64): {"k8s.io", "kube-system/app-1", "registry.k8s.io/pause:3.9", true},
		strings.Repeat("c", 64): {"k8s.io", "kube-system/app-1/app", "registry.k8s.io/app:2", false},
	}
	if len(got) != len(want) {
		t.Errorf("containers: %v", got)
	}
	for id, r := range want {
		if got[id] != r {
			t.Errorf("container %s: got %+v, want %+v", id, got[id], r)
		}
	}
	tg, err := s.Resolve("web")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != 3 || tg.Kind != layerstore.KindContainer {
		t.Errorf("web: %d layers", len(tg.Layers))
	}
	if tg, err := s.Resolve("kube-system/app-1/app"); err != nil || len(tg.Layers) != 3 {
		t.Errorf("app: %v", err)
	}

	// A Docker root: namespace moby, and Docker's containers.
	d, err := layerstore.Open(f.docker)
	if err != nil {
		t.Fatal(err)
	}
	cs := d.Containers()
	if len(cs) != 1 || cs[0].ID != f.dockerCtr.ID || cs[0].Namespace != "moby" || cs[0].Image != "busybox:latest" {
		t.Fatalf("Docker containers: %+v", cs)
	}
	tg, err = d.Resolve(f.dockerCtr.ID[:12])
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != 3 {
		t.Errorf("Docker container: %d layers", len(tg.Layers))
	}
	var binds []string
	for _, b := range tg.Binds {
		binds = append(binds, b.Dest+" "+b.Source)
	}
	id := f.dockerCtr.ID
	if want := "/etc/hostname containers/" + id + "/hostname,/etc/hosts containers/" + id + "/hosts,/etc/resolv.conf containers/" + id + "/resolv.conf"; strings.Join(binds, ",") != want {
		t.Errorf("binds: %q, want %q", binds, want)
	}
	if _, p, err := d.ContainerConfig(tg); err != nil || p != filepath.Join(f.docker, "containers", f.dockerCtr.ID, "config.v2.json") {
		t.Errorf("config: %s %v", p, err)
	}
}

// TestContainerdEvidence: opening and resolving everything writes
// nothing: both databases keep their times and sizes.
func TestContainerdEvidence(t *testing.T) {
	f := newCDFixture(t)
	files := []string{
		filepath.Join(f.b.Root, "io.containerd.metadata.v1.bolt", "meta.db"),
		filepath.Join(f.b.Root, "io.containerd.snapshotter.v1.overlayfs", "metadata.db"),
	}
	before := map[string]os.FileInfo{}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = st
	}
	s, err := layerstore.Open(f.b.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range s.Images() {
		s.ResolveIn(img.Driver, img.ID)
	}
	for _, c := range s.Containers() {
		s.ResolveIn(c.Driver, c.ID)
	}
	for _, p := range files {
		st, _ := os.Stat(p)
		if st.Size() != before[p].Size() || !st.ModTime().Equal(before[p].ModTime()) {
			t.Errorf("%s changed: %v %d -> %v %d", p, before[p].ModTime(), before[p].Size(), st.ModTime(), st.Size())
		}
	}
}

// cdPatch changes a database of the fixture, as a hostile or damaged
// store would have it.
func cdPatch(t *testing.T, p string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(p, 0600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
}

// bucket is the bucket at path, which must exist.
func bucket(tx *bolt.Tx, path ...string) *bolt.Bucket {
	b := tx.Bucket([]byte(path[0]))
	for _, p := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(p))
	}
	return b
}

// TestContainerdHostile: a hostile or damaged containerd root gives an
// error naming what is wrong, never a panic or a view of a host file.
func TestContainerdHostile(t *testing.T) {
	meta := func(f *cdFixture) string { return filepath.Join(f.b.Root, "io.containerd.metadata.v1.bolt", "meta.db") }
	snaps := func(f *cdFixture) string {
		return filepath.Join(f.b.Root, "io.containerd.snapshotter.v1.overlayfs", "metadata.db")
	}
	// backendOf is the snapshotter's key of namespace default's key.
	backendOf := func(tx *bolt.Tx, key string) []byte {
		return bucket(tx, "v1", "default", "snapshots", "overlayfs", key).Get([]byte("name"))
	}
	for _, c := range []struct {
		name  string
		ref   string // resolved in namespace default
		patch func(t *testing.T, f *cdFixture)
		want  string // in the error of Open (when ref is "") or of Resolve
	}{
		{"parent cycle", "web", func(t *testing.T, f *cdFixture) {
			cdPatch(t, meta(f), func(tx *bolt.Tx) error {
				ns := bucket(tx, "v1", "default")
				ns.Bucket([]byte("containers")).Bucket([]byte("web")).Put([]byte("image"), []byte("docker.io/library/gone:1"))
				sb := ns.Bucket([]byte("snapshots")).Bucket([]byte("overlayfs"))
				loop, _ := sb.CreateBucket([]byte("loop"))
				loop.Put([]byte("name"), backendOf(tx, "web"))
				loop.Put([]byte("parent"), []byte("web"))
				return sb.Bucket([]byte("web")).Put([]byte("parent"), []byte("loop"))
			})
		}, "parents loop back to it"},
		{"id naming no directory", "busybox", func(t *testing.T, f *cdFixture) {
			cdPatch(t, snaps(f), func(tx *bolt.Tx) error {
				var key []byte
				bucket(tx, "v1", "snapshots").ForEach(func(k, v []byte) error {
					if strings.HasPrefix(string(k), "default/") && key == nil {
						key = append([]byte(nil), k...)
					}
					return nil
				})
				return bucket(tx, "v1", "snapshots", string(key)).Put([]byte("id"), []byte{0x8f, 0x4e}) // 9999
			})
		}, "snapshots/9999/fs"},
		{"oversized varint", "busybox", func(t *testing.T, f *cdFixture) {
			cdPatch(t, snaps(f), func(tx *bolt.Tx) error {
				return bucket(tx, "v1", "snapshots").ForEach(func(k, v []byte) error {
					return bucket(tx, "v1", "snapshots", string(k)).Put([]byte("id"), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
				})
			})
		}, "overflows 64 bits"},
		{"snapshot key with ..", "web", func(t *testing.T, f *cdFixture) {
			cdPatch(t, meta(f), func(tx *bolt.Tx) error {
				return bucket(tx, "v1", "default", "containers", "web").Put([]byte("snapshotKey"), []byte("../../../../etc"))
			})
		}, `no overlayfs snapshot "../../../../etc"`},
		{"backend key with ..", "busybox", func(t *testing.T, f *cdFixture) {
			cdPatch(t, meta(f), func(tx *bolt.Tx) error {
				return bucket(tx, "v1", "default", "snapshots", "overlayfs").ForEach(func(k, v []byte) error {
					return bucket(tx, "v1", "default", "snapshots", "overlayfs", string(k)).Put([]byte("name"), []byte("../../etc"))
				})
			})
		}, `snapshot "../../etc"`},
		{"target not hex", "", func(t *testing.T, f *cdFixture) {
			cdPatch(t, meta(f), func(tx *bolt.Tx) error {
				return bucket(tx, "v1", "default", "images", "docker.io/library/busybox:latest", "target").Put([]byte("digest"), []byte("sha256:../../../../etc/passwd"))
			})
		}, `is not a sha256 digest`},
		{"missing blob", "busybox", func(t *testing.T, f *cdFixture) {
			h := strings.TrimPrefix(f.b.Configs[f.busybox], "sha256:")
			if err := os.Remove(filepath.Join(f.b.Root, "io.containerd.content.v1.content", "blobs", "sha256", h)); err != nil {
				t.Fatal(err)
			}
		}, "no such file or directory"},
		{"blob not its digest", "busybox", func(t *testing.T, f *cdFixture) {
			h := strings.TrimPrefix(f.b.Configs[f.busybox], "sha256:")
			if err := os.WriteFile(filepath.Join(f.b.Root, "io.containerd.content.v1.content", "blobs", "sha256", h), []byte("{}"), 0644); err != nil {
				t.Fatal(err)
			}
		}, "not its name"},
		{"snapshot directory a symlink", "busybox", func(t *testing.T, f *cdFixture) {
			fs := filepath.Join(f.b.Root, "io.containerd.snapshotter.v1.overlayfs", "snapshots", "1", "fs")
			if err := os.RemoveAll(fs); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/", fs); err != nil {
				t.Fatal(err)
			}
		}, "snapshots/1/fs"},
		{"blob a symlink", "busybox", func(t *testing.T, f *cdFixture) {
			p := filepath.Join(f.b.Root, "io.containerd.content.v1.content", "blobs", "sha256", strings.TrimPrefix(f.b.Configs[f.busybox], "sha256:"))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink, not a file"},
		{"parent not the layer below", "busybox", func(t *testing.T, f *cdFixture) {
			cdPatch(t, snaps(f), func(tx *bolt.Tx) error {
				return bucket(tx, "v1", "snapshots").ForEach(func(k, v []byte) error {
					return bucket(tx, "v1", "snapshots", string(k)).Delete([]byte("parent"))
				})
			})
		}, "the layer below it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newCDFixture(t)
			c.patch(t, f)
			s, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: "default"})
			if c.ref == "" {
				if err == nil {
					for _, p := range s.Problems() {
						err = errors.Join(err, p)
					}
				}
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "meta.db") {
					t.Fatalf("got %v, want a problem of meta.db with %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Resolve(c.ref)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s: got %v, want %q", c.ref, err, c.want)
			}
		})
	}
}

// TestContainerdEmptyDatabase: a zero-length meta.db is refused, naming
// it, and left as it is (bbolt would make it a new database).
func TestContainerdEmptyDatabase(t *testing.T) {
	f := newCDFixture(t)
	p := filepath.Join(f.b.Root, "io.containerd.metadata.v1.bolt", "meta.db")
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	_, err := layerstore.Open(f.b.Root)
	if err == nil || !strings.Contains(err.Error(), p+": not a bbolt database") {
		t.Fatalf("got %v", err)
	}
	if st, _ := os.Stat(p); st.Size() != 0 {
		t.Errorf("%s was written: %d bytes", p, st.Size())
	}
}

// TestContainerdVerify: a snapshot is checked against its layer blob,
// which stands in for the tar-split containerd does not keep: intact, a
// file changed since, and the blob gone.
func TestContainerdVerify(t *testing.T) {
	f := newCDFixture(t)
	s, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve("busybox")
	if err != nil {
		t.Fatal(err)
	}
	base := tg.Layers[1]
	if !base.HasTarSplit() || base.BlobType != "application/vnd.oci.image.layer.v1.tar" {
		t.Fatalf("base layer: blob %q of %q", base.Blob, base.BlobType)
	}
	if fs, err := layertar.Check(layerstore.TarLayer(base)); err != nil || len(fs) != 0 {
		t.Errorf("intact: %v %v", fs, err)
	}
	if err := os.WriteFile(filepath.Join(base.Dir, "a", "x"), []byte("changed"), 0644); err != nil {
		t.Fatal(err)
	}
	if fs, err := layertar.Check(layerstore.TarLayer(base)); err != nil || len(fs) != 2 || fs[0].Path != "a/x" || fs[1].Path != "a/x" { // its mtime and its size
		t.Errorf("a/x changed: %v %v", fs, err)
	}
	if err := os.Remove(base.Blob); err != nil {
		t.Fatal(err)
	}
	_, err = layertar.Check(layerstore.TarLayer(base))
	if !errors.Is(err, layertar.ErrNoTarSplit) || !strings.Contains(layertar.NoTarSplitReason(err, "lost"), "no tar-split, and its blob "+base.Blob+" is gone") {
		t.Errorf("blob gone: %v", err)
	}
}

// TestContainerdRefused: a namespace whose snapshots are another
// snapshotter's is refused, naming it; a database that is not one is an
// error naming it, as is a namespace that is not there.
func TestContainerdRefused(t *testing.T) {
	f := newCDFixture(t)
	meta := filepath.Join(f.b.Root, "io.containerd.metadata.v1.bolt", "meta.db")
	cdPatch(t, meta, func(tx *bolt.Tx) error {
		ns, err := bucket(tx, "v1").CreateBucket([]byte("zfs-ns"))
		if err != nil {
			return err
		}
		sb, err := ns.CreateBucket([]byte("snapshots"))
		if err != nil {
			return err
		}
		zb, err := sb.CreateBucket([]byte("zfs"))
		if err != nil {
			return err
		}
		k, err := zb.CreateBucket([]byte("sha256:" + strings.Repeat("1", 64)))
		if err != nil {
			return err
		}
		return k.Put([]byte("name"), []byte("zfs-ns/1/x"))
	})
	for _, c := range []struct{ ns, want string }{
		{"zfs-ns", "a containerd root whose snapshots are kept by namespace zfs-ns: snapshotter zfs, which aufsmount does not read (it reads overlayfs, native)"},
		{"nope", "has no namespace nope (it has default, k8s.io, moby, zfs-ns)"},
	} {
		_, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: c.ns})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("namespace %s: got %v, want %q", c.ns, err, c.want)
		}
	}
	// All namespaces: the others are read.
	if s, err := layerstore.Open(f.b.Root); err != nil || len(s.Images()) != 5 {
		t.Errorf("all namespaces: %v", err)
	}
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	if err := os.WriteFile(meta, garbage, 0600); err != nil {
		t.Fatal(err)
	}
	if _, err := layerstore.Open(f.b.Root); err == nil || !strings.Contains(err.Error(), meta+": ") {
		t.Errorf("garbage meta.db: %v", err)
	}
}

// TestContainerdContainerWithoutImage: a container whose image is gone
// is its snapshot's parents, with a warning that says so.
func TestContainerdContainerWithoutImage(t *testing.T) {
	f := newCDFixture(t)
	cdPatch(t, filepath.Join(f.b.Root, "io.containerd.metadata.v1.bolt", "meta.db"), func(tx *bolt.Tx) error {
		return bucket(tx, "v1", "default", "containers", "web").Put([]byte("image"), []byte("docker.io/library/gone:1"))
	})
	s, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve("web")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != 3 || tg.Layers[1].ChainID == "" || tg.Image != nil {
		t.Errorf("web: %d layers, image %v", len(tg.Layers), tg.Image)
	}
	if len(tg.Warnings) != 1 || !strings.Contains(tg.Warnings[0], `container web: its image "docker.io/library/gone:1" is not in namespace default; its layers are taken from its snapshot's parents in `) {
		t.Errorf("warnings: %q", tg.Warnings)
	}
}
