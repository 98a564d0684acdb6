package layerstore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestShortName(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want bool
	}{
		{"app", true},
		{"app:1", true},
		{"team/app:1", true},
		{"localhost/app:1", false},
		{"quay.io/team/app", false},
		{"registry:5000/app", false},
		{"app@sha256:0123", true},
	} {
		if got := shortName(c.ref); got != c.want {
			t.Errorf("shortName(%q) = %v, want %v", c.ref, got, c.want)
		}
	}
}

func TestBigDataPath(t *testing.T) {
	s := &store{root: "/g", drv: vfsDriver{}}
	id := strings.Repeat("a", 64)
	for _, c := range []struct {
		key, want, err string
	}{
		{"manifest", "/g/vfs-images/" + id + "/manifest", ""},
		{"config.json", "/g/vfs-images/" + id + "/config.json", ""},
		// Anything outside [0-9a-z.] is "=" and the key's base64, as
		// containers/storage names it (taken from a real Podman store).
		{"sha256:e1fa01392eafe0642ce630b26efa34dd1e2b1b0a97f9fd0072dbd0a02219c650",
			"/g/vfs-images/" + id + "/=c2hhMjU2OmUxZmEwMTM5MmVhZmUwNjQyY2U2MzBiMjZlZmEzNGRkMWUyYjFiMGE5N2Y5ZmQwMDcyZGJkMGEwMjIxOWM2NTA=", ""},
		{"..", "", "has no file name of its own"},
		{".", "", "has no file name of its own"},
		// base64 of this key holds a "/": it cannot be one file.
		{"???", "", "has no file name of its own"},
	} {
		got, err := s.bigDataPath(id, c.key)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("bigDataPath(%q) = %q, %v; want error %q", c.key, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("bigDataPath(%q) = %q, %v; want %q", c.key, got, err, c.want)
		}
	}
}

// graphroot is a containers/storage graphroot written by hand, for the
// faults a real engine never writes: one vfs image of two layers and one
// container, named localhost/app:1 and docker.io/library/app:2.
type graphroot struct {
	dir               string
	base, top, ctr    string // layer ids
	imageID, ctrID    string
	layers, images    []map[string]any
	containers        []map[string]any
	configData        []byte
	diffBase, diffTop string
}

func newGraphroot(t *testing.T) *graphroot {
	g := &graphroot{dir: t.TempDir(), diffBase: "sha256:" + hexOf("base"), diffTop: "sha256:" + hexOf("top")}
	g.base, g.top, g.ctr = hexOf("base layer"), hexOf("top layer"), hexOf("container layer")
	g.ctrID = hexOf("container")
	g.configData = []byte(`{"created":"2024-01-02T03:04:05Z","rootfs":{"type":"layers","diff_ids":["` + g.diffBase + `","` + g.diffTop + `"]},"history":[{"created_by":"one"},{"created_by":"two"}]}`)
	g.imageID = hexOf(string(g.configData))
	g.layers = []map[string]any{
		{"id": g.base, "diff-digest": g.diffBase, "diff-size": 10},
		{"id": g.top, "parent": g.base, "diff-digest": g.diffTop, "diff-size": 20},
		{"id": g.ctr, "parent": g.top, "names": []string{"c1-layer"}},
	}
	g.images = []map[string]any{{
		"id": g.imageID, "names": []string{"localhost/app:1", "docker.io/library/app:2"}, "layer": g.top,
		"big-data-names": []string{"sha256:" + g.imageID},
	}}
	g.containers = []map[string]any{{"id": g.ctrID, "names": []string{"c1"}, "image": g.imageID, "layer": g.ctr}}
	return g
}

