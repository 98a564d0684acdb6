package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// The archives of aufsmount save are checked three ways: their own shape
// (readSaved and check: every blob under its digest, each layer stored
// once, manifest.json, index.json, the legacy directories and
// repositories agreeing with each other and with the store), by
// independent readers (skopeo, which checks every digest as it copies an
// image out of the archive; umoci, whose unpacking of what skopeo wrote
// must be the view aufsmount mounts), and by a real engine
// (TestSaveDockerLoad: docker load gives the ids the store has, and the
// images run).

// saveTo runs aufsmount save -o FILE ARGS in the store at root and
// returns the archive and what was said on stderr; a failure fails the
// test.
func saveTo(t *testing.T, root string, args ...string) (string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "saved.tar")
	stdout, stderr, code := run(t, append([]string{"--root", root, "save", "-o", file}, args...)...)
	if code != 0 {
		t.Fatalf("aufsmount save %q: exit %d: %s", args, code, stderr)
	}
	if stdout != "" {
		t.Errorf("aufsmount save -o: printed %q on stdout", stdout)
	}
	return file, stderr
}

// savedArchive is everything an archive holds.
type savedArchive struct {
	file     string
	entries  map[string]*archEntry
	order    []string
	manifest []savedItem
	index    struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []savedDescriptor
	}
	repos map[string]map[string]string
}

type savedItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type savedDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform"`
}

type archEntry struct {
	hdr    tar.Header
	data   []byte // regular files of up to 1 MB
	digest string // "sha256:<hex>" of a regular file
}

