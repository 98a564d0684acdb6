package storetest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
	"golang.org/x/sys/unix"
)

var (
	t1999 = time.Date(1999, 12, 31, 23, 59, 58, 123456789, time.UTC)
	t2001 = time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	// capNetRaw is a vfs_cap_data (revision 2, effective) granting CAP_NET_RAW.
	capNetRaw = string([]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
)

// fixture is a store with every kind of entry, shared layers, an empty
// layer, the same layer at two positions, and two containers.
type fixture struct {
	s                *Store
	base, app, env   *Layer
	img1, img2, img3 *Image
	c1, c2           *Container
}

func newFixture() *fixture {
	f := &fixture{}
	f.base = NewLayer("#(nop) ADD file:0123abcd in /",
		F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		F("etc/shadow", "root:*:1:::::\n").WithMode(ModeNone),
		D("tmp").WithMode(01777),
		F("usr/bin/su", "su binary").WithMode(04755),
		F("usr/bin/wall", "wall").WithMode(02755).WithOwner(0, 5),
		H("usr/bin/su2", "usr/bin/su"),
		H("usr/bin/su3", "usr/bin/su2"),
		F("usr/bin/ping", "ping").WithMode(0755).WithXattr("security.capability", capNetRaw).WithXattr("user.note", "hi").WithXattr("trusted.t", "v"),
		F("home/u/notes", "mine").WithOwner(1000, 1000).WithMode(0600),
		D("home/u").WithOwner(1000, 1000).WithMode(0700).WithMtime(t1999).WithXattr("user.dir", "1"),
		L("bin/sh", "busybox"),
		L("abs", "/etc/passwd").WithOwner(3, 4).WithTimes(t1999, t2001).WithXattr("trusted.link", "x"),
		F("bin/busybox", "bb").WithMode(0755),
		Mknod("dev/null", CharDev, 1, 3).WithMode(0666),
		Mknod("dev/sda", BlockDev, 8, 0),
		Mknod("run/fifo", Fifo, 0, 0).WithOwner(7, 8),
		Mknod("run/sock", Socket, 0, 0).WithMode(0777),
		Big("big", 3<<20+5),
		SparseFile("sparse", "head", 64<<20),
		F("with space", "s"),
		F("new\nline", "n"),
		F("\xff\xfe-latin1", "l"),
		F("old", "o").WithTimes(t1999, t2001),
		WH("gone"),
		F("usr/lib/.wh..wh.plnk-lookalike", ""),
	)
	f.app = NewLayer("apt-get install -y app",
		F("usr/bin/app", "app").WithMode(0755),
		OPQ("etc"),
		F("etc/app.conf", "x=1\n"),
		WH("usr/bin/wall"),
		WH("tmp"),
		D("tmp").WithMode(01777),
	)
	f.env = &Layer{CreatedBy: "#(nop) ENV A=b", Empty: true}
	f.img1 = &Image{Names: []string{"busybox", "busybox@sha256:" + strings.Repeat("ab", 32)}, Layers: []*Layer{f.base, f.app}}
	f.img2 = &Image{Names: []string{"user/app:v1", "registry:5000/team/app:v2", "docker.io/library/alpine"}, Layers: []*Layer{f.base, f.env, f.app}, Created: t2001}
	f.img3 = &Image{Names: []string{"moved:1"}, Layers: []*Layer{f.app}}
	f.c1 = &Container{Name: "web", Image: f.img1, RW: NewLayer("", F("root/.ash_history", "ls\n"), WH("etc/app.conf"), D("").WithMode(0750).WithMtime(t2001))}
	f.c2 = &Container{Name: "db", Image: f.img2, Init: NewLayer("", F(".dockerenv", "")), Created: t2001}
	f.s = &Store{Images: []*Image{f.img1, f.img2, f.img3}, Containers: []*Container{f.c1, f.c2}}
	return f
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(read(t, p)), v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

func isDir(t *testing.T, p string) {
	t.Helper()
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		t.Errorf("%s: want a directory (%v)", p, err)
	}
}

func lines(ids ...string) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id + "\n")
	}
	return b.String()
}

func base(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Base(d)
	}
	return out
}

