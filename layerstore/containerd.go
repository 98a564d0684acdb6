package layerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// A containerd root (docs/containerd.md) keeps its images, containers
// and snapshot references in io.containerd.metadata.v1.bolt/meta.db, by
// namespace; the blobs (indexes, manifests, configs, compressed layers)
// in io.containerd.content.v1.content/blobs/sha256/; and each
// snapshotter its snapshots in io.containerd.snapshotter.v1.<name>/, with
// a metadata.db of its own that gives each snapshot's directory,
// snapshots/<id>. A store is opened as one part per namespace and
// snapshotter. Docker 29 keeps its images in namespace moby of such a
// root, and its containers' configs in its own root, as before.

const (
	cdMetaFile    = "io.containerd.metadata.v1.bolt/meta.db"
	cdContentDir  = "io.containerd.content.v1.content"
	cdSnapshotDir = "io.containerd.snapshotter.v1."
	cdDockerNS    = "moby" // the namespace Docker 29 keeps its images in
)

// cdSnapshotters are the snapshotters read, in the order a namespace that
// holds several lists them.
var cdSnapshotters = []string{"overlayfs", "native"}

// cdRoot is one containerd root as read at open, shared by its parts.
type cdRoot struct {
	dir      string // the containerd root
	metaFile string
	meta     cdMeta
	platform platform // the platform an index's manifest is chosen for
	docker   string   // the Docker root whose images these are; "" for containerd's own root

	mu    sync.Mutex
	snaps map[string]*cdSnapshotterDB // by snapshotter name, read on first use
}

// cdSnapshotterDB is a snapshotter's metadata.db, read once.
type cdSnapshotterDB struct {
	file  string
	byKey map[string]cdSnap
	err   error
}

// cdDriver is the driver of one part: a snapshotter of a namespace.
type cdDriver struct {
	snapshotter string // "overlayfs" or "native"
	ns          string
	root        *cdRoot
}

// findContainerd finds the containerd root that abs names: a containerd
// root (k3s's too), or a Docker root whose images are in containerd
// (<root>/containerd/daemon, ../containerd beside it, or o.ContainerdRoot).
// ok is false where there is none.
func findContainerd(abs string, o Options) (dir, docker string, ok bool) {
	if o.ContainerdRoot != "" {
		d, err := filepath.Abs(o.ContainerdRoot)
		return d, abs, err == nil
	}
	if exists(filepath.Join(abs, cdMetaFile)) {
		return abs, "", true
	}
	if !isDir(filepath.Join(abs, "containers")) && !exists(filepath.Join(abs, "engine-id")) && !isDir(filepath.Join(abs, "containerd")) {
		return "", "", false // not a Docker root either
	}
	for _, d := range []string{filepath.Join(abs, "containerd", "daemon"), filepath.Join(filepath.Dir(abs), "containerd")} {
		if exists(filepath.Join(d, cdMetaFile)) {
			return d, abs, true
		}
	}
	return "", "", false
}

// detectContainerd opens the containerd root abs names, if any, and
// lists its parts: for each namespace (o.Namespace alone when set; moby
// alone for a Docker root), each snapshotter read that holds its
// snapshots, or the first when it has none (its images then are not
// unpacked). A namespace whose snapshots are all kept by a snapshotter
// not read is refused, naming it.
func detectContainerd(abs string, o Options) ([]found, error) {
	dir, docker, ok := findContainerd(abs, o)
	if !ok {
		return nil, nil
	}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	r := &cdRoot{dir: dir, metaFile: filepath.Join(dir, cdMetaFile), platform: plat, docker: docker, snaps: map[string]*cdSnapshotterDB{}}
	if r.meta, err = readMeta(r.metaFile); err != nil {
		return nil, corrupt(r.metaFile, err)
	}
	want := o.Namespace
	if want == "" && docker != "" {
		want = cdDockerNS
	}
	var out []found
	var refused []string
	for _, name := range sortedKeys(r.meta) {
		ns := r.meta[name]
		if want != "" && name != want {
			continue
		}
		sns, other := r.snapshottersOfAll(ns)
		if len(sns) == 0 && len(other) > 0 {
			refused = append(refused, fmt.Sprintf("namespace %s: snapshotter %s", name, strings.Join(other, ", ")))
			continue
		}
		if len(sns) == 0 && len(ns.images) == 0 && len(ns.containers) == 0 && want == "" {
			continue // an empty namespace (plugins.moby)
		}
		sns = r.snapshottersOf(ns)
		for _, sn := range sns {
			out = append(out, found{cdDriver{snapshotter: sn, ns: name, root: r}, LayoutContainerd})
		}
	}
	switch {
	case len(out) == 0 && len(refused) > 0:
		return nil, fmt.Errorf("a containerd root whose snapshots are kept by %s, which aufsmount does not read (it reads %s)",
			strings.Join(refused, "; "), strings.Join(cdSnapshotters, ", "))
	case len(out) == 0 && want != "":
		return nil, fmt.Errorf("containerd root %s has no namespace %s (it has %s)", dir, want, strings.Join(sortedKeys(r.meta), ", "))
	case len(out) == 0:
		return nil, fmt.Errorf("containerd root %s holds no images or containers", dir)
	}
	return out, nil
}

