package layerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestOpenNotAStore(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "btrfs")
	if err := os.MkdirAll(filepath.Join(overlay, "image", "btrfs", "imagedb"), 0o755); err != nil {
		t.Fatal(err)
	}
	graphOnly := filepath.Join(dir, "graphonly") // graph/ without aufs/: another driver's
	if err := os.MkdirAll(filepath.Join(graphOnly, "graph"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, root, msg string
		is              error
	}{
		{"missing", filepath.Join(dir, "nothing"), "no such file", fs.ErrNotExist},
		{"file", file, "not a directory", syscall.ENOTDIR},
		{"empty dir", dir, "no store here: not a Docker root", nil},
		{"unsupported driver", overlay, "unsupported storage driver btrfs", nil},
		{"graph of another driver", graphOnly, "no store here: not a Docker root", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(c.root)
			if err == nil {
				t.Fatalf("Open(%s) = %v, want an error", c.root, s)
			}
			if !strings.Contains(err.Error(), c.root) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not name %s and say %q", err, c.root, c.msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
		})
	}
}

func TestEmptyStore(t *testing.T) {
	for _, c := range []struct {
		name   string
		dirs   []string
		files  map[string]string
		layout Layout
	}{
		{"graph", []string{"graph", "aufs"}, nil, LayoutGraph},
		{"graph tag store only", nil, map[string]string{"repositories-aufs": `{"Repositories":{}}`}, LayoutGraph},
		{"graph null tag store", []string{"graph"}, map[string]string{"repositories-aufs": `null`}, LayoutGraph},
		{"cas bare", []string{"image/aufs"}, nil, LayoutCAS},
		{"cas", []string{"image/aufs/imagedb/content/sha256", "image/aufs/layerdb/sha256", "aufs/diff", "aufs/layers", "containers"},
			map[string]string{"image/aufs/repositories.json": `{"Repositories":{}}`}, LayoutCAS},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestStore(t)
			for _, d := range c.dirs {
				ts.mkdir(d)
			}
			for f, data := range c.files {
				ts.write(f, data)
			}
			s := ts.open()
			if s.Layout() != c.layout {
				t.Errorf("layout %v, want %v", s.Layout(), c.layout)
			}
			if len(s.Images()) != 0 || len(s.Containers()) != 0 || len(s.Problems()) != 0 {
				t.Errorf("images %v containers %v problems %v", s.Images(), s.Containers(), s.Problems())
			}
			ls, err := s.Layers()
			if err != nil || len(ls) != 0 {
				t.Errorf("Layers() = %v, %v", ls, err)
			}
			_, err = s.Resolve("busybox")
			var nf *NotFoundError
			if !errors.As(err, &nf) || len(nf.Suggestions) != 0 {
				t.Errorf("Resolve in an empty store: %v", err)
			}
		})
	}
}

// A migrated host has both layouts: Docker uses the 1.10+ one, and so do we.
func TestBothLayouts(t *testing.T) {
	g, gf := graphFixture(t)
	c := &casStore{testStore: g.testStore, drv: "aufs", caches: map[string][]string{}, chains: map[string][]string{}, tags: map[string]map[string]string{}}
	id := c.image("new-base", "new-top")
	c.tag("busybox:latest", id)
	s := c.open()
	if s.Layout() != LayoutCAS {
		t.Fatalf("layout %v", s.Layout())
	}
	imgs := s.Images()
	if len(imgs) != 1 || imgs[0].ID != id {
		t.Errorf("images %v, want only %s", imgs, id)
	}
	tg, err := s.Resolve("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(layerIDs(tg.Layers), c.caches[id]) {
		t.Errorf("layers %v", layerIDs(tg.Layers))
	}
	if _, err := s.Resolve(gf.bbTop); err == nil {
		t.Error("a pre-1.10 image id resolved in a 1.10+ store")
	}
	// The pre-1.10 container has no config.v2.json: Docker would not
	// see it, and the problem says why.
	wantProblem(t, s, "containers/"+gf.cid+"/config.v2.json", "never migrated")
}