// readSaved reads an archive whole, hashing every file.
func readSaved(t *testing.T, file string) *savedArchive {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := &savedArchive{file: file, entries: map[string]*archEntry{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if a.entries[name] != nil {
			t.Errorf("%s: %s is in the archive twice", file, name)
		}
		e := &archEntry{hdr: *hdr}
		if hdr.Typeflag == tar.TypeReg {
			h := sha256.New()
			var keep bytes.Buffer
			w := io.Writer(h)
			if hdr.Size <= 1<<20 {
				w = io.MultiWriter(h, &keep)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatalf("%s: %s: %v", file, name, err)
			}
			e.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
			e.data = keep.Bytes()
		}
		if hdr.Format != tar.FormatPAX && hdr.Format != tar.FormatUSTAR {
			t.Errorf("%s: %s: tar format %v, want PAX", file, name, hdr.Format)
		}
		a.entries[name] = e
		a.order = append(a.order, name)
	}
	a.decode(t, "manifest.json", &a.manifest)
	a.decode(t, "index.json", &a.index)
	if a.entries["repositories"] != nil {
		a.decode(t, "repositories", &a.repos)
	}
	return a
}

func (a *savedArchive) decode(t *testing.T, name string, v any) {
	t.Helper()
	e := a.entries[name]
	if e == nil || e.hdr.Typeflag != tar.TypeReg {
		t.Fatalf("%s: no %s", a.file, name)
	}
	if err := json.Unmarshal(e.data, v); err != nil {
		t.Fatalf("%s: %s: %v", a.file, name, err)
	}
}

// resolve follows a name through symlinks, as loaders do, to a regular
// file; nil if it leads nowhere.
func (a *savedArchive) resolve(name string) *archEntry {
	for i := 0; i < 3; i++ {
		e := a.entries[name]
		if e == nil {
			return nil
		}
		if e.hdr.Typeflag != tar.TypeSymlink {
			if e.hdr.Typeflag != tar.TypeReg {
				return nil
			}
			return e
		}
		name = path.Join(path.Dir(name), e.hdr.Linkname)
		if strings.HasPrefix(name, "../") || path.IsAbs(e.hdr.Linkname) {
			return nil
		}
	}
	return nil
}

// blob is the file blobs/sha256/<hex of digest>, checked to hash to it.
func (a *savedArchive) blob(t *testing.T, digest string) *archEntry {
	t.Helper()
	p := "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
	e := a.resolve(p)
	if e == nil {
		t.Errorf("%s: %s: not in the archive, or not a file", a.file, p)
		return nil
	}
	if e.digest != digest {
		t.Errorf("%s: %s holds %s", a.file, p, e.digest)
	}
	return e
}

// imageConfig is the part of an image config the tests look at.
type imageConfig struct {
	Architecture string
	OS           string
	Container    string
	Config       json.RawMessage
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

// config is item it's image config, parsed, and its bytes.
func (a *savedArchive) config(t *testing.T, it savedItem) (imageConfig, []byte) {
	t.Helper()
	e := a.resolve(it.Config)
	if e == nil {
		t.Fatalf("%s: config %s not in the archive", a.file, it.Config)
	}
	var c imageConfig
	if err := json.Unmarshal(e.data, &c); err != nil {
		t.Fatalf("%s: config %s: %v", a.file, it.Config, err)
	}
	return c, e.data
}

// check checks what every archive of save must be: Docker 25's shape,
// each blob its digest, each layer stored once as a file, and the three
// indexes (manifest.json, index.json, repositories) and the legacy
// directories agreeing.
func (a *savedArchive) check(t *testing.T) {
	t.Helper()
	if e := a.entries["oci-layout"]; e == nil || string(e.data) != `{"imageLayoutVersion": "1.0.0"}` {
		t.Errorf("%s: oci-layout missing or wrong", a.file)
	}
	layerFiles := map[string][]string{} // digest -> regular files holding it
	for _, name := range a.order {
		e := a.entries[name]
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			if r := a.resolve(name); r == nil {
				t.Errorf("%s: %s leads to no file", a.file, name)
			} else if r.digest != "sha256:"+hex {
				t.Errorf("%s: %s holds %s", a.file, name, r.digest)
			}
		}
		if e.hdr.Typeflag == tar.TypeReg && (strings.HasPrefix(name, "blobs/") || path.Base(name) == "layer.tar") {
			layerFiles[e.digest] = append(layerFiles[e.digest], name)
		}
		if e.hdr.Uid != 0 || e.hdr.Gid != 0 || e.hdr.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: %s: owner %d:%d, mtime %v", a.file, name, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime)
		}
	}
	byConfig := map[string]savedItem{}
	layers := map[string]bool{}
	for _, it := range a.manifest {
		byConfig["sha256:"+strings.TrimPrefix(it.Config, "blobs/sha256/")] = it
		c, _ := a.config(t, it)
		if c.RootFS.Type != "layers" || len(c.RootFS.DiffIDs) != len(it.Layers) {
			t.Errorf("%s: %s: rootfs %+v for %d layers", a.file, it.Config, c.RootFS, len(it.Layers))
			continue
		}
		for i, lp := range it.Layers {
			want := c.RootFS.DiffIDs[i]
			if lp != "blobs/sha256/"+strings.TrimPrefix(want, "sha256:") {
				t.Errorf("%s: %s: layer %d is %s, its config says %s", a.file, it.Config, i, lp, want)
			}
			if r := a.resolve(lp); r == nil || r.digest != want {
				t.Errorf("%s: layer %s is not a file holding its digest", a.file, lp)
			}
			layers[want] = true
		}
	}
	for d := range layers {
		if n := len(layerFiles[d]); n != 1 {
			t.Errorf("%s: layer %s is stored %d times (%q), want once", a.file, d, n, layerFiles[d])
		}
	}
	if a.index.SchemaVersion != 2 || a.index.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("%s: index.json: schema %d, media type %q", a.file, a.index.SchemaVersion, a.index.MediaType)
	}
	tagged := map[string]bool{}
	untagged := map[string]bool{}
	for _, d := range a.index.Manifests {
		e := a.blob(t, d.Digest)
		if e == nil {
			continue
		}
		if d.MediaType != "application/vnd.oci.image.manifest.v1+json" || d.Size != e.hdr.Size {
			t.Errorf("%s: index.json: descriptor %+v of a %d-byte manifest", a.file, d, e.hdr.Size)
		}
		var m struct {
			SchemaVersion int    `json:"schemaVersion"`
			MediaType     string `json:"mediaType"`
			Config        savedDescriptor
			Layers        []savedDescriptor
		}
		if err := json.Unmarshal(e.data, &m); err != nil {
			t.Errorf("%s: manifest %s: %v", a.file, d.Digest, err)
			continue
		}
		it, ok := byConfig[m.Config.Digest]
		if !ok {
			t.Errorf("%s: manifest %s: config %s is no image of manifest.json", a.file, d.Digest, m.Config.Digest)
			continue
		}
		if ce := a.blob(t, m.Config.Digest); ce != nil && (ce.hdr.Size != m.Config.Size || m.Config.MediaType != "application/vnd.oci.image.config.v1+json") {
			t.Errorf("%s: manifest %s: config descriptor %+v", a.file, d.Digest, m.Config)
		}
		if len(m.Layers) != len(it.Layers) {
			t.Errorf("%s: manifest %s: %d layers, manifest.json %d", a.file, d.Digest, len(m.Layers), len(it.Layers))
		}
		for i, ld := range m.Layers {
			le := a.blob(t, ld.Digest)
			if i < len(it.Layers) && it.Layers[i] != "blobs/sha256/"+strings.TrimPrefix(ld.Digest, "sha256:") {
				t.Errorf("%s: manifest %s: layer %d is %s, manifest.json says %s", a.file, d.Digest, i, ld.Digest, it.Layers[i])
			}
			if le != nil && (le.hdr.Size != ld.Size || ld.MediaType != "application/vnd.oci.image.layer.v1.tar") {
				t.Errorf("%s: manifest %s: layer descriptor %+v of a %d-byte blob", a.file, d.Digest, ld, le.hdr.Size)
			}
		}
		name := d.Annotations["io.containerd.image.name"]
		if name == "" {
			untagged[it.Config] = true
			if len(it.RepoTags) > 0 {
				t.Errorf("%s: index.json names no tag of %s, which has %q", a.file, it.Config, it.RepoTags)
			}
			continue
		}
		short := familiar(name)
		if !slices.Contains(it.RepoTags, short) || !strings.HasSuffix(name, ":"+d.Annotations["org.opencontainers.image.ref.name"]) {
			t.Errorf("%s: index.json: %q (%q) is not a tag of %s (%q)", a.file, name, d.Annotations, it.Config, it.RepoTags)
		}
		tagged[short] = true
	}
	for _, it := range a.manifest {
		for _, tag := range it.RepoTags {
			if !tagged[tag] {
				t.Errorf("%s: tag %s of manifest.json is not in index.json", a.file, tag)
			}
		}
		if len(it.RepoTags) == 0 && !untagged[it.Config] {
			t.Errorf("%s: untagged image %s is not in index.json", a.file, it.Config)
		}
	}
	// The legacy directories: VERSION, json naming the directory and its
	// parent, layer.tar leading to a layer of an image.
	dirs := 0
	for _, name := range a.order {
		if path.Base(name) != "layer.tar" || strings.Count(name, "/") != 1 {
			continue
		}
		dirs++
		dir := path.Dir(name)
		if v := a.entries[dir+"/VERSION"]; v == nil || string(v.data) != "1.0" {
			t.Errorf("%s: %s/VERSION missing or not 1.0", a.file, dir)
		}
		var js struct {
			ID     string `json:"id"`
			Parent string `json:"parent"`
		}
		if j := a.entries[dir+"/json"]; j == nil || json.Unmarshal(j.data, &js) != nil || js.ID != dir {
			t.Errorf("%s: %s/json missing, or not naming %s", a.file, dir, dir)
		} else if js.Parent != "" && a.entries[js.Parent+"/layer.tar"] == nil {
			t.Errorf("%s: %s/json: parent %s is not in the archive", a.file, dir, js.Parent)
		}
		if r := a.resolve(name); r == nil || !layers[r.digest] {
			t.Errorf("%s: %s leads to no layer", a.file, name)
		}
	}
	want := 0
	for range layers {
		want++
	}
	if dirs < want {
		t.Errorf("%s: %d legacy layer directories for %d layers", a.file, dirs, want)
	}
	for repo, tags := range a.repos {
		for tag, id := range tags {
			found := false
			for _, it := range a.manifest {
				found = found || slices.Contains(it.RepoTags, repo+":"+tag)
			}
			if !found || a.entries[id+"/layer.tar"] == nil {
				t.Errorf("%s: repositories: %s:%s -> %s: no such tag, or no such layer directory", a.file, repo, tag, id)
			}
		}
	}
}

// familiar is the short form of a full name: docker.io/library/busybox:1
// is busybox:1, docker.io/user/app:v2 is user/app:v2.
func familiar(name string) string {
	name = strings.TrimPrefix(name, "docker.io/")
	return strings.TrimPrefix(name, "library/")
}

