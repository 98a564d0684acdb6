package integration

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// toolCases are the rule cases the real-tool archive tests carry, as two
// images, each the union of cases whose top-level names differ (layer k
// of the image is layer k of each case): few images keep the skopeo
// copies and the mounts few, and a union of disjoint trees is each
// tree's merge. Left out: the opaque root (it would hide the other
// cases), the aufs meta entries (an overlay2 store does not keep them, so
// save cannot rebuild that layer), and the cases whose names are all
// "d": TestArchiveRules has them, and no tool changes a layer's tar.
var toolCases = [][]int{{0, 1, 2, 3, 11, 12, 13, 14, 15, 16, 17}, {9, 10}}

// toolStore is a store of the toolCases images, named test/rules:a and
// test/rules:b, and aufsmount save's archive of both.
func toolStore(t *testing.T) (imgs []*st.Image, store *st.Built, saved string) {
	t.Helper()
	cases := ruleCases()
	for i, group := range toolCases {
		var layers []*st.Layer
		for _, c := range group {
			for k, cl := range cases[c].layers {
				if k == len(layers) {
					layers = append(layers, l())
				}
				layers[k].Entries = append(layers[k].Entries, cl.Entries...)
			}
		}
		imgs = append(imgs, &st.Image{Names: []string{fmt.Sprintf("test/rules:%c", 'a'+i)}, Layers: layers})
	}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: imgs}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	saved = filepath.Join(t.TempDir(), "saved.tar")
	if _, stderr, code := run(t, append([]string{"--root", store.Root, "save", "-o", saved}, toolRefs(imgs)...)...); code != 0 {
		t.Fatalf("aufsmount save: exit %d: %s", code, stderr)
	}
	return imgs, store, saved
}

func toolRefs(imgs []*st.Image) []string {
	var refs []string
	for _, img := range imgs {
		refs = append(refs, img.Names[0])
	}
	return refs
}

// TestArchiveSkopeo has skopeo copy the images of aufsmount save's archive
// of a store into each form it writes (an OCI layout with gzip, zstd and
// uncompressed layers, an oci-archive, a docker-archive), mounts each
// image of each, and compares the whole tree with the fixture's model and
// with the same image mounted from the store; and has umoci unpack the
// gzip layout's images, a second opinion on the same blobs.
func TestArchiveSkopeo(t *testing.T) {
	testenv.FUSE(t)
	skopeo := testenv.Tool(t, "skopeo")
	testenv.Tool(t, "umoci")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	imgs, store, saved := toolStore(t)
	storeTrees := toolStoreTrees(t, store, imgs)
	dir := t.TempDir()
	forms := []struct {
		name      string
		flags     []string
		transport string // skopeo's destination, at dir/name
		// fromOCI copies from the OCI layout inside the saved archive
		// (skopeo's oci-archive: source), not from its manifest.json.
		fromOCI   bool
		layerType string // an OCI layout's layers' media type, as skopeo must write it
		magic     []byte // how each layer blob begins
	}{
		{name: "oci gzip", transport: "oci", layerType: "application/vnd.oci.image.layer.v1.tar+gzip", magic: []byte{0x1f, 0x8b}},
		{name: "oci zstd", flags: []string{"--dest-compress-format", "zstd"}, transport: "oci",
			layerType: "application/vnd.oci.image.layer.v1.tar+zstd", magic: []byte{0x28, 0xb5, 0x2f, 0xfd}},
		// skopeo 1.9's docker-archive source calls every layer gzip,
		// and an uncompressed copy keeps the name (see below); the
		// saved archive's OCI layout names its layers right.
		{name: "oci uncompressed", flags: []string{"--dest-oci-accept-uncompressed-layers"}, transport: "oci", fromOCI: true,
			layerType: "application/vnd.oci.image.layer.v1.tar"},
		{name: "oci-archive", transport: "oci-archive"},
		{name: "docker-archive", transport: "docker-archive"},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			for i, img := range imgs {
				ref := img.Names[0]
				// A layout holds both images; skopeo writes a new archive
				// file for each.
				root := filepath.Join(dir, f.name)
				if f.transport != "oci" {
					root = filepath.Join(dir, fmt.Sprintf("%s-%d.tar", f.name, i))
				}
				src := "docker-archive:" + saved + ":" + ref
				if f.fromOCI {
					// The ref name of a Docker 25 save's layout is the tag.
					src = "oci-archive:" + saved + ":" + ref[strings.LastIndexByte(ref, ':')+1:]
				}
				skopeoCopy(t, skopeo, append(f.flags, src, f.transport+":"+root+":"+ref)...)
				if f.layerType != "" {
					checkLayoutLayers(t, root, ref, f.layerType, f.magic)
				}
				view := checkToolArchive(t, root, ref, f.name, store, img, storeTrees[img])
				if f.name == "oci gzip" {
					// umoci's unpack of the same layout, a second opinion.
					sameTree(t, ref+" unpacked by umoci", view, walk(t, umociUnpack(t, root, ref)))
				}
			}
		})
	}
	// skopeo 1.9's docker-archive source calls every layer gzip, and a
	// copy that keeps them uncompressed keeps that media type. umoci
	// refuses such a layout ("gzip: invalid header"); containerd and
	// docker load read what the bytes are, and so does aufsmount: the
	// view is the image's, whichever way skopeo names the layers.
	t.Run("docker-archive to oci uncompressed", func(t *testing.T) {
		img := imgs[1]
		ref, root := img.Names[0], filepath.Join(dir, "mislabelled")
		skopeoCopy(t, skopeo, "--dest-oci-accept-uncompressed-layers", "docker-archive:"+saved+":"+ref, "oci:"+root+":"+ref)
		if l := layoutLayers(t, root, ref)[0]; bytes.HasPrefix(l.head, []byte{0x1f, 0x8b}) {
			t.Fatalf("%s: skopeo compressed the layer that --dest-oci-accept-uncompressed-layers keeps", l.path)
		}
		if err := st.Compare(mountRef(t, root, ref), store.View(img), archiveCompare); err != nil {
			t.Error(err)
		}
	})
}

