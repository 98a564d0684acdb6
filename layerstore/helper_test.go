package layerstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

// This file is a small private store writer for the reader's unit tests:
// it lays files out as docs/formats.md says, directly, so that each test can
// then break exactly one of them.

var baseTime = time.Date(2015, 6, 1, 12, 0, 0, 0, time.UTC)

// hexOf is a stable 64-hex id for a label.
func hexOf(label string) string {
	sum := sha256.Sum256([]byte(label))
	return hex.EncodeToString(sum[:])
}

// withPrefix is a 64-hex id that starts with prefix.
func withPrefix(prefix, label string) string {
	return prefix + hexOf(label)[len(prefix):]
}

type testStore struct {
	t    testing.TB
	root string
	n    int // clock for created times
}

func newTestStore(t testing.TB) *testStore {
	return &testStore{t: t, root: t.TempDir()}
}

func (ts *testStore) path(rel string) string { return filepath.Join(ts.root, rel) }

func (ts *testStore) mkdir(rel string) {
	ts.t.Helper()
	if err := os.MkdirAll(ts.path(rel), 0o755); err != nil {
		ts.t.Fatal(err)
	}
}

// write writes data ([]byte, string, or a value to marshal as JSON) to rel.
func (ts *testStore) write(rel string, data any) {
	ts.t.Helper()
	var b []byte
	switch d := data.(type) {
	case []byte:
		b = d
	case string:
		b = []byte(d)
	default:
		var err error
		if b, err = json.Marshal(d); err != nil {
			ts.t.Fatal(err)
		}
	}
	p := ts.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		ts.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testStore) read(rel string) string {
	ts.t.Helper()
	b, err := os.ReadFile(ts.path(rel))
	if err != nil {
		ts.t.Fatal(err)
	}
	return string(b)
}

func (ts *testStore) remove(rel string) {
	ts.t.Helper()
	if err := os.RemoveAll(ts.path(rel)); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testStore) symlink(target, rel string) {
	ts.t.Helper()
	if err := os.Symlink(target, ts.path(rel)); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testStore) created() string {
	ts.n++
	return baseTime.Add(time.Duration(ts.n) * time.Minute).Format(time.RFC3339Nano)
}

func (ts *testStore) open() *Store {
	ts.t.Helper()
	s, err := Open(ts.root)
	if err != nil {
		ts.t.Fatalf("Open: %v", err)
	}
	return s
}

// layerFile writes aufs/layers/<id> listing below, nearest first; nl
// alternates the trailing newline, as both occur.
func (ts *testStore) layerFile(id string, below []string) {
	text := strings.Join(below, "\n")
	if len(below) > 0 {
		text += "\n"
	}
	ts.write("aufs/layers/"+id, text)
}

// graphStore writes a pre-1.10 store.
type graphStore struct {
	*testStore
	parent map[string]string
	tags   map[string]map[string]string
}

func newGraph(t testing.TB) *graphStore {
	g := &graphStore{testStore: newTestStore(t), parent: map[string]string{}, tags: map[string]map[string]string{}}
	g.mkdir("graph")
	g.mkdir("aufs/diff")
	g.mkdir("aufs/layers")
	g.mkdir("aufs/mnt")
	g.mkdir("containers")
	g.write("repositories-aufs", `{"Repositories":{}}`)
	return g
}

// ancestors is id's chain below it, nearest first.
func (g *graphStore) ancestors(id string) []string {
	var out []string
	for p := g.parent[id]; p != ""; p = g.parent[p] {
		out = append(out, p)
	}
	return out
}

// image writes graph/<id>/ and its layer; withLayersFile is false only
// for long chains, where only the top's aufs/layers is read.
func (g *graphStore) image(id, parent, cmd string) {
	g.imageOpt(id, parent, cmd, true)
}

func (g *graphStore) imageOpt(id, parent, cmd string, withLayersFile bool) {
	g.parent[id] = parent
	j := map[string]any{
		"id":      id,
		"created": g.created(),
		"container_config": map[string]any{
			"Cmd": []string{"/bin/sh", "-c", cmd},
		},
		"config":       map[string]any{"Cmd": []string{"sh"}},
		"architecture": "amd64",
		"os":           "linux",
	}
	if parent != "" {
		j["parent"] = parent
	}
	g.write("graph/"+id+"/json", j)
	g.write("graph/"+id+"/layersize", fmt.Sprint(len(id)*10+len(cmd)))
	g.mkdir("aufs/diff/" + id)
	if withLayersFile {
		g.layerFile(id, g.ancestors(id))
	}
}

// chain writes images for labels, base first, and returns their ids top first.
func (g *graphStore) chain(labels ...string) []string {
	parent := ""
	var ids []string
	for _, l := range labels {
		id := hexOf(l)
		g.image(id, parent, "#(nop) ADD "+l)
		ids = append([]string{id}, ids...)
		parent = id
	}
	return ids
}