// item is the image of the archive tagged tag; with tag "", the one with
// no tag, if there is one only.
func (a *savedArchive) item(t *testing.T, tag string) savedItem {
	t.Helper()
	var found []savedItem
	for _, it := range a.manifest {
		if tag == "" && len(it.RepoTags) == 0 || tag != "" && slices.Contains(it.RepoTags, tag) {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d images tagged %q in manifest.json: %+v", a.file, len(found), tag, a.manifest)
	}
	return found[0]
}

// skopeoOCI copies image ref ("name:tag", or "@N" for the Nth image) of
// the docker archive into a new OCI layout as tag "img" and returns the
// layout: skopeo checks every digest on the way.
func skopeoOCI(t *testing.T, archive, ref string) string {
	t.Helper()
	skopeo := testenv.Tool(t, "skopeo")
	dir := filepath.Join(t.TempDir(), "oci")
	src := "docker-archive:" + archive + ":" + ref
	out, err := exec.Command(skopeo, "copy", "--quiet", src, "oci:"+dir+":img").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy %s: %v\n%s", src, err, out)
	}
	return dir
}

// umociUnpack unpacks tag of an OCI layout and returns its root filesystem.
func umociUnpack(t *testing.T, layout, tag string) string {
	t.Helper()
	umoci := testenv.Tool(t, "umoci")
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.Command(umoci, "unpack", "--image", layout+":"+tag, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack %s:%s: %v\n%s", layout, tag, err, out)
	}
	return filepath.Join(bundle, "rootfs")
}

// sameTree compares an unpacked root filesystem with a mounted view: the
// same paths, types, modes, owners, sizes, contents, link targets,
// devices, xattrs, hard-link groups, and mtimes to the second (what a tar
// keeps); not the root's own attributes, which unpacking makes.
func sameTree(t *testing.T, what string, view, unpacked map[string]info) {
	t.Helper()
	ignore := func(p string, w, g *info) {
		w.Atime, g.Atime, w.Ctime, g.Ctime, w.Blocks, g.Blocks = unix.Timespec{}, unix.Timespec{}, unix.Timespec{}, unix.Timespec{}, 0, 0
		w.Mtime.Nsec, g.Mtime.Nsec = 0, 0
		// Link counts are the layer's (overlay v1's and vfs's trees share
		// inodes with the trees above them); the groups are compared.
		w.Nlink, g.Nlink = 0, 0
		if w.Mode&unix.S_IFMT == unix.S_IFDIR {
			w.Size, g.Size = 0, 0
		}
		if p == "" {
			*g = *w
		}
	}
	if diffs := diffTrees(view, unpacked, ignore); len(diffs) > 0 {
		t.Errorf("%s: the unpacked image differs from the view in %d ways (\"mount\" is the unpacked tree):\n%s", what, len(diffs), strings.Join(head(diffs, 30), "\n"))
	}
}

// checkUnpacked unpacks image ref of the archive with skopeo and umoci and
// compares it with the view of ref mounted from the store.
func checkUnpacked(t *testing.T, archive, ref, root, mountRefName string) {
	t.Helper()
	rootfs := umociUnpack(t, skopeoOCI(t, archive, ref), "img")
	mnt := mountRef(t, root, mountRefName)
	sameTree(t, ref, walk(t, mnt), walk(t, rootfs))
	umountNow(t, mnt)
}

// checkUnpackedModel is checkUnpacked against the model: the merge of
// layers (top first), for an image the store cannot mount (a committed
// container).
func checkUnpackedModel(t *testing.T, archive, ref string, layers []*st.Layer) {
	t.Helper()
	want := st.Merge(layers)
	rootfs := fixRoot(t, umociUnpack(t, skopeoOCI(t, archive, ref), "img"), want)
	if err := st.Compare(rootfs, want, st.CompareOptions{SkipLinks: true}); err != nil {
		t.Errorf("%s: %v", ref, err)
	}
}

// fixRoot gives an unpacked root filesystem's root the attributes the
// model has for it: unpacking makes them its own way.
func fixRoot(t *testing.T, rootfs string, want []st.Node) string {
	t.Helper()
	for _, n := range want {
		if n.Path == "" {
			e := n.Entry
			os.Chmod(rootfs, os.FileMode(e.Mode)&os.ModePerm|modeBits(e.Mode))
			os.Lchown(rootfs, e.UID, e.GID)
			os.Chtimes(rootfs, e.Mtime, e.Mtime)
		}
	}
	return rootfs
}

// untar unpacks an archive into a new directory.
func untar(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", file, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf %s: %v: %s", file, err, out)
	}
	return dir
}

func modeBits(m uint32) os.FileMode {
	var out os.FileMode
	if m&unix.S_ISUID != 0 {
		out |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		out |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		out |= os.ModeSticky
	}
	return out
}

// storeConfig is the image config of image id as the store holds it.
func storeConfig(t *testing.T, b *st.Built, id string) []byte {
	t.Helper()
	if b.Layout == layerstore.LayoutContainers {
		// Big data "sha256:<id>", named "=" and its base64.
		name := "=" + base64.StdEncoding.EncodeToString([]byte("sha256:"+id))
		return readNoatime(t, filepath.Join(b.Root, b.Driver+"-images", id, name))
	}
	return readNoatime(t, filepath.Join(b.Root, "image", b.Driver, "imagedb", "content", "sha256", id))
}