// toolStoreTrees walks each of imgs mounted from store, as an archive's
// view of it must be.
func toolStoreTrees(t *testing.T, store *st.Built, imgs []*st.Image) map[*st.Image]map[string]info {
	t.Helper()
	trees := map[*st.Image]map[string]info{}
	for _, img := range imgs {
		tree := walk(t, mountRef(t, store.Root, img.Names[0]))
		// No tar holds a socket: an archive's view has none.
		delete(tree, "run/sock")
		trees[img] = tree
	}
	return trees
}

// checkToolArchive mounts ref of the archive or layout at root (what
// names its kind) and compares the whole tree with img's model and with
// storeTree, img's view from the store; it returns the archive's view.
func checkToolArchive(t *testing.T, root, ref, what string, store *st.Built, img *st.Image, storeTree map[string]info) map[string]info {
	t.Helper()
	mnt := mountRef(t, root, ref)
	if err := st.Compare(mnt, store.View(img), archiveCompare); err != nil {
		t.Errorf("%s: %v", ref, err)
	}
	view := walk(t, mnt)
	if diffs := diffTrees(storeTree, view, tarOwn); len(diffs) > 0 {
		t.Errorf("%s: the store's view (want) and the %s's (got) differ:\n%s", ref, what, strings.Join(head(diffs, 30), "\n"))
	}
	return view
}

func skopeoCopy(t *testing.T, skopeo string, args ...string) {
	t.Helper()
	args = append([]string{"--insecure-policy", "copy", "--quiet"}, args...)
	if out, err := exec.Command(skopeo, args...).CombinedOutput(); err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// checkLayoutLayers makes sure skopeo wrote ref's layers in the layout at
// dir as asked: of media type want, each blob beginning with magic.
func checkLayoutLayers(t *testing.T, dir, ref, want string, magic []byte) {
	t.Helper()
	for _, l := range layoutLayers(t, dir, ref) {
		if l.MediaType != want || !bytes.HasPrefix(l.head, magic) {
			t.Errorf("%s: layer %s is %s, beginning % x; want %s, beginning % x", ref, l.Digest, l.MediaType, l.head, want, magic)
		}
	}
}

type layoutLayer struct {
	MediaType, Digest string
	path              string // the blob
	head              []byte // its first bytes
}

// layoutLayers reads the layers of ref's manifest in the OCI layout at dir.
func layoutLayers(t *testing.T, dir, ref string) []layoutLayer {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	readJSONFile(t, filepath.Join(dir, "index.json"), &idx)
	for _, m := range idx.Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] != ref {
			continue
		}
		var man struct{ Layers []layoutLayer }
		readJSONFile(t, filepath.Join(dir, imagetar.BlobPath(m.Digest)), &man)
		if len(man.Layers) == 0 {
			t.Fatalf("%s: the manifest names no layers", ref)
		}
		for i := range man.Layers {
			l := &man.Layers[i]
			l.path = filepath.Join(dir, imagetar.BlobPath(l.Digest))
			data, err := os.ReadFile(l.path)
			if err != nil {
				t.Fatal(err)
			}
			l.head = data[:min(len(data), 4)]
		}
		return man.Layers
	}
	t.Fatalf("%s/index.json names no %s", dir, ref)
	return nil
}