func (g *graphStore) tag(repo, tag, id string) {
	if g.tags[repo] == nil {
		g.tags[repo] = map[string]string{}
	}
	g.tags[repo][tag] = id
	g.write("repositories-aufs", map[string]any{"Repositories": g.tags})
}

func (g *graphStore) container(cid, name, image string) {
	g.write("containers/"+cid+"/config.json", map[string]any{
		"ID":      cid,
		"Created": g.created(),
		"Path":    "sh",
		"Config":  map[string]any{"Image": "busybox", "Cmd": []string{"sh"}},
		"Image":   image,
		"Name":    "/" + name,
		"Driver":  "aufs",
	})
	g.mkdir("aufs/diff/" + cid)
	g.mkdir("aufs/diff/" + cid + "-init")
	below := append([]string{image}, g.ancestors(image)...)
	g.layerFile(cid+"-init", below)
	g.layerFile(cid, append([]string{cid + "-init"}, below...))
}

// casStore writes a 1.10+ store of one driver.
type casStore struct {
	*testStore
	drv    string
	caches map[string][]string // image id -> cache ids, top first
	chains map[string][]string // image id -> chain ids, base first
	tags   map[string]map[string]string
	nl     bool // whether small files end in a newline; alternates
}

func newCAS(t testing.TB) *casStore { return newCASDriver(t, "aufs") }

// newCASDriver starts a store of driver drv, laid out as
// docs/drivers.md says.
func newCASDriver(t testing.TB, drv string) *casStore {
	c := &casStore{testStore: newTestStore(t), drv: drv, caches: map[string][]string{}, chains: map[string][]string{}, tags: map[string]map[string]string{}}
	c.mkdir(c.meta() + "/imagedb/content/sha256")
	c.mkdir(c.meta() + "/imagedb/metadata/sha256")
	c.mkdir(c.meta() + "/layerdb/sha256")
	c.mkdir(c.meta() + "/layerdb/mounts")
	switch drv {
	case "aufs":
		c.mkdir("aufs/diff")
		c.mkdir("aufs/layers")
	case "overlay2", "fuse-overlayfs":
		c.mkdir(drv + "/l")
	case "vfs":
		c.mkdir("vfs/dir")
	default:
		c.mkdir(drv)
	}
	c.mkdir("containers")
	return c
}

// meta is the driver's metadata directory.
func (c *casStore) meta() string { return "image/" + c.drv }

// linkOf is the overlay2 short name given to layer id.
func linkOf(id string) string { return strings.ToUpper(hexOf("link:" + id))[:26] }

// layerDir is where the driver keeps the files of layer id.
func (c *casStore) layerDir(id string) string {
	switch c.drv {
	case "overlay2", "fuse-overlayfs":
		return c.drv + "/" + id + "/diff"
	case "overlay":
		if _, err := os.Stat(c.path("overlay/" + id + "/upper")); err == nil {
			return "overlay/" + id + "/upper"
		}
		return "overlay/" + id + "/root"
	case "vfs":
		return "vfs/dir/" + id
	}
	return "aufs/diff/" + id
}

// newLayer makes layer id's directory and the driver's files for it;
// below are the ids under it, nearest first; imageTop is, for a
// container's layer, the image's top layer (overlay v1's lower-id).
func (c *casStore) newLayer(id string, below []string, imageTop string, layersFile bool) {
	switch c.drv {
	case "aufs":
		c.mkdir("aufs/diff/" + id)
		if layersFile {
			c.layerFile(id, below)
		}
	case "overlay2", "fuse-overlayfs":
		c.mkdir(c.drv + "/" + id + "/diff")
		c.write(c.drv+"/"+id+"/link", linkOf(id))
		c.symlink("../"+id+"/diff", c.drv+"/l/"+linkOf(id))
		if len(below) > 0 {
			var ls []string
			for _, b := range below {
				ls = append(ls, "l/"+linkOf(b))
			}
			c.write(c.drv+"/"+id+"/lower", strings.Join(ls, ":"))
			c.mkdir(c.drv + "/" + id + "/work")
		}
	case "overlay":
		if imageTop == "" {
			c.mkdir("overlay/" + id + "/root")
			return
		}
		c.mkdir("overlay/" + id + "/upper")
		c.mkdir("overlay/" + id + "/work")
		c.write("overlay/"+id+"/lower-id", imageTop)
	case "vfs":
		c.mkdir("vfs/dir/" + id)
	}
}

func (c *casStore) small(rel, s string) {
	c.nl = !c.nl
	if c.nl {
		s += "\n"
	}
	c.write(rel, s)
}