// readNoatime reads a file of a store without moving its atime, which
// the tests check.
func readNoatime(t *testing.T, p string) []byte {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOATIME|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSave saves the reference store's images and a container in every
// driver's layout, and checks the archive: its shape; the configs byte
// for byte the store's (1.10+), so the ids stay; the pre-1.10 images
// migrated; the tags as docker save gives them; and skopeo and umoci
// reading each image back as the view aufsmount mounts.
func TestSave(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCases {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			named := func(n string) string { return n }
			if dc.layout == layerstore.LayoutContainers {
				named = func(n string) string { return "localhost/" + n } // as podman load names it
			}
			snap := roSnap(t, rs.b.Root)
			file, stderr := saveTo(t, rs.b.Root, "busybox", "user/app:v2", "web", "--tag", "saved/web:1")
			checkStoreUnchanged(t, rs.b.Root, "save", snap)
			if strings.Contains(stderr, "warning") {
				t.Errorf("save of an intact store warned: %s", stderr)
			}
			a := readSaved(t, file)
			a.check(t)
			if len(a.manifest) != 3 {
				t.Fatalf("%d images in manifest.json, want busybox, user/app and the container", len(a.manifest))
			}
			bb, app, web := a.item(t, named("busybox:latest")), a.item(t, named("user/app:v2")), a.item(t, "saved/web:1")
			if !reflect.DeepEqual(bb.RepoTags, []string{named("busybox:1.36"), named("busybox:latest")}) || !reflect.DeepEqual(app.RepoTags, []string{named("user/app:v2")}) {
				t.Errorf("RepoTags %q and %q; want every tag of busybox, and the one tag of user/app named", bb.RepoTags, app.RepoTags)
			}
			if dc.layout == layerstore.LayoutCAS || dc.layout == layerstore.LayoutContainers {
				for _, x := range []struct {
					it  savedItem
					img *st.Image
				}{{bb, rs.busybox}, {app, rs.app}} {
					id := rs.b.ImageID[x.img]
					_, data := a.config(t, x.it)
					if x.it.Config != "blobs/sha256/"+id || !bytes.Equal(data, storeConfig(t, rs.b, id)) {
						t.Errorf("image %v: config %s; want the store's own, byte for byte (%s)", x.img.Names, x.it.Config, id)
					}
				}
			} else {
				for _, x := range []struct {
					it  savedItem
					img *st.Image
				}{{bb, rs.busybox}, {app, rs.app}} {
					c, _ := a.config(t, x.it)
					if len(c.History) != len(x.img.Layers) || len(c.RootFS.DiffIDs) != len(x.img.Layers) || c.Architecture != "amd64" {
						t.Errorf("pre-1.10 image %v migrated to %d history entries, %d diff ids, architecture %q; want one of each per v1 image",
							x.img.Names, len(c.History), len(c.RootFS.DiffIDs), c.Architecture)
					}
					if diffs := diffIDsOf(t, x.img); !reflect.DeepEqual(c.RootFS.DiffIDs, diffs) {
						t.Errorf("pre-1.10 image %v: diff ids %q, want the digests of its layers' tars %q", x.img.Names, c.RootFS.DiffIDs, diffs)
					}
				}
			}
			checkCommitted(t, a, web, app, rs, rs.web)
			checkUnpacked(t, file, named("busybox:latest"), rs.b.Root, "busybox:latest")
			checkUnpacked(t, file, named("user/app:v2"), rs.b.Root, "user/app:v2")
			committed := append([]*st.Layer{rs.web.RW}, reversed(rs.app.Layers)...)
			checkUnpackedModel(t, file, "saved/web:1", committed)
			// The archive's own OCI layout, as an OCI reader that takes
			// the archive unpacked sees it (the blobs of layers whose
			// digests were known only once written are links).
			layout := untar(t, file)
			mnt := mountRef(t, rs.b.Root, "user/app:v2")
			sameTree(t, "user/app:v2 from the archive's OCI layout", walk(t, mnt), walk(t, umociUnpack(t, layout, "v2")))
			umountNow(t, mnt)
			want := st.Merge(committed)
			if err := st.Compare(fixRoot(t, umociUnpack(t, layout, "1"), want), want, st.CompareOptions{SkipLinks: true}); err != nil {
				t.Errorf("saved/web:1 from the archive's OCI layout: %v", err)
			}
			checkStoreUnchanged(t, rs.b.Root, "save and unpack", snap)
		})
	}
}