// snapshottersOfAll lists the snapshotters that hold snapshots of
// namespace ns: those read, in their order, and the others.
func (r *cdRoot) snapshottersOfAll(ns *cdNamespace) (read, other []string) {
	for _, sn := range sortedKeys(ns.snapshots) {
		switch {
		case len(ns.snapshots[sn]) == 0:
		case isCDSnapshotter(sn):
			read = append(read, sn)
		default:
			other = append(other, sn)
		}
	}
	sort.Slice(read, func(i, j int) bool { return cdRank(read[i]) < cdRank(read[j]) })
	return read, other
}

// snapshottersOf is the snapshotters read of namespace ns, each a part:
// the first read where it holds no snapshots at all.
func (r *cdRoot) snapshottersOf(ns *cdNamespace) []string {
	if read, _ := r.snapshottersOfAll(ns); len(read) > 0 {
		return read
	}
	return cdSnapshotters[:1]
}

func isCDSnapshotter(name string) bool { return cdRank(name) < len(cdSnapshotters) }

func cdRank(name string) int {
	for i, n := range cdSnapshotters {
		if n == name {
			return i
		}
	}
	return len(cdSnapshotters)
}

// snapshotterDir is where snapshotter sn keeps its snapshots.
func (r *cdRoot) snapshotterDir(sn string) string { return filepath.Join(r.dir, cdSnapshotDir+sn) }

// snapshotter is the metadata.db of snapshotter sn, read on first use.
func (r *cdRoot) snapshotter(sn string) *cdSnapshotterDB {
	r.mu.Lock()
	defer r.mu.Unlock()
	if db := r.snaps[sn]; db != nil {
		return db
	}
	db := &cdSnapshotterDB{file: filepath.Join(r.snapshotterDir(sn), "metadata.db")}
	db.byKey, db.err = readSnapshotter(db.file)
	if errors.Is(db.err, fs.ErrNotExist) {
		db.err = errors.New("missing")
	}
	r.snaps[sn] = db
	return db
}

func (d cdDriver) name() string { return d.snapshotter }

// layerDir: snapshots/<id>/fs of overlayfs; native's snapshots/<id> is
// the tree itself.
func (d cdDriver) layerDir(s *store, id string) string {
	p := filepath.Join(d.root.snapshotterDir(d.snapshotter), "snapshots", id)
	if d.whole() {
		return p
	}
	return filepath.Join(p, "fs")
}

// whole says each snapshot is a full copy of its parent with its own
// changes (native), as vfs keeps its layers.
func (d cdDriver) whole() bool { return d.snapshotter == "native" }

func (d cdDriver) encoding(own bool) *whiteout.Encoding {
	if d.whole() {
		return whiteout.None
	}
	return whiteout.Overlay
}

func (d cdDriver) stack(s *store, layers []Layer, ctr *containerRec) []Layer {
	if d.whole() && !fromBlobs(layers) {
		return vfsDriver{}.stack(s, layers, ctr)
	}
	return stackAll(layers)
}

// listLayers: the snapshots the namespace refers to (the directory is
// shared by every namespace).
func (d cdDriver) listLayers(s *store) ([]string, error) {
	db := d.root.snapshotter(d.snapshotter)
	if db.err != nil {
		return nil, corrupt(db.file, db.err)
	}
	var ids []string
	for _, e := range d.root.meta[d.ns].snapshots[d.snapshotter] {
		if sn, ok := db.byKey[e.name]; ok && sn.err == nil {
			ids = append(ids, sn.id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (d cdDriver) check(s *store, layers []Layer, ctr *containerRec) error {
	if err := checkUnique(layers); err != nil {
		return err
	}
	if fromBlobs(layers) {
		return nil // blobs, checked as the chain was read (cdBlobChain)
	}
	return checkDirs(layers)
}

// keepsXattr: native copies a snapshot's tree with every attribute.
func (cdDriver) keepsXattr(string) bool { return true }

func (d cdDriver) containerDiff() ContainerDiff {
	if d.whole() {
		return CompareWholeTrees
	}
	return CompareTrees
}

// graphDriverData: containerd makes its mounts itself; docker shows none.
func (cdDriver) graphDriverData(*Target) map[string]string { return nil }

// cd is the driver of a containerd part.
func (s *store) cd() cdDriver { return s.drv.(cdDriver) }

// namespace is the containerd namespace of a part; "" for other stores.
func (s *store) namespace() string {
	if s.layout != LayoutContainerd {
		return ""
	}
	return s.cd().ns
}

// label is how a part is named in a message that lists several: its
// driver, or for containerd its namespace (and snapshotter).
func (s *store) label() string {
	if s.layout != LayoutContainerd {
		return s.drv.name()
	}
	return "namespace " + s.cd().ns + ", " + s.drv.name()
}