// write lays g out, with the tree of every layer holding one file.
func (g *graphroot) write(t *testing.T) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	put := func(rel string, v any) {
		t.Helper()
		data, ok := v.([]byte)
		if !ok {
			var err error
			data, err = json.Marshal(v)
			must(err)
		}
		p := filepath.Join(g.dir, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, 0o644))
	}
	put("vfs-layers/layers.json", g.layers)
	put("vfs-images/images.json", g.images)
	put("vfs-containers/containers.json", g.containers)
	s := &store{root: g.dir, drv: vfsDriver{}}
	if p, err := s.bigDataPath(g.imageID, "sha256:"+g.imageID); err == nil {
		put(strings.TrimPrefix(p, g.dir+"/"), g.configData)
	}
	for _, id := range []string{g.base, g.top, g.ctr} {
		put(filepath.Join("vfs/dir", id, "file"), []byte(id[:8]))
	}
}

func TestContainersStorageGraphroot(t *testing.T) {
	g := newGraphroot(t)
	g.write(t)
	s, err := Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Drivers(); len(got) != 1 || got[0] != "vfs" {
		t.Fatalf("Drivers() = %q, want [vfs]", got)
	}
	imgs := s.Images()
	if len(imgs) != 1 || strings.Join(imgs[0].Names, ",") != "docker.io/library/app:2,localhost/app:1" {
		t.Fatalf("Images() = %+v, want one image named docker.io/library/app:2 and localhost/app:1", imgs)
	}
	if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !imgs[0].Created.Equal(want) {
		t.Errorf("Created = %v, want %v", imgs[0].Created, want)
	}
	for ref, name := range map[string]string{
		"app:1":                   "localhost/app:1",
		"localhost/app:1":         "localhost/app:1",
		"app:2":                   "docker.io/library/app:2",
		"docker.io/library/app:2": "docker.io/library/app:2",
		g.imageID[:8]:             "docker.io/library/app:2",
	} {
		tg, err := s.Resolve(ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if tg.Name != name || len(tg.Layers) != 2 || tg.Layers[0].ID != g.top || tg.Layers[1].ID != g.base {
			t.Errorf("Resolve(%q) = %s, %+v; want %s over layers top, base", ref, tg.Name, tg.Layers, name)
		}
		if tg.Layers[0].DiffID != g.diffTop || tg.Layers[0].CreatedBy != "two" || !tg.Layers[0].EngineRoot ||
			tg.Layers[0].TarSplit != filepath.Join(g.dir, "vfs-layers", g.top+".tar-split.gz") {
			t.Errorf("Resolve(%q): top layer %+v", ref, tg.Layers[0])
		}
	}
	tg, err := s.Resolve("c1")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Kind != KindContainer || len(tg.Layers) != 3 || tg.Layers[0].ID != g.ctr || len(tg.Stack) != 1 || tg.Stack[0].Dir != filepath.Join(g.dir, "vfs/dir", g.ctr) {
		t.Errorf("Resolve(c1) = %+v", tg)
	}
	if _, err := s.Resolve("app:3"); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("Resolve(app:3) = %v, want not found", err)
	}
}

func TestContainersStorageAmbiguousShortName(t *testing.T) {
	g := newGraphroot(t)
	g.images[0]["names"] = []string{"quay.io/a/app:1", "example.com/b/app:1"}
	g.write(t)
	s, err := Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Resolve("app:1")
	var ae *AmbiguousError
	if !errors.As(err, &ae) || strings.Join(ae.Candidates, " ") != "example.com/b/app:1 quay.io/a/app:1" {
		t.Errorf("Resolve(app:1) = %v, want ambiguous between example.com/b/app:1 and quay.io/a/app:1", err)
	}
	if tg, err := s.Resolve("a/app:1"); err != nil || tg.Name != "quay.io/a/app:1" {
		t.Errorf("Resolve(a/app:1) = %v, want quay.io/a/app:1", err)
	}
}