// diffIDsOf is the digest of each layer's tar, base first.
func diffIDsOf(t *testing.T, img *st.Image) []string {
	t.Helper()
	var out []string
	for _, l := range img.Layers {
		d, err := st.DiffID(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// checkCommitted checks the config of a container's image (image is the
// saved image it was made from): its image's
// layers and one more, the container's own settings, its id, and a
// history entry.
func checkCommitted(t *testing.T, a *savedArchive, it, image savedItem, rs *refStore, c *st.Container) {
	t.Helper()
	img, _ := a.config(t, image)
	cfg, _ := a.config(t, it)
	if cfg.Container != rs.b.ContainerID[c] {
		t.Errorf("committed config: container %q, want %s", cfg.Container, rs.b.ContainerID[c])
	}
	if len(cfg.RootFS.DiffIDs) != len(img.RootFS.DiffIDs)+1 || !slices.Equal(cfg.RootFS.DiffIDs[:len(img.RootFS.DiffIDs)], img.RootFS.DiffIDs) {
		t.Errorf("committed rootfs %q; want the image's %q and one more", cfg.RootFS.DiffIDs, img.RootFS.DiffIDs)
	}
	if len(cfg.History) != len(img.History)+1 || cfg.History[len(cfg.History)-1].EmptyLayer {
		t.Errorf("committed history: %d entries after the image's %d", len(cfg.History), len(img.History))
	}
	if rs.b.Layout == layerstore.LayoutContainers {
		// containers/storage keeps no Docker config: the committed one
		// is what Podman recorded, the image named as the container was
		// made from it, and its command (the fixture's default, sh).
		var got struct {
			Image string
			Cmd   []string
		}
		json.Unmarshal(cfg.Config, &got)
		if got.Image != "localhost/user/app:v2" || !slices.Equal(got.Cmd, []string{"sh"}) {
			t.Errorf("committed config %s; want Image localhost/user/app:v2 and Cmd [sh], as Podman recorded them", cfg.Config)
		}
		return
	}
	var cc struct{ Config json.RawMessage }
	json.Unmarshal(readNoatime(t, containerConfigFile(rs.b, c)), &cc)
	var want, got map[string]any
	json.Unmarshal(cc.Config, &want)
	json.Unmarshal(cfg.Config, &got)
	if want["Labels"] == nil {
		want["Labels"] = map[string]any{}
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("committed config %s; want the container's own %s", cfg.Config, cc.Config)
	}
}

// containerConfigFile is the config file of container c.
func containerConfigFile(b *st.Built, c *st.Container) string {
	name := "config.v2.json"
	if b.Layout == layerstore.LayoutGraph {
		name = "config.json"
	}
	return filepath.Join(b.Root, "containers", b.ContainerID[c], name)
}

// TestSaveUnchangedContainer saves a container that changed nothing: as
// docker commit, no layer is added, only a history entry saying so; in
// every driver, overlay v1's upper/ (a copy of its init layer's) and
// vfs's whole tree included.
func TestSaveUnchangedContainer(t *testing.T) {
	for _, dc := range driverCasesNamed(t, "aufs", "aufs-graph", "overlay2", "fuse-overlayfs", "overlay", "vfs") {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			file, _ := saveTo(t, rs.b.Root, "busybox:latest", "db")
			a := readSaved(t, file)
			a.check(t)
			img, _ := a.config(t, a.item(t, "busybox:latest"))
			c, _ := a.config(t, a.item(t, ""))
			last := len(c.History) - 1
			if !slices.Equal(c.RootFS.DiffIDs, img.RootFS.DiffIDs) || len(c.History) != len(img.History)+1 || !c.History[last].EmptyLayer {
				t.Errorf("unchanged container committed to %d layers, %d history entries (last empty: %v); want its image's %d and one empty entry more",
					len(c.RootFS.DiffIDs), len(c.History), last >= 0 && c.History[last].EmptyLayer, len(img.RootFS.DiffIDs))
			}
			skopeoOCI(t, file, "@1")
		})
	}
}

// TestSaveRefs checks which names an image is saved with: a tag that
// tag, a bare name every tag of it, an id or a digest none.
func TestSaveRefs(t *testing.T) {
	rs := refStoreOf(t, driverCase{name: "aufs", layout: layerstore.LayoutCAS})
	id := rs.b.ImageID[rs.busybox]
	for _, tc := range []struct {
		refs []string
		want [][]string // RepoTags of each image
	}{
		{[]string{"busybox:1.36"}, [][]string{{"busybox:1.36"}}},
		{[]string{"busybox"}, [][]string{{"busybox:1.36", "busybox:latest"}}},
		{[]string{"docker.io/library/busybox"}, [][]string{{"busybox:1.36", "busybox:latest"}}},
		{[]string{id}, [][]string{nil}},
		{[]string{id[:12]}, [][]string{nil}},
		{[]string{"sha256:" + id}, [][]string{nil}},
		{[]string{"busybox@" + rs.digest}, [][]string{nil}},
		{[]string{"busybox:latest", id, "busybox:latest"}, [][]string{{"busybox:latest"}}},
		{[]string{"localhost:5000/team/app:v2", "user/app"}, [][]string{{"localhost:5000/team/app:v2", "user/app:v2"}}},
		{[]string{"db"}, [][]string{nil}},
	} {
		file, _ := saveTo(t, rs.b.Root, tc.refs...)
		a := readSaved(t, file)
		a.check(t)
		var got [][]string
		for _, it := range a.manifest {
			got = append(got, it.RepoTags)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("save %q: RepoTags %q, want %q", tc.refs, got, tc.want)
		}
	}
	_, stderr, code := run(t, "--root", rs.b.Root, "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "--tag", "a:b", "busybox")
	if code != 2 || !strings.Contains(stderr, "--tag") {
		t.Errorf("save --tag without a container: exit %d, %q; want a usage error", code, stderr)
	}
	_, stderr, code = run(t, "--root", rs.b.Root, "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "nosuch:tag")
	if code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("save nosuch:tag: exit %d, %q", code, stderr)
	}
}

// TestSaveTwoDrivers: a name whose tags two drivers' trees have is
// ambiguous, as any reference is; --driver picks one.
func TestSaveTwoDrivers(t *testing.T) {
	root := filepath.Join(t.TempDir(), "docker")
	for _, d := range []string{st.DriverAufs, st.DriverOverlay2} {
		img := &st.Image{Names: []string{"app:" + d}, Layers: []*st.Layer{l(st.F("which", d))}}
		if _, err := (&st.Store{Driver: d, Images: []*st.Image{img}}).Write(root, layerstore.LayoutCAS); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, code := run(t, "--root", root, "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "app"); code != 1 || !strings.Contains(stderr, "ambiguous") || !strings.Contains(stderr, "--driver") {
		t.Errorf("save of a name in two drivers: exit %d, %q; want it ambiguous", code, stderr)
	}
	file, _ := saveTo(t, root, "--driver", "overlay2", "app")
	a := readSaved(t, file)
	a.check(t)
	if len(a.manifest) != 1 || !slices.Equal(a.manifest[0].RepoTags, []string{"app:overlay2"}) {
		t.Errorf("save --driver overlay2 app: %+v", a.manifest)
	}
}

// TestSaveOutput checks where the archive goes: -o FILE, -o - and a
// standard output that is a pipe take it; a terminal never does; a file
// inside the store is refused.
func TestSaveOutput(t *testing.T) {
	rs := refStoreOf(t, driverCase{name: "aufs", layout: layerstore.LayoutCAS})
	file, _ := saveTo(t, rs.b.Root, "busybox:latest")
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-o", "-"}, {}} {
		stdout, stderr, code := run(t, append([]string{"--root", rs.b.Root, "save"}, append(args, "busybox:latest")...)...)
		if code != 0 || stdout != string(want) {
			t.Errorf("save %q busybox:latest to a pipe: exit %d (%s), %d bytes, want the %d of -o FILE", args, code, stderr, len(stdout), len(want))
		}
	}
	pty, tty := openPTY(t)
	defer pty.Close()
	defer tty.Close()
	for _, args := range [][]string{{"-o", "-"}, {}} {
		cmd := exec.Command(binary, append([]string{"--root", rs.b.Root, "save"}, append(args, "busybox:latest")...)...)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = tty, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errb.String(), "terminal") {
			t.Errorf("save %q with standard output a terminal: %v, %q; want exit 2 refusing", args, err, errb.String())
		}
	}
	in := filepath.Join(rs.b.Root, "saved.tar")
	if _, stderr, code := run(t, "--root", rs.b.Root, "save", "-o", in, "busybox:latest"); code != 2 || !strings.Contains(stderr, "inside the store") {
		t.Errorf("save -o inside the store: exit %d, %q", code, stderr)
	}
	if _, err := os.Lstat(in); err == nil {
		t.Errorf("save -o inside the store wrote %s", in)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	testenv.Require(t, err == nil, "no pseudo-terminals: %v", err)
	if err := unix.IoctlSetPointerInt(int(pty.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(pty.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pty, tty
}

// changedStore is an image whose base layer the test changes, in a store
// of driver dc.
func changedStore(t *testing.T, dc driverCase) (*st.Built, *st.Image) {
	t.Helper()
	base := l(st.F("etc/conf", "original"), st.F("bin/tool", "tool").WithMode(0755), st.D("var/lib/x"), st.F("var/lib/x/f", "f"))
	top := l(st.F("etc/more", "more"), st.WH("bin/tool"))
	img := &st.Image{Names: []string{"test/changed:1"}, Layers: []*st.Layer{base, top}}
	return writeDriverStore(t, dc, []*st.Image{img}, nil), img
}

// TestSaveChanged changes a layer after it was unpacked. A change its
// headers alone show (a mode) leaves the original stream, whose digest
// is still the diff id: save writes it, says the directory differs, and
// the image keeps its id. A change of its content (a byte, the size and
// mtime kept) stops the save, naming the layer and the path, and leaves
// no archive; with --as-is it saves what is there now, says so, and the
// image gets new diff ids and a new id that the readers accept. A layer
// that lost its tar-split is saved as a fresh tar, said so.
func TestSaveChanged(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCasesNamed(t, "aufs", "aufs-graph", "overlay2", "fuse-overlayfs", "overlay", "vfs") {
		t.Run(dc.name, func(t *testing.T) {
			for _, change := range []struct {
				name, path, says string
				do               func(t *testing.T, p string)
			}{
				{"mode", "etc/conf", "", func(t *testing.T, p string) {
					if err := os.Chmod(p, 0600); err != nil {
						t.Fatal(err)
					}
				}},
				{"content", "etc/conf", "content changed", func(t *testing.T, p string) {
					var st unix.Stat_t
					if err := unix.Lstat(p, &st); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte("0riginal"), 0644); err != nil {
						t.Fatal(err)
					}
					if err := unix.UtimesNano(p, []unix.Timespec{st.Atim, st.Mtim}); err != nil {
						t.Fatal(err)
					}
				}},
			} {
				t.Run(change.name, func(t *testing.T) {
					b, img := changedStore(t, dc)
					dir := b.LayerDir(img, 0)
					change.do(t, filepath.Join(dir, change.path))
					outDir := t.TempDir()
					out := filepath.Join(outDir, "out.tar")
					layerID := filepath.Base(strings.TrimSuffix(strings.TrimSuffix(dir, "/diff"), "/root"))
					if change.says == "" {
						_, stderr, code := run(t, "--root", b.Root, "save", "-o", out, "test/changed:1")
						want := "aufsmount: note: layer " + layerID[:12] + " (" + dir + "): its directory's metadata differs from its tar-split in 1 way (aufsmount verify lists them); its original stream is saved, as the tar-split records it\n"
						if b.Layout == layerstore.LayoutGraph {
							want += "aufsmount: pre-1.10 image test/changed:1 migrated: saved as image " // and its new id
						}
						if code != 0 || !strings.HasPrefix(stderr, want) {
							t.Errorf("save of a layer whose mode changed: exit %d, stderr %q; want 0 and %q", code, stderr, want)
						}
						a := readSaved(t, out)
						a.check(t)
						if it := a.item(t, "test/changed:1"); b.Layout != layerstore.LayoutGraph && it.Config != "blobs/sha256/"+b.ImageID[img] {
							t.Errorf("save of a layer whose mode changed: config %s, want the image's own %s", it.Config, b.ImageID[img])
						}
						checkUnpackedModel(t, out, "test/changed:1", reversed(img.Layers))
						return
					}
					_, stderr, code := run(t, "--root", b.Root, "save", "-o", out, "test/changed:1")
					if code != 1 || !strings.Contains(stderr, "/"+change.path+": "+change.says) || !strings.Contains(stderr, filepath.Base(strings.TrimSuffix(strings.TrimSuffix(dir, "/diff"), "/root"))) {
						t.Errorf("save of a changed layer: exit %d, stderr %q; want exit 1 naming the layer and /%s: %s", code, stderr, change.path, change.says)
					}
					if left := dirNames(t, outDir); len(left) > 0 {
						t.Errorf("save that failed left %q beside %s", left, out)
					}
					file, stderr := saveTo(t, b.Root, "--as-is", "test/changed:1")
					if !strings.Contains(stderr, "warning: layer "+layerID[:12]) {
						t.Errorf("save --as-is: stderr %q; want a warning naming the changed layer", stderr)
					}
					a := readSaved(t, file)
					a.check(t)
					it := a.item(t, "test/changed:1")
					if it.Config == "blobs/sha256/"+b.ImageID[img] {
						t.Errorf("save --as-is of a changed image kept its id")
					}
					checkUnpacked(t, file, "test/changed:1", b.Root, "test/changed:1")
				})
			}
			t.Run("no tar-split", func(t *testing.T) {
				b, img := changedStore(t, dc)
				ts := tarSplitOf(t, b, img, 0)
				if err := os.Remove(ts); err != nil {
					t.Fatal(err)
				}
				file, stderr := saveTo(t, b.Root, "test/changed:1")
				if !strings.Contains(stderr, "no tar-split") {
					t.Errorf("save of a layer without tar-split: stderr %q; want it said", stderr)
				}
				a := readSaved(t, file)
				a.check(t)
				checkUnpacked(t, file, "test/changed:1", b.Root, "test/changed:1")
			})
		})
	}
}

// driverCasesNamed picks driver cases by name.
func driverCasesNamed(t *testing.T, names ...string) []driverCase {
	t.Helper()
	var out []driverCase
	for _, n := range names {
		i := slices.IndexFunc(driverCases, func(dc driverCase) bool { return dc.name == n })
		if i < 0 {
			t.Fatalf("no driver case %q", n)
		}
		out = append(out, driverCases[i])
	}
	return out
}

// TestSaveLostMarkers saves images of an overlay2 store copied without
// xattrs or device nodes: their layers' streams come from the tar-splits,
// which still have every whiteout and opaque marker, so the save says
// what the directories lack and goes on, the ids unchanged. A layer saved
// --as-is (it changed too) gets the markers its tar-split records in its
// fresh tar.
func TestSaveLostMarkers(t *testing.T) {
	rs := refStoreOf(t, driverCasesNamed(t, "overlay2")[0])
	if _, err := rs.b.Damage(st.LostXattrs | st.LostDevices); err != nil {
		t.Fatal(err)
	}
	file, stderr := saveTo(t, rs.b.Root, "busybox:latest", "user/app:v2")
	if !strings.Contains(stderr, "its directory's metadata differs from its tar-split in 1 way (aufsmount verify lists them); its original stream is saved") {
		t.Errorf("save of a damaged store: stderr %q; want the lost markers said", stderr)
	}
	a := readSaved(t, file)
	a.check(t)
	for _, img := range []*st.Image{rs.busybox, rs.app} {
		if it := a.item(t, img.Names[0]); it.Config != "blobs/sha256/"+rs.b.ImageID[img] {
			t.Errorf("%v: config %s, want the store's %s", img.Names, it.Config, rs.b.ImageID[img])
		}
	}
	checkUnpackedModel(t, file, "busybox:latest", reversed(rs.busybox.Layers))
	checkUnpackedModel(t, file, "user/app:v2", reversed(rs.app.Layers))

	top := rs.b.LayerDir(rs.busybox, 1)
	if err := os.WriteFile(filepath.Join(top, "etc/busybox.conf"), []byte("y"), 0600); err != nil {
		t.Fatal(err)
	}
	file, stderr = saveTo(t, rs.b.Root, "--as-is", "busybox:latest")
	if !strings.Contains(stderr, "saved as it is now") {
		t.Errorf("save --as-is: stderr %q", stderr)
	}
	rootfs := umociUnpack(t, skopeoOCI(t, file, "busybox:latest"), "img")
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/motd")); err == nil {
		t.Errorf("the layer saved as it is lost the whiteout of /etc/motd its tar-split records")
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "etc/busybox.conf")); err != nil || string(data) != "y" {
		t.Errorf("/etc/busybox.conf: %q %v, want it as it is now (\"y\")", data, err)
	}
}

// tarSplitOf is the tar-split file of layer i (base first) of img.
func tarSplitOf(t *testing.T, b *st.Built, img *st.Image, i int) string {
	t.Helper()
	if b.Layout == layerstore.LayoutGraph {
		return filepath.Join(b.Root, "graph", filepath.Base(b.Chain[img][len(img.Layers)-1-i]), "tar-data.json.gz")
	}
	chain := b.ChainIDs[img][len(img.Layers)-1-i]
	return filepath.Join(b.Root, "image", b.Driver, "layerdb", "sha256", strings.TrimPrefix(chain, "sha256:"), "tar-split.json.gz")
}

// TestSaveTampered changes a byte of a layer inside an archive: skopeo
// must refuse it, or the checks above prove nothing.
func TestSaveTampered(t *testing.T) {
	rs := refStoreOf(t, driverCase{name: "aufs", layout: layerstore.LayoutCAS})
	file, _ := saveTo(t, rs.b.Root, "busybox:latest")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("welcome\n"))
	if i < 0 {
		t.Fatal("the archive does not hold /etc/motd's content")
	}
	data[i] = 'W'
	if err := os.WriteFile(file, data, 0644); err != nil {
		t.Fatal(err)
	}
	skopeo := testenv.Tool(t, "skopeo")
	out, err := exec.Command(skopeo, "copy", "--quiet", "docker-archive:"+file+":busybox:latest", "oci:"+filepath.Join(t.TempDir(), "oci")+":img").CombinedOutput()
	if err == nil {
		t.Errorf("skopeo copied an archive whose layer does not hash to its diff id: %s", out)
	}
}

// TestSaveDockerLoad loads archives into a real engine (Docker 20.10) and
// runs them: an aufs image, a pre-1.10 image, an overlay2 image, and a
// container of each. The images keep the ids the store gives them (a
// pre-1.10 one, and a container's, the id of the config save made), their
// tags, and their files: the static busybox at /bin/busybox runs, a file
// a layer deleted is gone, one a layer changed has its new content. A
// copy of an overlay2 store that lost owners, modes, times and the rest
// (st.LostMetadata) saves the original streams: the same ids, root's
// files, the sticky /tmp, and it runs as a user other than root.
func TestSaveDockerLoad(t *testing.T) {
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	busybox := requireStaticBusybox(t)
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	base := l(st.F("bin/busybox", string(bb)).WithMode(0755), st.L("bin/sh", "busybox"), st.F("etc/motd", "welcome\n"),
		st.F("etc/app.conf", "v1\n"), st.D("tmp").WithMode(01777))
	top := l(st.WH("etc/motd"), st.F("etc/app.conf", "v2\n"), st.F("opt/x", "x\n"))
	cases := []struct {
		name   string
		layout layerstore.Layout
		driver string
		loss   st.Loss
	}{
		{"aufs", layerstore.LayoutCAS, st.DriverAufs, 0},
		{"pre-1.10", layerstore.LayoutGraph, st.DriverAufs, 0},
		{"overlay2", layerstore.LayoutCAS, st.DriverOverlay2, 0},
		{"overlay2-copied", layerstore.LayoutCAS, st.DriverOverlay2, st.LostMetadata},
	}
	e := startEngine(t, dockerd, docker, "overlay2")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			img := &st.Image{Names: []string{"load/" + tc.name + ":1"}, Layers: []*st.Layer{base, top}}
			ctr := &st.Container{Name: "c", Image: img, RW: l(st.F("opt/x", "changed\n"), st.WH("etc/app.conf"))}
			s := st.Store{Driver: tc.driver, Images: []*st.Image{img}, Containers: []*st.Container{ctr}}
			b, err := s.Write(filepath.Join(t.TempDir(), "docker"), tc.layout)
			if err != nil {
				t.Fatal(err)
			}
			if tc.loss != 0 {
				if _, err := b.Damage(tc.loss); err != nil {
					t.Fatal(err)
				}
			}
			ref := "load/" + tc.name + ":1"
			file, _ := saveTo(t, b.Root, ref)
			cfile, _ := saveTo(t, b.Root, "--tag", "load/"+tc.name+"-c:1", "c")
			a, ca := readSaved(t, file), readSaved(t, cfile)
			a.check(t)
			ca.check(t)
			wantID := "sha256:" + strings.TrimPrefix(a.item(t, ref).Config, "blobs/sha256/")
			if tc.layout == layerstore.LayoutCAS && wantID != "sha256:"+b.ImageID[img] {
				t.Errorf("saved config %s, want the store's %s", wantID, b.ImageID[img])
			}
			wantCID := "sha256:" + strings.TrimPrefix(ca.item(t, "load/"+tc.name+"-c:1").Config, "blobs/sha256/")
			e.docker("load", "-i", file)
			e.docker("load", "-i", cfile)
			ctrScript := "test ! -e /etc/motd && test ! -e /etc/app.conf && test \"$(cat /opt/x)\" = changed"
			if tc.loss&st.LostSpecials != 0 {
				// The container's layer has no tar-split: the whiteout
				// device the copy skipped there cannot come back.
				ctrScript = "test ! -e /etc/motd && test \"$(cat /opt/x)\" = changed"
			}
			for _, x := range []struct{ ref, id, script string }{
				{ref, wantID, "test ! -e /etc/motd && test \"$(cat /etc/app.conf)\" = v2 && test \"$(cat /opt/x)\" = x"},
				{"load/" + tc.name + "-c:1", wantCID, ctrScript},
			} {
				if got := strings.TrimSpace(e.docker("image", "inspect", "--format", "{{.Id}}", x.ref)); got != x.id {
					t.Errorf("docker load of %s: id %s, want %s", x.ref, got, x.id)
				}
				e.docker("run", "--rm", "--network", "none", x.ref, "/bin/busybox", "true")
				e.docker("run", "--rm", "--network", "none", x.ref, "/bin/busybox", "sh", "-c", x.script)
			}
			// As the image has them, whatever the copy did to its files.
			e.docker("run", "--rm", "--network", "none", "-u", "1000", ref, "/bin/busybox", "sh", "-c",
				`test "$(/bin/busybox stat -c %u:%g:%a /bin/busybox)" = 0:0:755 && test -k /tmp && test "$(/bin/busybox stat -c %Y /etc/app.conf)" = 1461235327`)
		})
	}
	e.t = t
	e.stop()
}