// checkLayers checks every layer directory of every chain against its
// description, and the things both layouts share.
func checkLayers(t *testing.T, f *fixture, b *Built) {
	t.Helper()
	// Each directory once: reading a tree moves its atimes.
	seen := map[string]bool{}
	for _, img := range f.s.Images {
		dirs, layers := b.Chain[img], b.ChainLayers[img]
		if len(dirs) != len(layers) {
			t.Fatalf("%v: %d dirs, %d layers", img.Names, len(dirs), len(layers))
		}
		for i, d := range dirs {
			if seen[d] {
				continue
			}
			seen[d] = true
			want, err := LayerNodes(layers[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := Compare(d, want, CompareOptions{Atime: true}); err != nil {
				t.Errorf("%v layer %d: %v", img.Names, i, err)
			}
			isDir(t, filepath.Join(b.Root, "aufs", "mnt", filepath.Base(d)))
		}
	}
	for _, c := range f.s.Containers {
		dirs, layers := b.ContainerChain[c], b.ContainerLayers[c]
		if len(dirs) != len(b.Chain[c.Image])+2 || len(layers) != len(dirs) {
			t.Fatalf("container %s: chain %v", c.Name, dirs)
		}
		if dirs[0] != filepath.Join(b.Root, "aufs", "diff", b.MountID[c]) || dirs[1] != dirs[0]+"-init" {
			t.Errorf("container %s: chain %v", c.Name, dirs)
		}
		for i, d := range dirs[:2] {
			want, err := LayerNodes(layers[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := Compare(d, want, CompareOptions{Atime: true}); err != nil {
				t.Errorf("container %s layer %d: %v", c.Name, i, err)
			}
		}
		if got, want := read(t, filepath.Join(b.Root, "aufs", "layers", b.MountID[c])), lines(base(dirs[1:])...); got != want {
			t.Errorf("aufs/layers of container %s: %q, want %q", c.Name, got, want)
		}
		if got, want := read(t, filepath.Join(b.Root, "aufs", "layers", b.MountID[c]+"-init")), lines(base(dirs[2:])...); got != want {
			t.Errorf("aufs/layers of container %s init: %q, want %q", c.Name, got, want)
		}
	}
	// The default init layer is what docker makes.
	if l := b.ContainerLayers[f.c1][1]; !slices.ContainsFunc(l.Entries, func(e Entry) bool { return e.Path == "etc/hosts" }) {
		t.Errorf("default init layer: %+v", l.Entries)
	}
	// A shared base is one directory; the same layer elsewhere is another.
	if last := func(img *Image) string { return b.Chain[img][len(b.Chain[img])-1] }; last(f.img1) != last(f.img2) {
		t.Errorf("shared base in two directories: %s, %s", last(f.img1), last(f.img2))
	}
	if b.LayerDir(f.img1, 1) == b.LayerDir(f.img3, 0) {
		t.Errorf("the app layer over base and alone share %s", b.LayerDir(f.img3, 0))
	}
	if b.LayerDir(f.img1, 0) != b.Chain[f.img1][1] || b.LayerDir(f.img1, 1) != b.Chain[f.img1][0] {
		t.Errorf("LayerDir disagrees with Chain")
	}
	for top, img := range map[*Image]string{f.img1: "img1", f.img2: "img2", f.img3: "img3"} {
		if len(b.ImageID[top]) != 64 || strings.Trim(b.ImageID[top], "0123456789abcdef") != "" {
			t.Errorf("%s: id %q", img, b.ImageID[top])
		}
	}
	// The store's other top-level directories.
	for _, d := range []string{"containers", "volumes", "tmp", "aufs/diff", "aufs/layers", "aufs/mnt"} {
		isDir(t, filepath.Join(b.Root, d))
	}
}

func TestWriteGraph(t *testing.T) {
	f := newFixture()
	b, err := f.s.Write(t.TempDir(), layerstore.LayoutGraph)
	if err != nil {
		t.Fatal(err)
	}
	checkLayers(t, f, b)
	root := b.Root

	var repos struct{ Repositories map[string]map[string]string }
	readJSON(t, filepath.Join(root, "repositories-aufs"), &repos)
	want := map[string]map[string]string{
		"busybox":                {"latest": b.ImageID[f.img1], "sha256:" + strings.Repeat("ab", 32): b.ImageID[f.img1]},
		"user/app":               {"v1": b.ImageID[f.img2]},
		"registry:5000/team/app": {"v2": b.ImageID[f.img2]},
		"alpine":                 {"latest": b.ImageID[f.img2]},
		"moved":                  {"1": b.ImageID[f.img3]},
	}
	if g, w := mustJSON(repos.Repositories), mustJSON(want); g != w {
		t.Errorf("repositories-aufs:\n%s\nwant\n%s", g, w)
	}

	for _, img := range f.s.Images {
		ids := base(b.Chain[img])
		if ids[0] != b.ImageID[img] {
			t.Errorf("%v: image id %s is not its top layer %s", img.Names, b.ImageID[img], ids[0])
		}
		if len(ids) != len(img.Layers) {
			t.Errorf("%v: %d layers on disk, want %d (empty ones too)", img.Names, len(ids), len(img.Layers))
		}
		for i, id := range ids {
			l := img.Layers[len(img.Layers)-1-i]
			dir := filepath.Join(root, "graph", id)
			var meta map[string]json.RawMessage
			readJSON(t, filepath.Join(dir, "json"), &meta)
			var v struct {
				ID              string `json:"id"`
				Parent          string `json:"parent"`
				Created         time.Time
				ContainerConfig struct{ Cmd []string } `json:"container_config"`
				Size            int64
			}
			readJSON(t, filepath.Join(dir, "json"), &v)
			if v.ID != id {
				t.Errorf("graph/%s/json: id %q", id, v.ID)
			}
			if i+1 < len(ids) {
				if v.Parent != ids[i+1] {
					t.Errorf("graph/%s/json: parent %q, want %q", id, v.Parent, ids[i+1])
				}
			} else if _, ok := meta["parent"]; ok {
				t.Errorf("graph/%s/json: a base has no parent key", id)
			}
			if c := v.ContainerConfig.Cmd; !slices.Equal(c, []string{"/bin/sh", "-c", l.CreatedBy}) {
				t.Errorf("graph/%s/json: Cmd %q", id, c)
			}
			for _, k := range []string{"created", "container_config", "config", "docker_version", "architecture", "os", "Size"} {
				if _, ok := meta[k]; !ok {
					t.Errorf("graph/%s/json: no %q", id, k)
				}
			}
			if got := read(t, filepath.Join(dir, "layersize")); got != strconv.FormatInt(v.Size, 10) {
				t.Errorf("graph/%s/layersize %q, json Size %d", id, got, v.Size)
			}
			if got, want := read(t, filepath.Join(root, "aufs", "layers", id)), lines(ids[i+1:]...); got != want {
				t.Errorf("aufs/layers/%s: %q, want %q", id, got, want)
			}
		}
	}
	// Sizes are the bytes of regular files.
	var baseMeta struct{ Size int64 }
	readJSON(t, filepath.Join(root, "graph", filepath.Base(b.LayerDir(f.img1, 0)), "json"), &baseMeta)
	if want := wantSize(f.base); baseMeta.Size != want {
		t.Errorf("base Size %d, want %d", baseMeta.Size, want)
	}
	// The top layer's time is the image's.
	var top2 struct{ Created time.Time }
	readJSON(t, filepath.Join(root, "graph", b.ImageID[f.img2], "json"), &top2)
	if !top2.Created.Equal(t2001) {
		t.Errorf("img2 created %v", top2.Created)
	}
	// The empty layer is a layer with an empty directory.
	if ents, err := os.ReadDir(b.LayerDir(f.img2, 1)); err != nil || len(ents) != 0 {
		t.Errorf("empty layer: %v %v", ents, err)
	}

	for _, c := range f.s.Containers {
		cid := b.ContainerID[c]
		if b.MountID[c] != cid {
			t.Errorf("pre-1.10 layers are named by container id")
		}
		var cfg struct{ ID, Image, Name, Driver string }
		readJSON(t, filepath.Join(root, "containers", cid, "config.json"), &cfg)
		if cfg.ID != cid || cfg.Image != b.ImageID[c.Image] || cfg.Name != "/"+c.Name || cfg.Driver != "aufs" {
			t.Errorf("config.json of %s: %+v", c.Name, cfg)
		}
	}
}

func wantSize(l *Layer) int64 {
	var n int64
	for _, e := range l.Entries {
		if e.Kind == File {
			n += e.FileSize()
		}
	}
	return n
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// chainIDs computes OCI chain ids from the text of the digests, here
// rather than with the identity package the writer uses.
func chainIDs(diffIDs []string) []string {
	var out []string
	for i, d := range diffIDs {
		if i == 0 {
			out = append(out, d)
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out = append(out, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return out
}

func TestWriteCAS(t *testing.T) {
	f := newFixture()
	b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	checkLayers(t, f, b)
	root := b.Root
	img := filepath.Join(root, "image", "aufs")

	var repos struct{ Repositories map[string]map[string]string }
	readJSON(t, filepath.Join(img, "repositories.json"), &repos)
	id := func(i *Image) string { return "sha256:" + b.ImageID[i] }
	want := map[string]map[string]string{
		"busybox":                {"busybox:latest": id(f.img1), "busybox@sha256:" + strings.Repeat("ab", 32): id(f.img1)},
		"user/app":               {"user/app:v1": id(f.img2)},
		"registry:5000/team/app": {"registry:5000/team/app:v2": id(f.img2)},
		"alpine":                 {"alpine:latest": id(f.img2)},
		"moved":                  {"moved:1": id(f.img3)},
	}
	if g, w := mustJSON(repos.Repositories), mustJSON(want); g != w {
		t.Errorf("repositories.json:\n%s\nwant\n%s", g, w)
	}

	for _, im := range f.s.Images {
		raw := read(t, filepath.Join(img, "imagedb", "content", "sha256", b.ImageID[im]))
		if sum := sha256.Sum256([]byte(raw)); hex.EncodeToString(sum[:]) != b.ImageID[im] {
			t.Errorf("%v: id is not the sha256 of its config", im.Names)
		}
		var cfg struct {
			Architecture, OS string
			Created          time.Time
			RootFS           struct {
				Type    string
				DiffIDs []string `json:"diff_ids"`
			}
			History []struct {
				CreatedBy  string `json:"created_by"`
				EmptyLayer bool   `json:"empty_layer"`
			}
		}
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.RootFS.Type != "layers" || cfg.Architecture != "amd64" || cfg.OS != "linux" {
			t.Errorf("%v: config %+v", im.Names, cfg)
		}
		diffIDs := reversed(b.DiffIDs[im])
		if !slices.Equal(cfg.RootFS.DiffIDs, diffIDs) {
			t.Errorf("%v: diff_ids %v, want %v", im.Names, cfg.RootFS.DiffIDs, diffIDs)
		}
		if len(cfg.History) != len(im.Layers) {
			t.Errorf("%v: %d history entries", im.Names, len(cfg.History))
		}
		for i, h := range cfg.History {
			l := im.Layers[i]
			if h.EmptyLayer != l.Empty || h.CreatedBy != "/bin/sh -c "+l.CreatedBy {
				t.Errorf("%v: history %d: %+v", im.Names, i, h)
			}
		}
		chain := chainIDs(diffIDs)
		if !slices.Equal(chain, reversed(b.ChainIDs[im])) {
			t.Errorf("%v: chain ids %v, want %v", im.Names, b.ChainIDs[im], chain)
		}
		dirs := reversed(b.Chain[im]) // base first
		for i, c := range chain {
			ldb := filepath.Join(img, "layerdb", "sha256", strings.TrimPrefix(c, "sha256:"))
			small := map[string]string{}
			for _, name := range []string{"cache-id", "diff", "size", "parent"} {
				if v, err := os.ReadFile(filepath.Join(ldb, name)); err == nil {
					small[name] = string(v)
					if strings.TrimSpace(string(v)) != string(v) {
						t.Errorf("%s/%s: %q has white space", ldb, name, v)
					}
				}
			}
			cache := small["cache-id"]
			if cache != filepath.Base(dirs[i]) || cache == strings.TrimPrefix(c, "sha256:") || len(cache) != 64 {
				t.Errorf("%s: cache-id %q, dir %s", ldb, cache, dirs[i])
			}
			if small["diff"] != diffIDs[i] {
				t.Errorf("%s: diff %q, want %q", ldb, small["diff"], diffIDs[i])
			}
			if i == 0 && small["parent"] != "" || i > 0 && small["parent"] != chain[i-1] {
				t.Errorf("%s: parent %q", ldb, small["parent"])
			}
			if want := strconv.FormatInt(wantSize(b.ChainLayers[im][len(chain)-1-i]), 10); small["size"] != want {
				t.Errorf("%s: size %q, want %s", ldb, small["size"], want)
			}
			z, err := os.Open(filepath.Join(ldb, "tar-split.json.gz"))
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(z)
			if err != nil {
				t.Errorf("%s: tar-split.json.gz: %v", ldb, err)
			} else if _, err := io.ReadAll(zr); err != nil {
				t.Errorf("%s: tar-split.json.gz: %v", ldb, err)
			}
			z.Close()
			var lower []string
			for j := i - 1; j >= 0; j-- {
				lower = append(lower, filepath.Base(dirs[j]))
			}
			if got := read(t, filepath.Join(root, "aufs", "layers", cache)); got != lines(lower...) {
				t.Errorf("aufs/layers/%s: %q, want %q", cache, got, lines(lower...))
			}
		}
	}
	// The empty layer has no directory, only history.
	if len(b.Chain[f.img2]) != 2 || b.LayerDir(f.img2, 1) != "" {
		t.Errorf("img2 chain %v", b.Chain[f.img2])
	}
	var cfg2 struct{ Created time.Time }
	readJSON(t, filepath.Join(img, "imagedb", "content", "sha256", b.ImageID[f.img2]), &cfg2)
	if !cfg2.Created.Equal(t2001) {
		t.Errorf("img2 created %v", cfg2.Created)
	}

	for _, c := range f.s.Containers {
		cid := b.ContainerID[c]
		var cfg struct{ ID, Image, Name, Driver string }
		readJSON(t, filepath.Join(root, "containers", cid, "config.v2.json"), &cfg)
		if cfg.ID != cid || cfg.Image != id(c.Image) || cfg.Name != "/"+c.Name || cfg.Driver != "aufs" {
			t.Errorf("config.v2.json of %s: %+v", c.Name, cfg)
		}
		m := filepath.Join(img, "layerdb", "mounts", cid)
		mount := read(t, filepath.Join(m, "mount-id"))
		if mount != b.MountID[c] || mount == cid || len(mount) != 64 {
			t.Errorf("%s: mount-id %q (container %s)", m, mount, cid)
		}
		if got := read(t, filepath.Join(m, "init-id")); got != mount+"-init" {
			t.Errorf("%s: init-id %q", m, got)
		}
		if got := read(t, filepath.Join(m, "parent")); got != b.ChainIDs[c.Image][0] {
			t.Errorf("%s: parent %q", m, got)
		}
	}
}

// Layers with the same content at the same place are one layer to a
// 1.10+ store (content addressed), two to a pre-1.10 one.
func TestWriteSameContent(t *testing.T) {
	a := NewLayer("same", F("x", "1"))
	b := NewLayer("same", F("x", "1"))
	imgA := &Image{Names: []string{"a"}, Layers: []*Layer{a}}
	imgB := &Image{Names: []string{"b"}, Layers: []*Layer{b}}
	s := &Store{Images: []*Image{imgA, imgB}}
	cas, err := s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	if cas.Chain[imgA][0] != cas.Chain[imgB][0] || cas.ImageID[imgA] != cas.ImageID[imgB] {
		t.Errorf("1.10+: %v and %v", cas.Chain[imgA], cas.Chain[imgB])
	}
	g, err := s.Write(t.TempDir(), layerstore.LayoutGraph)
	if err != nil {
		t.Fatal(err)
	}
	if g.Chain[imgA][0] == g.Chain[imgB][0] {
		t.Errorf("pre-1.10: one directory for two layers")
	}
	// Each has its tar-split, and nothing is left where they were made.
	for _, tmp := range []string{filepath.Join(cas.Root, "image/aufs/layerdb/tmp"), filepath.Join(g.Root, "graph/_tmp")} {
		if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
			t.Errorf("%s: %v %v", tmp, ents, err)
		}
	}
	for _, d := range g.Chain[imgB] {
		if _, err := os.Stat(filepath.Join(g.Root, "graph", filepath.Base(d), "tar-data.json.gz")); err != nil {
			t.Error(err)
		}
	}
	// A different description is a different diff id.
	c := NewLayer("same", F("x", "2"))
	if digestLayer(a) == digestLayer(c) || digestLayer(a) != digestLayer(b) {
		t.Errorf("digestLayer")
	}
}

func TestWriteAufsHardlinkWhiteouts(t *testing.T) {
	l := NewLayer("", WH("a"), OPQ("d"), F("d/f", "x"), WH("d/g"))
	img := &Image{Names: []string{"x"}, Layers: []*Layer{l}}
	b, err := (&Store{Images: []*Image{img}, AufsHardlinkWhiteouts: true}).Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	dir := b.Chain[img][0]
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, ".wh..wh.aufs"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode != unix.S_IFREG|0444 || st.Nlink != 4 || st.Size != 0 {
		t.Errorf(".wh..wh.aufs: mode %o, %d links", st.Mode, st.Nlink)
	}
	for _, p := range []string{".wh.a", "d/.wh..wh..opq", "d/.wh.g"} {
		var ws unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &ws); err != nil || ws.Ino != st.Ino {
			t.Errorf("%s: not a hard link of .wh..wh.aufs (%v)", p, err)
		}
	}
	for _, p := range []string{".wh..wh.plnk", ".wh..wh.orph"} {
		var ds unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &ds); err != nil || ds.Mode != unix.S_IFDIR|0700 {
			t.Errorf("%s: mode %o (%v)", p, ds.Mode, err)
		}
	}
	if err := Compare(filepath.Join(dir, "d"), []Node{{Path: "", Entry: D("").normalized()}}, CompareOptions{}); err == nil {
		t.Errorf("Compare missed the whiteouts")
	}
}

// Spot checks of what Write put on disk, read with plain system calls,
// so that a Compare bug cannot hide a writer bug.
func TestWriteAttributes(t *testing.T) {
	f := newFixture()
	b, err := f.s.Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	dir := b.LayerDir(f.img1, 0)
	st := func(p string) unix.Stat_t {
		var s unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		path      string
		mode      uint32
		uid, gid  uint32
		size      int64
		mtime     time.Time
		rdevMajor uint32
		rdevMinor uint32
	}{
		{path: "usr/bin/su", mode: unix.S_IFREG | 04755, size: 9, mtime: DefaultTime},
		{path: "usr/bin/wall", mode: unix.S_IFREG | 02755, gid: 5, size: 4, mtime: DefaultTime},
		{path: "etc/shadow", mode: unix.S_IFREG, size: 14, mtime: DefaultTime},
		{path: "tmp", mode: unix.S_IFDIR | 01777, size: -1, mtime: DefaultTime},
		{path: "home/u", mode: unix.S_IFDIR | 0700, uid: 1000, gid: 1000, size: -1, mtime: t1999},
		{path: "home", mode: unix.S_IFDIR | 0755, size: -1, mtime: DefaultTime},
		{path: "abs", mode: unix.S_IFLNK | 0777, uid: 3, gid: 4, size: 11, mtime: t1999},
		{path: "dev/null", mode: unix.S_IFCHR | 0666, size: 0, mtime: DefaultTime, rdevMajor: 1, rdevMinor: 3},
		{path: "dev/sda", mode: unix.S_IFBLK | 0660, size: 0, mtime: DefaultTime, rdevMajor: 8},
		{path: "run/fifo", mode: unix.S_IFIFO | 0644, uid: 7, gid: 8, size: 0, mtime: DefaultTime},
		{path: "run/sock", mode: unix.S_IFSOCK | 0777, size: 0, mtime: DefaultTime},
		{path: ".wh.gone", mode: unix.S_IFREG | 0444, size: 0, mtime: DefaultTime},
		{path: "old", mode: unix.S_IFREG | 0644, size: 1, mtime: t1999},
		{path: "new\nline", mode: unix.S_IFREG | 0644, size: 1, mtime: DefaultTime},
		{path: "\xff\xfe-latin1", mode: unix.S_IFREG | 0644, size: 1, mtime: DefaultTime},
		{path: "big", mode: unix.S_IFREG | 0644, size: 3<<20 + 5, mtime: DefaultTime},
		{path: "", mode: unix.S_IFDIR | 0755, size: -1, mtime: DefaultTime},
	}
	for _, tt := range tests {
		s := st(tt.path)
		if s.Mode != tt.mode || s.Uid != tt.uid || s.Gid != tt.gid || tt.size >= 0 && s.Size != tt.size ||
			!time.Unix(s.Mtim.Unix()).Equal(tt.mtime) || unix.Major(s.Rdev) != tt.rdevMajor || unix.Minor(s.Rdev) != tt.rdevMinor {
			t.Errorf("%q: mode %o uid %d gid %d size %d mtime %v rdev %d:%d; want %+v", tt.path, s.Mode, s.Uid, s.Gid, s.Size,
				time.Unix(s.Mtim.Unix()).UTC(), unix.Major(s.Rdev), unix.Minor(s.Rdev), tt)
		}
	}
	if s := st("old"); !time.Unix(s.Atim.Unix()).Equal(t2001) {
		t.Errorf("old: atime %v", time.Unix(s.Atim.Unix()))
	}
	su, su2, su3 := st("usr/bin/su"), st("usr/bin/su2"), st("usr/bin/su3")
	if su.Ino != su2.Ino || su.Ino != su3.Ino || su.Nlink != 3 {
		t.Errorf("hard links: inodes %d %d %d, %d links", su.Ino, su2.Ino, su3.Ino, su.Nlink)
	}
	if s := st("sparse"); s.Size != 64<<20 || s.Blocks*512 > 1<<20 {
		t.Errorf("sparse: size %d, %d bytes allocated", s.Size, s.Blocks*512)
	}
	if s := st("big"); s.Blocks*512 < 3<<20 {
		t.Errorf("big: %d bytes allocated, want no hole", s.Blocks*512)
	}
	for p, x := range map[string]map[string]string{
		"usr/bin/ping": {"security.capability": capNetRaw, "user.note": "hi", "trusted.t": "v"},
		"home/u":       {"user.dir": "1"},
		"abs":          {"trusted.link": "x"},
	} {
		for k, v := range x {
			got, err := getXattr(filepath.Join(dir, p), k)
			if err != nil || got != v {
				t.Errorf("%s: xattr %s = %q (%v), want %q", p, k, got, err, v)
			}
		}
	}
	if got := read(t, filepath.Join(dir, "usr/bin/su")); got != "su binary" {
		t.Errorf("su: %q", got)
	}
	big := read(t, filepath.Join(dir, "big"))
	if big[:1000] == strings.Repeat("\x00", 1000) || bytes.Count([]byte(big), []byte{0}) > len(big)/100 {
		t.Errorf("big is not pseudo-random")
	}
	if target, err := os.Readlink(filepath.Join(dir, "abs")); err != nil || target != "/etc/passwd" {
		t.Errorf("abs -> %q (%v)", target, err)
	}
	// Whiteouts and opaque markers of the app layer.
	app := b.LayerDir(f.img1, 1)
	for _, p := range []string{"etc/.wh..wh..opq", "usr/bin/.wh.wall", ".wh.tmp"} {
		if fi, err := os.Lstat(filepath.Join(app, p)); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ok := NewLayer("", F("a", ""))
	img := &Image{Names: []string{"x"}, Layers: []*Layer{ok}}
	tests := []struct {
		name   string
		s      *Store
		layout layerstore.Layout
		want   string
	}{
		{"bad name", &Store{Images: []*Image{{Names: []string{"UPPER"}, Layers: []*Layer{ok}}}}, layerstore.LayoutCAS, `"UPPER"`},
		{"tag and digest", &Store{Images: []*Image{{Names: []string{"a:1@sha256:" + strings.Repeat("0", 64)}, Layers: []*Layer{ok}}}}, layerstore.LayoutCAS, "both a tag and a digest"},
		{"name on two images", &Store{Images: []*Image{img, {Names: []string{"x:latest"}, Layers: []*Layer{NewLayer("", F("b", ""))}}}}, layerstore.LayoutGraph, "x:latest: name given to two different images"},
		{"name on two images cas", &Store{Images: []*Image{img, {Names: []string{"docker.io/library/x"}, Layers: []*Layer{NewLayer("", F("b", ""))}}}}, layerstore.LayoutCAS, "x:latest: name given"},
		{"image listed twice", &Store{Images: []*Image{img, img}}, layerstore.LayoutCAS, "listed twice"},
		{"no layer pre-1.10", &Store{Images: []*Image{{Names: []string{"e"}}}}, layerstore.LayoutGraph, "has no layer"},
		{"bad layer", &Store{Images: []*Image{{Names: []string{"e"}, Layers: []*Layer{ok, NewLayer("step two", F("a", ""), F("a", ""))}}}}, layerstore.LayoutCAS, `image 0 [e] layer 1 ("step two"): entry 1 "a": "a" given twice`},
		{"container of no image", &Store{Images: []*Image{img}, Containers: []*Container{{Name: "c", Image: &Image{}}}}, layerstore.LayoutCAS, `container "c": its image`},
		{"container name twice", &Store{Images: []*Image{img}, Containers: []*Container{{Name: "c", Image: img}, {Name: "c", Image: img}}}, layerstore.LayoutCAS, `repeated name "c"`},
		{"bad container layer", &Store{Images: []*Image{img}, Containers: []*Container{{Name: "c", Image: img, RW: NewLayer("", H("x", "y"))}}}, layerstore.LayoutGraph, `container "c" layer`},
		{"unknown layout", &Store{}, 0, "unknown layout"},
		{"unknown driver", &Store{Driver: "btrfs"}, layerstore.LayoutCAS, `unknown driver "btrfs"`},
		{"pre-1.10 overlay2", &Store{Driver: DriverOverlay2}, layerstore.LayoutGraph, "only the 1.10+ layout"},
		{"aufs branches of vfs", &Store{Driver: DriverVFS, AufsHardlinkWhiteouts: true}, layerstore.LayoutCAS, "no aufs branches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			_, err := tt.s.Write(root, tt.layout)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), root) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, root, tt.want)
			}
		})
	}
	// A root may hold other things, but not the driver's own store.
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "x"), nil, 0644)
	if _, err := (&Store{}).Write(root, layerstore.LayoutCAS); err != nil {
		t.Errorf("root with a file: %v", err)
	}
	if _, err := (&Store{}).Write(root, layerstore.LayoutCAS); err == nil || !strings.Contains(err.Error(), "already has image/aufs") {
		t.Errorf("root with a store: %v", err)
	}
}

// Compare must notice each kind of difference.
func TestCompareFindsDifferences(t *testing.T) {
	l := NewLayer("", F("f", "data"), H("h", "f"), F("g", "x"), L("s", "t"), D("d").WithXattr("user.a", "1"))
	want, err := LayerNodes(l)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"nothing", func(string) error { return nil }, ""},
		{"content", func(d string) error { return os.WriteFile(d+"/f", []byte("date"), 0644) }, "content differs at byte 3"},
		{"size", func(d string) error { return os.WriteFile(d+"/g", []byte("xy"), 0644) }, "size 2, want 1"},
		{"mode", func(d string) error { return os.Chmod(d+"/g", 0600) }, "mode 0600, want 0644"},
		{"owner", func(d string) error { return os.Lchown(d+"/s", 1, 2) }, "owner 1:2, want 0:0"},
		{"mtime", func(d string) error { return os.Chtimes(d+"/g", DefaultTime, t1999) }, "mtime"},
		{"extra", func(d string) error { return os.WriteFile(d+"/extra", nil, 0644) }, `"/extra": unexpected file`},
		{"missing", func(d string) error { return os.Remove(d + "/g") }, `"/g": missing`},
		{"type", func(d string) error { os.Remove(d + "/s"); return os.Mkdir(d+"/s", 0755) }, "is a dir, want symlink"},
		{"target", func(d string) error { os.Remove(d + "/s"); return os.Symlink("u", d+"/s") }, `symlink to "u", want "t"`},
		{"broken link", func(d string) error {
			os.Remove(d + "/h")
			if err := os.WriteFile(d+"/h", []byte("data"), 0644); err != nil {
				return err
			}
			return os.Chtimes(d+"/h", DefaultTime, DefaultTime)
		}, "want the inode of its hard link"},
		{"xattr", func(d string) error { return unix.Lsetxattr(d+"/d", "user.a", []byte("2"), 0) }, `xattr user.a = "2", want "1"`},
		{"extra xattr", func(d string) error { return unix.Lsetxattr(d+"/g", "user.b", []byte("2"), 0) }, "unexpected xattr user.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := &Image{Names: []string{"x"}, Layers: []*Layer{l}}
			b, err := (&Store{Images: []*Image{img}}).Write(t.TempDir(), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			dir := b.Chain[img][0]
			if err := tt.change(dir); err != nil {
				t.Fatal(err)
			}
			err = Compare(dir, want, CompareOptions{})
			if tt.want == "" {
				if err != nil {
					t.Error(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestContent(t *testing.T) {
	e := Entry{Path: "x", Data: []byte("hello"), Size: 100}
	r := Content(e)
	all, err := io.ReadAll(r)
	if err != nil || len(all) != 100 || string(all[:5]) != "hello" {
		t.Fatalf("%q %v", all, err)
	}
	for off := 0; off < 100; off++ {
		for n := 0; off+n <= 100 && n < 20; n++ {
			p := make([]byte, n)
			k, _ := r.ReadAt(p, int64(off))
			if k != n || !bytes.Equal(p, all[off:off+n]) {
				t.Fatalf("ReadAt(%d, %d) = %q, want %q", n, off, p[:k], all[off:off+n])
			}
		}
	}
	p := make([]byte, 10)
	if k, err := r.ReadAt(p, 95); k != 5 || err != io.EOF {
		t.Errorf("ReadAt past the end: %d %v", k, err)
	}
	other, _ := io.ReadAll(Content(Entry{Path: "y", Data: []byte("hello"), Size: 100}))
	if bytes.Equal(all, other) {
		t.Errorf("content does not depend on the path")
	}
	sparse, _ := io.ReadAll(Content(Entry{Path: "x", Data: []byte("hello"), Size: 100, Sparse: true}))
	if string(sparse[:5]) != "hello" || !bytes.Equal(sparse[5:], make([]byte, 95)) {
		t.Errorf("sparse content %q", sparse)
	}
}

// A 1.10+ image may have no layer directory at all (FROM scratch with
// only configuration steps); a container on it has only its own two.
func TestWriteCASNoLayers(t *testing.T) {
	img := &Image{Names: []string{"scratch:cfg"}, Layers: []*Layer{{CreatedBy: "#(nop) CMD [\"x\"]", Empty: true}}}
	c := &Container{Name: "c", Image: img}
	b, err := (&Store{Images: []*Image{img}, Containers: []*Container{c}}).Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Chain[img]) != 0 || len(b.ContainerChain[c]) != 2 {
		t.Errorf("chains %v %v", b.Chain[img], b.ContainerChain[c])
	}
	m := filepath.Join(b.Root, "image/aufs/layerdb/mounts", b.ContainerID[c])
	if _, err := os.Stat(filepath.Join(m, "parent")); !os.IsNotExist(err) {
		t.Errorf("a mount over no layer has a parent file: %v", err)
	}
	if got := read(t, filepath.Join(b.Root, "aufs/layers", b.MountID[c])); got != b.MountID[c]+"-init\n" {
		t.Errorf("aufs/layers of the container: %q", got)
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		}
	}
	readJSON(t, filepath.Join(b.Root, "image/aufs/imagedb/content/sha256", b.ImageID[img]), &cfg)
	if len(cfg.RootFS.DiffIDs) != 0 {
		t.Errorf("diff_ids %v", cfg.RootFS.DiffIDs)
	}
}