// tarOwn leaves out of a comparison of two views what only one of them
// can have: times other than the mtime (no layer tar here records them),
// the mtime's fraction (Docker's tars, and so the fixture's, keep whole
// seconds), blocks (a view served from a tar stream allocates no holes)
// and a directory's size (the file system's; a tar says 0).
func tarOwn(p string, w, g *info) {
	w.Atime, g.Atime, w.Ctime, g.Ctime = unix.Timespec{}, unix.Timespec{}, unix.Timespec{}, unix.Timespec{}
	w.Mtime.Nsec, g.Mtime.Nsec = 0, 0
	w.Blocks, g.Blocks = 0, 0
	if w.Mode&unix.S_IFMT == unix.S_IFDIR {
		w.Size, g.Size = 0, 0
	}
}

// TestArchiveDockerSave has a private Docker 20.10 load aufsmount save's
// archive of the toolCases images and save them again, in the layout
// Docker wrote before 25 (see checkDockerSave).
func TestArchiveDockerSave(t *testing.T) {
	testenv.FUSE(t)
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	checkDockerSave(t, startEngine(t, dockerd, docker, "overlay2"), []string{"manifest.json", "repositories"}, []string{"index.json", "oci-layout"})
}

// checkDockerSave has the engine e load aufsmount save's archive of the
// toolCases images, docker save them, and export a container created of
// each; then, the engine stopped, it mounts each image of Docker's
// archive and compares the tree with the fixture's model and with
// Docker's export. Docker's archive must hold the members has, and
// none of lacks: they tell its layouts apart.
func checkDockerSave(t *testing.T, e *engine, has, lacks []string) {
	imgs, store, saved := toolStore(t)
	e.docker("load", "-i", saved)
	archive := filepath.Join(e.dir, "docker-save.tar")
	e.dockerTo(archive, append([]string{"save"}, toolRefs(imgs)...)...)
	exports := map[*st.Image]string{}
	for i, img := range imgs {
		name := fmt.Sprintf("c%d", i)
		e.docker("create", "--network", "none", "--name", name, img.Names[0], "true")
		exports[img] = filepath.Join(e.dir, name+".tar")
		e.dockerTo(exports[img], "export", name)
	}
	e.stop()
	members := tarMembers(t, archive)
	for _, m := range has {
		if !members[m] {
			t.Errorf("docker save wrote no %s: %s", m, strings.Join(slices.Sorted(maps.Keys(members)), " "))
		}
	}
	for _, m := range lacks {
		if members[m] {
			t.Errorf("docker save wrote %s: this is not the layout the test knows this Docker for", m)
		}
	}
	for _, img := range imgs {
		ref := img.Names[0]
		mnt := mountRef(t, archive, ref)
		if err := st.Compare(mnt, store.View(img), archiveCompare); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
		export, exportX := readExport(t, exports[img])
		want, loose := withoutInitLayer(t, export)
		for p := range exportX {
			in := want[p]
			in.Xattrs = xattrDump{attrs: exportX}.line(p)
			want[p] = in
		}
		got := walk(t, mnt)
		delete(got, "")
		// What the init layer wrote over the image is the init
		// layer's in the export: the image's own dev directory (case
		// 13), and etc/hostname (case 10).
		for _, p := range engineInitPaths {
			delete(got, p)
		}
		// Case 2: a layer that whites d out and has a new d. Docker's
		// applier makes the new d a directory that is not opaque, so the
		// d/old of the layer below shows in its view; docs/whiteouts.md
		// (rule 1) hides it, as the OCI image spec says.
		if _, ok := want["d/old"]; ok && hasPath(got, "d/new") && !hasPath(got, "d/old") {
			t.Logf("%s: docker export has d/old, which a whiteout in the layer of d/new hides (docs/whiteouts.md, rule 1)", ref)
			delete(want, "d/old")
		}
		diffs := diffTrees(want, got, func(p string, w, g *info) {
			tarOwn(p, w, g)
			w.Nlink, g.Nlink = 0, 0 // a tar has no link counts; the groups are compared
			if loose[p] {
				w.Mtime, g.Mtime = unix.Timespec{}, unix.Timespec{}
			}
			if g.Mode&unix.S_IFMT == unix.S_IFLNK {
				g.Size = 0 // a tar gives a symlink no size
			}
			g.Xattrs = exportedXattrs(g.Xattrs)
		})
		if len(diffs) > 0 {
			t.Errorf("%s: docker export (want) and the mount of docker save's archive (got) differ:\n%s", ref, strings.Join(head(diffs, 30), "\n"))
		}
	}
}

// exportedXattrs is what of a walk's xattr lines docker export keeps:
// security.capability, the only one Docker's tar writer reads.
func exportedXattrs(lines string) string {
	var keep []string
	for _, l := range strings.Split(lines, "\n") {
		if strings.HasPrefix(l, "security.capability=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// tarMembers is the set of names in the tar at p.
func tarMembers(t *testing.T, p string) map[string]bool {
	t.Helper()
	out, err := exec.Command("tar", "-tf", p).Output()
	if err != nil {
		t.Fatalf("tar -tf %s: %v", p, err)
	}
	names := map[string]bool{}
	for _, n := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		names[n] = true
	}
	return names
}