// BenchmarkSave writes a store of about 1.3 GB (big files, and 20,000
// small ones over 10 layers), and times aufsmount save of it into a pipe
// against tar -cf - of the same layer directories into a pipe, with the
// page cache warm, and ("cold") dropped before each run. Each run goes
// through GNU time for its peak memory: a child of this process would
// count this process's size in its own.
func BenchmarkSave(b *testing.B) {
	testenv.Root(b, "writing a store of many owners, dropping the page cache")
	gnuTime := testenv.Tool(b, "/usr/bin/time")
	layers := st.Generate(st.GenOptions{Seed: 7, Layers: 10, Entries: 20000})
	for i, n := range []int{0, 3, 6, 9} {
		layers[n].Entries = append(layers[n].Entries, st.Big(fmt.Sprintf("big/%d.bin", i), 256<<20+int64(i)))
	}
	img := &st.Image{Names: []string{"bench/big:1"}, Layers: layers}
	built, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(b.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		b.Fatal(err)
	}
	dirs := built.Chain[img]
	runs := []struct {
		name string
		args []string
	}{
		{"tar", append([]string{"tar", "-cf", "-"}, dirs...)},
		{"save", []string{binary, "--root", built.Root, "save", "bench/big:1"}},
	}
	for _, cold := range []bool{false, true} {
		for _, r := range runs {
			name := r.name
			if cold {
				name += "/cold"
			}
			b.Run(name, func(b *testing.B) {
				var peak int64
				for b.Loop() {
					if cold {
						b.StopTimer()
						dropCaches(b)
						b.StartTimer()
					}
					n, rss := timedPipe(b, gnuTime, r.args)
					b.SetBytes(n)
					peak = max(peak, rss)
				}
				b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
			})
		}
	}
}