func diffIDOf(label string) string { return "sha256:" + hexOf("diff:"+label) }

// image writes an image whose layers are labels, base first, with a
// history that also holds an empty layer, and returns its id.
func (c *casStore) image(labels ...string) string {
	return c.imageOpt(true, labels...)
}

func (c *casStore) imageOpt(withLayersFiles bool, labels ...string) string {
	var diffs []digest.Digest
	var diffIDs []string
	for _, l := range labels {
		diffs = append(diffs, digest.Digest(diffIDOf(l)))
		diffIDs = append(diffIDs, diffIDOf(l))
	}
	chains := identity.ChainIDs(append([]digest.Digest(nil), diffs...))
	var caches []string // base first
	for i, ch := range chains {
		chainHex := ch.Encoded()
		cache := hexOf("cache:" + ch.String())
		dir := c.meta() + "/layerdb/sha256/" + chainHex
		if _, err := os.Stat(c.path(dir)); err != nil {
			c.small(dir+"/cache-id", cache)
			c.small(dir+"/diff", diffIDs[i])
			if i > 0 {
				c.small(dir+"/parent", chains[i-1].String())
			}
			c.small(dir+"/size", fmt.Sprint(1000+i))
			c.write(dir+"/tar-split.json.gz", "")
			c.newLayer(cache, reversed(caches), "", withLayersFiles || i == len(chains)-1)
		}
		caches = append(caches, cache)
	}
	history := []map[string]any{{"created": c.created(), "created_by": "/bin/sh -c #(nop)  MAINTAINER someone", "empty_layer": true}}
	for _, l := range labels {
		history = append(history, map[string]any{"created": c.created(), "created_by": "/bin/sh -c #(nop) ADD file:" + l + " in /"})
	}
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      c.created(),
		"config":       map[string]any{"Cmd": []string{"sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history":      history,
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	id := hexOf(string(data))
	c.write(c.meta()+"/imagedb/content/sha256/"+id, data)
	c.caches[id] = reversed(caches)
	var cs []string
	for _, ch := range chains {
		cs = append(cs, ch.String())
	}
	c.chains[id] = cs
	return id
}

// rawImage stores config bytes as an image, named by their digest.
func (c *casStore) rawImage(data string) string {
	id := hexOf(data)
	c.write(c.meta()+"/imagedb/content/sha256/"+id, data)
	return id
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func (c *casStore) tag(key, id string) {
	named, err := normalizeRef(key)
	if err != nil {
		c.t.Fatal(err)
	}
	repo := reference.FamiliarName(named)
	if c.tags[repo] == nil {
		c.tags[repo] = map[string]string{}
	}
	c.tags[repo][key] = "sha256:" + id
	c.write(c.meta()+"/repositories.json", map[string]any{"Repositories": c.tags})
}

func (c *casStore) mountID(cid string) string { return hexOf("mount:" + cid) }

func (c *casStore) container(cid, name, image string) {
	c.write("containers/"+cid+"/config.v2.json", map[string]any{
		"ID":      cid,
		"Created": c.created(),
		"Path":    "sh",
		"Config":  map[string]any{"Image": "busybox", "Cmd": []string{"sh"}},
		"Image":   "sha256:" + image,
		"Name":    "/" + name,
		"Driver":  c.drv,
	})
	mount := c.mountID(cid)
	dir := c.meta() + "/layerdb/mounts/" + cid
	c.small(dir+"/mount-id", mount)
	c.small(dir+"/init-id", mount+"-init")
	top := ""
	if ch := c.chains[image]; len(ch) > 0 {
		c.small(dir+"/parent", ch[len(ch)-1])
		top = c.caches[image][0]
	}
	c.newLayer(mount+"-init", c.caches[image], top, true)
	c.newLayer(mount, append([]string{mount + "-init"}, c.caches[image]...), top, true)
}

// layerIDs is the IDs of a chain.
func layerIDs(ls []Layer) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

// wantCorrupt checks that err is a *CorruptError naming a file ending in
// file, with msg in its text.
func wantCorrupt(t testing.TB, err error, file, msg string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *CorruptError naming %s", err, err, file)
	}
	if !strings.HasSuffix(ce.File, file) {
		t.Errorf("CorruptError names %s, want ...%s (%v)", ce.File, file, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not say %q", err, msg)
	}
}

// wantProblem checks that Problems holds a *CorruptError naming file and
// saying msg.
func wantProblem(t testing.TB, s *Store, file, msg string) {
	t.Helper()
	for _, p := range s.Problems() {
		var ce *CorruptError
		if errors.As(p, &ce) && strings.HasSuffix(ce.File, file) && strings.Contains(p.Error(), msg) {
			return
		}
	}
	t.Errorf("no problem naming %s saying %q in %v", file, msg, s.Problems())
}