// snapshot records everything about a tree that a write would change.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		out[p] = fmt.Sprint(info.Mode(), time.Unix(st.Mtim.Unix()), time.Unix(st.Ctim.Unix()), info.Size(), st.Ino)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadOnly(t *testing.T) {
	for _, build := range []func(testing.TB) fixture{
		func(t testing.TB) fixture { _, f := graphFixture(t); return f },
		func(t testing.TB) fixture { _, f := casFixture(t); return f },
	} {
		f := build(t)
		before := snapshot(t, f.root)
		s, err := Open(f.root)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"busybox", "web", f.appBase[:6], "nothing", "abcd"} {
			s.Resolve(ref)
		}
		if _, err := s.Layers(); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, f.root); !reflect.DeepEqual(before, after) {
			t.Errorf("the store changed:\n%v\n%v", before, after)
		}
	}
}

func TestConcurrentResolve(t *testing.T) {
	_, f := casFixture(t)
	s, err := Open(f.root)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ref := range []string{"busybox", "web", "user/app:v1", "busybx", f.appBase[:6]} {
				if _, err := s.Resolve(ref); err != nil && ref != "busybx" {
					t.Error(err)
				}
			}
			s.Images()
			s.Containers()
			s.Layers()
		}()
	}
	wg.Wait()
}

func TestRootIsAbsolute(t *testing.T) {
	g, _ := graphFixture(t)
	t.Chdir(filepath.Dir(g.root))
	s, err := Open(filepath.Base(g.root))
	if err != nil {
		t.Fatal(err)
	}
	if s.Root() != g.root {
		t.Errorf("Root() = %s, want %s", s.Root(), g.root)
	}
	tg, err := s.Resolve("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(tg.Layers[0].Dir) {
		t.Errorf("Dir %s is relative", tg.Layers[0].Dir)
	}
}

func TestNotFoundMessage(t *testing.T) {
	g := newGraph(t)
	g.tag("busybox", "latest", g.chain("b")[0])
	_, err := g.open().Resolve("busybx")
	if got, want := err.Error(), "busybx: not found (did you mean busybox:latest?)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLayersListing(t *testing.T) {
	t.Run("graph", func(t *testing.T) {
		g, f := graphFixture(t)
		g.mkdir("aufs/diff/not-a-layer")
		g.write("aufs/diff/"+hexOf("file"), "a file, not a layer")
		s := g.open()
		ls, err := s.Layers()
		if err != nil {
			t.Fatal(err)
		}
		// 7 image layers, a container's two.
		if len(ls) != 9 {
			t.Fatalf("%d layers: %v", len(ls), layerIDs(ls))
		}
		for i, l := range ls {
			if i > 0 && ls[i-1].ID >= l.ID {
				t.Errorf("not sorted: %s, %s", ls[i-1].ID, l.ID)
			}
			switch l.ID {
			case f.bbTop:
				if l.CreatedBy != "ADD bb-top" || l.Size <= 0 {
					t.Errorf("layer %+v", l)
				}
			case f.cid, f.cinit:
				if l.Size != -1 || l.CreatedBy != "" {
					t.Errorf("layer %+v", l)
				}
			}
		}
	})
	t.Run("cas", func(t *testing.T) {
		c, f := casFixture(t)
		// A layer being removed is not one.
		c.write("image/aufs/layerdb/sha256/"+hexOf("x")+"-123456-removing/cache-id", "../../../etc")
		s := c.open()
		ls, err := s.Layers()
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]Layer{}
		for _, l := range ls {
			byID[l.ID] = l
		}
		// bb-base, bb-top, app-base, app-mid, app-top, reg, alpine, mount, init.
		if len(ls) != 9 {
			t.Fatalf("%d layers: %v", len(ls), layerIDs(ls))
		}
		top := byID[c.caches[f.bbTop][0]]
		if top.DiffID != diffIDOf("bb-top") || top.ChainID != c.chains[f.bbTop][1] || top.CreatedBy != "ADD file:bb-top in /" || top.Size != 1001 {
			t.Errorf("layer %+v", top)
		}
		if l := byID[f.cmount]; l.Size != -1 || l.DiffID != "" {
			t.Errorf("layer %+v", l)
		}
		if _, err := s.Resolve("busybox"); err != nil {
			t.Error(err)
		}
	})
}