// timedPipe runs args through GNU time with its stdout into a pipe this
// process drains, and returns the bytes read and the peak RSS in KiB.
func timedPipe(b *testing.B, gnuTime string, args []string) (int64, int64) {
	b.Helper()
	cmd := exec.Command(gnuTime, append([]string{"-f", "%M"}, args...)...)
	cmd.Env = append(os.Environ(), "AUFSMOUNT_ROOT=")
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = w
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("%s: %v: %s", cmd.Args, err, errb.String())
	}
	// GNU time forks the command: its peak is the command's own, and the
	// last line time prints.
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	var rss int64
	if _, err := fmt.Sscan(lines[len(lines)-1], &rss); err != nil {
		b.Fatalf("%s: no peak RSS in %q", cmd.Args, errb.String())
	}
	return n, rss
}

// realDockerfile builds on the imported base with steps that delete,
// replace and add files: layers whose tar-splits Docker itself wrote.
const realDockerfile = `FROM base:1
RUN rm /etc/motd && rm -rf /var/lib/app && mkdir /var/lib/app && echo new > /var/lib/app/new && ln /etc/passwd /etc/passwd.hl
RUN echo two > /two && chmod 0600 /two
`

// TestSaveRealStore saves from stores a real engine wrote, with each of
// the drivers it runs here: an image it built (its layers' tar-splits
// Docker's own) and a container that changed, deleted and added files.
// A second engine loads the archive. The image has the id the first
// engine gave it; the container's image is what docker commit of it made
// in the first engine, file for file (docker export of a container of
// each, less what the init layer adds); and both run.
func TestSaveRealStore(t *testing.T) {
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	busybox := requireStaticBusybox(t)
	rootfs := writeEngineRootfs(t, busybox)
	loader := startEngine(t, dockerd, docker, "overlay2")
	// export is docker export of a new container of ref, as a tree, less
	// what the init layer adds, and the directories whose mtime it sets.
	export := func(e *engine, ref string) (map[string]info, map[string]bool) {
		t.Helper()
		id := strings.TrimSpace(e.docker("create", "--network", "none", ref, "true"))
		file := filepath.Join(t.TempDir(), "export.tar")
		e.dockerTo(file, "export", id)
		e.docker("rm", id)
		tree, _ := readExport(t, file)
		return withoutInitLayer(t, tree)
	}
	same := func(what string, want, got map[string]info, loose map[string]bool) {
		t.Helper()
		diffs := diffTrees(want, got, func(p string, w, g *info) {
			if loose[p] {
				w.Mtime, g.Mtime = unix.Timespec{}, unix.Timespec{}
			}
		})
		if len(diffs) > 0 {
			t.Errorf("%s: %d differences (\"mount\" is the image loaded from the archive):\n%s", what, len(diffs), strings.Join(head(diffs, 20), "\n"))
		}
	}
	for _, driver := range []string{"overlay2", "vfs", "overlay"} {
		t.Run(driver, func(t *testing.T) {
			e := startEngine(t, dockerd, docker, driver)
			e.docker("import", rootfs, "base:1")
			ctx := filepath.Join(e.dir, "context")
			if err := os.Mkdir(ctx, 0755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(realDockerfile), 0644); err != nil {
				t.Fatal(err)
			}
			e.docker("build", "-t", "real/built:1", ctx)
			id := strings.TrimSpace(e.docker("image", "inspect", "--format", "{{.Id}}", "real/built:1"))
			e.docker("run", "--network", "none", "--name", "changer", "real/built:1", "sh", "-c",
				"echo changed > /two && rm /etc/group && mkdir -p /root/x && echo y > /root/x/y && rm -rf /var/lib/app && ln -s /two /opt/two")
			e.docker("commit", "changer", "real/dockercommit:1")
			builtTree, builtLoose := export(e, "real/built:1")
			commitTree, commitLoose := export(e, "real/dockercommit:1")
			e.stop()

			file, _ := saveTo(t, e.root, "real/built:1", "base:1", "changer", "--tag", "real/changer:1")
			a := readSaved(t, file)
			a.check(t)
			if got := "sha256:" + strings.TrimPrefix(a.item(t, "real/built:1").Config, "blobs/sha256/"); got != id {
				t.Errorf("saved config %s, want the engine's image id %s", got, id)
			}
			cid := "sha256:" + strings.TrimPrefix(a.item(t, "real/changer:1").Config, "blobs/sha256/")
			skopeoOCI(t, file, "real/changer:1")

			loader.t = t
			loader.docker("load", "-i", file)
			for _, x := range []struct{ ref, id string }{{"real/built:1", id}, {"real/changer:1", cid}} {
				if got := strings.TrimSpace(loader.docker("image", "inspect", "--format", "{{.Id}}", x.ref)); got != x.id {
					t.Errorf("docker load of %s: id %s, want %s", x.ref, got, x.id)
				}
				loader.docker("run", "--rm", "--network", "none", x.ref, "/bin/busybox", "true")
			}
			got, _ := export(loader, "real/built:1")
			same("real/built:1", builtTree, got, builtLoose)
			got, _ = export(loader, "real/changer:1")
			same("the container saved, against docker commit of it", commitTree, got, commitLoose)
			loader.docker("rmi", "real/built:1", "real/changer:1", "base:1")
		})
	}
	loader.t = t
	loader.stop()
}