// TestContainersStorageHostile: faults no engine writes get an error that
// names the file, never a panic and never a path outside the store.
func TestContainersStorageHostile(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(g *graphroot)
		ref    string
		open   string // error of Open, or ""
		file   string // suffix of the file the error names
		msg    string
	}{
		{name: "parent cycle", break_: func(g *graphroot) { g.layers[1]["parent"] = g.top },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "loop back"},
		{name: "layer id with ..", break_: func(g *graphroot) { g.layers[1]["parent"] = "../../../etc" },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "not a layer id"},
		{name: "container layer outside", break_: func(g *graphroot) { g.containers[0]["layer"] = "../../etc" },
			ref: "c1", file: "vfs-containers/containers.json", msg: "not 64 hex"},
		{name: "image id with ..", break_: func(g *graphroot) { g.images[0]["id"] = "../x" },
			ref: "app:1", msg: "not found"},
		{name: "missing layer", break_: func(g *graphroot) { g.layers = g.layers[1:] },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "is not in it"},
		{name: "diff id disagrees", break_: func(g *graphroot) { g.layers[0]["diff-digest"] = g.diffTop },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "config says layer 0"},
		{name: "chain too short", break_: func(g *graphroot) { delete(g.layers[1], "parent") },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "end after 1"},
		{name: "incomplete layer", break_: func(g *graphroot) { g.layers[0]["flags"] = map[string]any{"incomplete": true} },
			ref: "app:1", file: "vfs-layers/layers.json", msg: "incomplete"},
		{name: "config altered", break_: func(g *graphroot) { g.configData = append(g.configData, ' ') },
			ref: "app:1", msg: "not the image id"},
		{name: "no config", break_: func(g *graphroot) { g.images[0]["big-data-names"] = []string{"manifest"} },
			ref: "app:1", file: "vfs-images/images.json", msg: "has no config"},
		{name: "truncated layers.json", break_: func(g *graphroot) {}, open: "invalid JSON", file: "vfs-layers/layers.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGraphroot(t)
			c.break_(g)
			g.write(t)
			if c.name == "truncated layers.json" {
				p := filepath.Join(g.dir, "vfs-layers/layers.json")
				data, _ := os.ReadFile(p)
				if err := os.WriteFile(p, data[:len(data)/2], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(g.dir)
			if c.open != "" {
				if err == nil || !strings.Contains(err.Error(), c.open) || !strings.Contains(err.Error(), c.file) {
					t.Fatalf("Open: %v, want an error naming %s with %q", err, c.file, c.open)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Resolve(c.ref)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Resolve(%q) = %v, want an error with %q", c.ref, err, c.msg)
			}
			var ce *CorruptError
			if c.file != "" && (!errors.As(err, &ce) || !strings.HasSuffix(ce.File, c.file)) {
				t.Errorf("Resolve(%q) = %v, want it to name %s", c.ref, err, c.file)
			}
		})
	}
}

// TestContainersStorageOverlayLinks: overlay's l/ links are never
// followed, even one to /, and a lower that names anything but the
// chain's own links is an error naming it.
func TestContainersStorageOverlayLinks(t *testing.T) {
	for _, c := range []struct {
		name, lower, msg string
	}{
		{"links to /", "", ""},
		{"lower outside", "l/../../../../etc", "is not l/ and a 26-character link name"},
		{"lower of another layer", "l/ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "entry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGraphroot(t)
			g.write(t)
			// The same store under overlay: diff/, link and lower as
			// Podman writes them, every l/ link aimed at /.
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, kind := range []string{"layers", "images", "containers"} {
				must(os.Rename(filepath.Join(g.dir, "vfs-"+kind), filepath.Join(g.dir, "overlay-"+kind)))
			}
			links := map[string]string{g.base: "AAAAAAAAAAAAAAAAAAAAAAAAAA", g.top: "BBBBBBBBBBBBBBBBBBBBBBBBBB", g.ctr: "CCCCCCCCCCCCCCCCCCCCCCCCCC"}
			lower := map[string]string{g.top: "l/AAAAAAAAAAAAAAAAAAAAAAAAAA", g.ctr: "l/BBBBBBBBBBBBBBBBBBBBBBBBBB:l/AAAAAAAAAAAAAAAAAAAAAAAAAA"}
			if c.lower != "" {
				lower[g.ctr] = c.lower
			}
			must(os.MkdirAll(filepath.Join(g.dir, "overlay", "l"), 0o700))
			for id, link := range links {
				dir := filepath.Join(g.dir, "overlay", id)
				must(os.MkdirAll(dir, 0o700))
				must(os.Rename(filepath.Join(g.dir, "vfs/dir", id), filepath.Join(dir, "diff")))
				must(os.WriteFile(filepath.Join(dir, "link"), []byte(link), 0o644))
				if l := lower[id]; l != "" {
					must(os.WriteFile(filepath.Join(dir, "lower"), []byte(l), 0o644))
				}
				must(os.Symlink("/", filepath.Join(g.dir, "overlay", "l", link)))
			}
			s, err := Open(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := s.Resolve("c1")
			if c.msg != "" {
				var ce *CorruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.msg) || ce.File != filepath.Join(g.dir, "overlay", g.ctr, "lower") {
					t.Fatalf("Resolve(c1) = %v, want an error naming overlay/<id>/lower with %q", err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var dirs []string
			for _, l := range tg.Stack {
				dirs = append(dirs, strings.TrimPrefix(l.Dir, g.dir+"/"))
			}
			want := []string{"overlay/" + g.ctr + "/diff", "overlay/" + g.top + "/diff", "overlay/" + g.base + "/diff"}
			if strings.Join(dirs, " ") != strings.Join(want, " ") {
				t.Errorf("stack %q, want %q", dirs, want)
			}
			// overlay is also the name of Docker's overlay v1: the target
			// keeps its own driver.
			name, data := tg.GraphDriver()
			if name != "overlay" || tg.Stack[0].Encoding.Name != "overlay" || data["UpperDir"] != filepath.Join(g.dir, want[0]) || tg.ContainerDiff() != CompareTrees {
				t.Errorf("driver %s, encoding %s, GraphDriver %v, ContainerDiff %v", name, tg.Stack[0].Encoding.Name, data, tg.ContainerDiff())
			}
		})
	}
}

// TestContainersStorageCRIO: a CRI-O container (no Podman state; its
// spec in userdata/config.json) is named by its pod as crictl shows it,
// found by that name and by the one containers.json gives, with its
// command and annotations as labels; a pod's sandbox is marked.
func TestContainersStorageCRIO(t *testing.T) {
	g := newGraphroot(t)
	sandboxID := hexOf("sandbox")
	g.containers[0]["names"] = []string{"k8s_web_shop-7f9_prod_1234_0"}
	g.containers = append(g.containers, map[string]any{"id": sandboxID, "names": []string{"k8s_POD_shop-7f9_prod_1234_0"}, "image": g.imageID, "layer": hexOf("sandbox layer")})
	g.layers = append(g.layers, map[string]any{"id": hexOf("sandbox layer"), "parent": g.top})
	g.write(t)
	spec := func(id, kind, ctr string, args ...string) {
		t.Helper()
		doc := map[string]any{"process": map[string]any{"args": args}, "annotations": map[string]string{
			"io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.name": "shop-7f9",
			"io.kubernetes.container.name": ctr, "io.kubernetes.cri-o.ContainerType": kind}}
		data, _ := json.Marshal(doc)
		p := filepath.Join(g.dir, "vfs-containers", id, "userdata", "config.json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec(g.ctrID, "container", "web", "/srv/web", "--port", "80")
	spec(sandboxID, "sandbox", "POD", "/pause")
	if err := os.MkdirAll(filepath.Join(g.dir, "vfs/dir", hexOf("sandbox layer")), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Container{}
	for _, c := range s.Containers() {
		got[c.Name] = c
	}
	web, ok := got["prod/shop-7f9/web"]
	if !ok || web.Sandbox || web.Command() != "/srv/web --port 80" || web.Labels["io.kubernetes.pod.namespace"] != "prod" {
		t.Errorf("containers %+v, want prod/shop-7f9/web running /srv/web --port 80", got)
	}
	if sb, ok := got["prod/shop-7f9"]; !ok || !sb.Sandbox {
		t.Errorf("containers %+v, want the sandbox prod/shop-7f9 marked", got)
	}
	for _, ref := range []string{"prod/shop-7f9/web", "k8s_web_shop-7f9_prod_1234_0"} {
		if tg, err := s.Resolve(ref); err != nil || tg.Container.ID != g.ctrID {
			t.Errorf("Resolve(%q) = %v, want the web container", ref, err)
		}
	}
}
