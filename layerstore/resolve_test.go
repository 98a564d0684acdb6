package layerstore

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// fixture is a store with the same content in either layout: every name
// form of docs/formats.md (Names) has something to find.
type fixture struct {
	root                    string
	bbTop, bbBase           string // busybox:latest, busybox:1.0, busybox@sha256:<bbDigest>
	appTop, appMid, appBase string // user/app:v1, user/app:latest, untagged
	reg                     string // registry:5000/team/app:v2
	alpine                  string // stored as docker.io/library/alpine:3.1
	cid, cinit, cmount      string // container "web" of busybox
	layers                  map[string][]string
}

var bbDigest = "sha256:" + hexOf("busybox manifest")

func graphFixture(t testing.TB) (*graphStore, fixture) {
	g := newGraph(t)
	f := fixture{root: g.root, layers: map[string][]string{}}
	bb := g.chain("bb-base", "bb-top")
	f.bbTop, f.bbBase = bb[0], bb[1]
	app := g.chain("app-base", "app-mid", "app-top")
	f.appTop, f.appMid, f.appBase = app[0], app[1], app[2]
	f.reg = g.chain("reg")[0]
	f.alpine = g.chain("alpine")[0]
	g.tag("busybox", "latest", f.bbTop)
	g.tag("busybox", "1.0", f.bbTop)
	g.tag("busybox", bbDigest, f.bbTop)
	g.tag("user/app", "v1", f.appTop)
	g.tag("user/app", "latest", f.appMid)
	g.tag("registry:5000/team/app", "v2", f.reg)
	g.tag("docker.io/library/alpine", "3.1", f.alpine)
	f.cid = hexOf("ctr-web")
	f.cmount, f.cinit = f.cid, f.cid+"-init"
	g.container(f.cid, "web", f.bbTop)
	f.layers[f.bbTop] = bb
	f.layers[f.appTop] = app
	f.layers[f.appMid] = app[1:]
	f.layers[f.appBase] = app[2:]
	f.layers[f.reg] = []string{f.reg}
	f.layers[f.alpine] = []string{f.alpine}
	f.layers[f.cid] = append([]string{f.cid, f.cinit}, bb...)
	return g, f
}

func casFixture(t testing.TB) (*casStore, fixture) { return casFixtureOf(t, "aufs") }

// casFixtureOf is casFixture in the tree of driver drv.
func casFixtureOf(t testing.TB, drv string) (*casStore, fixture) {
	c := newCASDriver(t, drv)
	f := fixture{root: c.root, layers: map[string][]string{}}
	f.bbBase = c.image("bb-base")
	f.bbTop = c.image("bb-base", "bb-top")
	f.appBase = c.image("app-base")
	f.appMid = c.image("app-base", "app-mid")
	f.appTop = c.image("app-base", "app-mid", "app-top")
	f.reg = c.image("reg")
	f.alpine = c.image("alpine")
	c.tag("busybox:latest", f.bbTop)
	c.tag("busybox:1.0", f.bbTop)
	c.tag("busybox@"+bbDigest, f.bbTop)
	c.tag("user/app:v1", f.appTop)
	c.tag("user/app:latest", f.appMid)
	c.tag("registry:5000/team/app:v2", f.reg)
	c.tag("docker.io/library/alpine:3.1", f.alpine)
	f.cid = hexOf("ctr-web")
	c.container(f.cid, "web", f.bbTop)
	f.cmount = c.mountID(f.cid)
	f.cinit = f.cmount + "-init"
	for _, id := range []string{f.bbTop, f.bbBase, f.appTop, f.appMid, f.appBase, f.reg, f.alpine} {
		f.layers[id] = c.caches[id]
	}
	f.layers[f.cid] = append([]string{f.cmount, f.cinit}, c.caches[f.bbTop]...)
	return c, f
}

func TestResolveForms(t *testing.T) {
	for _, layout := range []struct {
		name  string
		build func(testing.TB) fixture
		want  Layout
	}{
		{"graph", func(t testing.TB) fixture { _, f := graphFixture(t); return f }, LayoutGraph},
		{"cas", func(t testing.TB) fixture { _, f := casFixture(t); return f }, LayoutCAS},
	} {
		t.Run(layout.name, func(t *testing.T) {
			f := layout.build(t)
			s, err := Open(f.root)
			if err != nil {
				t.Fatal(err)
			}
			if s.Layout() != layout.want {
				t.Fatalf("layout %v, want %v", s.Layout(), layout.want)
			}
			if p := s.Problems(); len(p) != 0 {
				t.Fatalf("problems in a sound store: %v", p)
			}
			cases := []struct {
				ref  string
				kind Kind
				id   string // image or container id
				name string
			}{
				{"busybox:latest", KindImage, f.bbTop, "busybox:latest"},
				{"busybox", KindImage, f.bbTop, "busybox:latest"},
				{"busybox:1.0", KindImage, f.bbTop, "busybox:1.0"},
				{"docker.io/library/busybox:latest", KindImage, f.bbTop, "busybox:latest"},
				{"docker.io/library/busybox", KindImage, f.bbTop, "busybox:latest"},
				{"index.docker.io/library/busybox:1.0", KindImage, f.bbTop, "busybox:1.0"},
				{"docker.io/busybox", KindImage, f.bbTop, "busybox:latest"},
				{"busybox@" + bbDigest, KindImage, f.bbTop, "busybox@" + bbDigest},
				{"docker.io/library/busybox@" + bbDigest, KindImage, f.bbTop, "busybox@" + bbDigest},
				{"busybox:latest@" + bbDigest, KindImage, f.bbTop, "busybox@" + bbDigest},
				{"user/app:v1", KindImage, f.appTop, "user/app:v1"},
				{"docker.io/user/app:v1", KindImage, f.appTop, "user/app:v1"},
				{"docker.io/user/app", KindImage, f.appMid, "user/app:latest"},
				{"user/app", KindImage, f.appMid, "user/app:latest"},
				{"registry:5000/team/app:v2", KindImage, f.reg, "registry:5000/team/app:v2"},
				{"alpine:3.1", KindImage, f.alpine, "alpine:3.1"},
				{"docker.io/library/alpine:3.1", KindImage, f.alpine, "alpine:3.1"},
				{f.bbTop, KindImage, f.bbTop, "busybox:1.0"},
				{"sha256:" + f.bbTop, KindImage, f.bbTop, "busybox:1.0"},
				{f.appBase, KindImage, f.appBase, ShortID(f.appBase)},
				{f.appBase[:8], KindImage, f.appBase, ShortID(f.appBase)},
				{f.reg[:4], KindImage, f.reg, "registry:5000/team/app:v2"},
				{"sha256:" + f.reg[:6], KindImage, f.reg, "registry:5000/team/app:v2"},
				{f.cid, KindContainer, f.cid, "web"},
				{f.cid[:5], KindContainer, f.cid, "web"},
				{"web", KindContainer, f.cid, "web"},
				{"/web", KindContainer, f.cid, "web"},
			}
			for _, c := range cases {
				t.Run(c.ref, func(t *testing.T) {
					tg, err := s.Resolve(c.ref)
					if err != nil {
						t.Fatalf("Resolve(%q): %v", c.ref, err)
					}
					if tg.Kind != c.kind || tg.Name != c.name || tg.Ref != c.ref {
						t.Errorf("got kind %v name %q ref %q, want %v %q %q", tg.Kind, tg.Name, tg.Ref, c.kind, c.name, c.ref)
					}
					var id string
					switch c.kind {
					case KindImage:
						if tg.Image == nil || tg.Container != nil {
							t.Fatalf("image target with Image %v Container %v", tg.Image, tg.Container)
						}
						id = tg.Image.ID
					case KindContainer:
						if tg.Container == nil || tg.Image == nil || tg.Image.ID != f.bbTop {
							t.Fatalf("container target with Image %v Container %v", tg.Image, tg.Container)
						}
						id = tg.Container.ID
					}
					if id != c.id {
						t.Errorf("resolved to %s, want %s", id, c.id)
					}
					if got, want := layerIDs(tg.Layers), f.layers[c.id]; !reflect.DeepEqual(got, want) {
						t.Errorf("layers %v, want %v", got, want)
					}
					for _, l := range tg.Layers {
						if l.Dir != filepath.Join(s.Root(), "aufs", "diff", l.ID) {
							t.Errorf("layer %s has Dir %s", l.ID, l.Dir)
						}
					}
				})
			}
		})
	}
}

func TestResolveNotFound(t *testing.T) {
	for _, layout := range []struct {
		name  string
		build func(testing.TB) fixture
	}{
		{"graph", func(t testing.TB) fixture { _, f := graphFixture(t); return f }},
		{"cas", func(t testing.TB) fixture { _, f := casFixture(t); return f }},
	} {
		t.Run(layout.name, func(t *testing.T) {
			f := layout.build(t)
			s, err := Open(f.root)
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				ref     string
				suggest []string
				text    string // the whole message, where it is checked
			}{
				{"busybx", []string{"busybox:latest", "busybox:1.0", "busybox@" + bbDigest}, ""},
				{"busybox:2.0", []string{"busybox:1.0", "busybox:latest", "busybox@" + bbDigest}, ""},
				{"docker.io/library/alpin:3.1", []string{"alpine:3.1"}, "docker.io/library/alpin:3.1: not found (did you mean alpine:3.1?)"},
				{"user/ap:v1", []string{"user/app:v1", "user/app:latest"}, ""},
				{"wbe", []string{"web"}, "wbe: not found (did you mean web?)"},
				{"/webb", []string{"web"}, ""},
				{"quite-unrelated-name", []string{}, "quite-unrelated-name: not found"},
				{"", []string{}, ""},
				{strings.Repeat("0", 64), []string{}, ""},                                                // a full id that is nothing
				{"sha256:" + strings.Repeat("0", 64), []string{}, ""},                                    // likewise
				{"sha256:" + f.cid, []string{}, ""},                                                      // sha256: names images only
				{"sha256:" + f.cid[:6], []string{}, ""},                                                  // likewise for a prefix
				{"user/app:v1@sha256:" + hexOf("other"), []string{"user/app:latest", "user/app:v1"}, ""}, // a digest that is not stored
				{"UPPER/case", []string{}, ""},
				{"../../etc/passwd", []string{}, ""},
				{"busybox:latest:extra", []string{"busybox:latest"}, ""},
			}
			for _, c := range cases {
				t.Run(c.ref, func(t *testing.T) {
					tg, err := s.Resolve(c.ref)
					var nf *NotFoundError
					if !errors.As(err, &nf) {
						t.Fatalf("Resolve(%q) = %+v, %v; want a *NotFoundError", c.ref, tg, err)
					}
					if nf.Ref != c.ref {
						t.Errorf("Ref %q", nf.Ref)
					}
					if !slices.Equal(nf.Suggestions, c.suggest) {
						t.Errorf("suggestions %q, want %q", nf.Suggestions, c.suggest)
					}
					if c.text != "" && err.Error() != c.text {
						t.Errorf("message %q, want %q", err, c.text)
					}
				})
			}
		})
	}
}

func TestResolveAmbiguous(t *testing.T) {
	g := newGraph(t)
	a := withPrefix("abcde1", "a")
	b := withPrefix("abcde2", "b")
	near := strings.Repeat("c", 63) + "d" // shares 63 digits with far
	far := strings.Repeat("c", 64)
	g.image(a, "", "a")
	g.image(b, "", "b")
	g.image(near, "", "near")
	g.image(far, "", "far")
	g.tag("named", "latest", a)
	ctr := withPrefix("abcd9", "ctr")
	g.container(ctr, "box", b)
	lone := withPrefix("abce", "lone")
	g.container(lone, "", b)
	s := g.open()

	cases := []struct {
		ref   string
		cands []string // nil: not ambiguous, resolves to id
		id    string
	}{
		{"a", []string{a[:12], b[:12], lone[:12], "box"}, ""}, // a prefix of any length
		{"abcd", []string{a[:12], b[:12], "box"}, ""},
		{"abcde", []string{a[:12], b[:12]}, ""},
		{"sha256:abcd", []string{a[:12], b[:12]}, ""}, // images only
		{"abcde1", nil, a},
		{"abcd9", nil, ctr},
		{"abce", nil, lone},
		{strings.Repeat("c", 12), []string{far[:16], near[:16]}, ""},
		{strings.Repeat("c", 63), []string{far, near}, ""},
		{far, nil, far}, // a prefix equal to a full id is exact
		{near, nil, near},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			tg, err := s.Resolve(c.ref)
			if c.cands == nil {
				if err != nil {
					t.Fatal(err)
				}
				got := tg.Layers[0].ID
				if got != c.id {
					t.Errorf("resolved to %s, want %s", got, c.id)
				}
				return
			}
			var ae *AmbiguousError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, %v; want *AmbiguousError", tg, err)
			}
			if !reflect.DeepEqual(ae.Candidates, c.cands) {
				t.Errorf("candidates %q, want %q", ae.Candidates, c.cands)
			}
			if !strings.HasPrefix(err.Error(), c.ref+": ambiguous: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// A tag wins over a container name and an id prefix, as in docker; a
// container name wins over a prefix.
func TestResolveOrder(t *testing.T) {
	g := newGraph(t)
	img := withPrefix("beef", "img")
	other := withPrefix("dead", "other")
	g.image(img, "", "img")
	g.image(other, "", "other")
	g.tag("dead", "latest", img)
	ctrID := withPrefix("cafe", "ctr")
	g.container(ctrID, "beef", other)
	ctr2 := withPrefix("f00d", "ctr2")
	g.container(ctr2, "busybox", other)
	s := g.open()
	for _, c := range []struct{ ref, top string }{
		{"dead", img},          // the tag dead:latest, not the prefix of other
		{"beef", ctrID},        // the container named beef, not the prefix of img
		{"busybox", ctr2},      // no tag busybox: the container
		{"dead:latest", img},   // tag
		{"cafe", ctrID},        // prefix of a container
		{"f", ctr2},            // one digit is a prefix, as in docker
		{"d", other},           // likewise, with no tag d:latest
		{"sha256:b", img},      // likewise for an image
		{"sha256:dead", other}, // sha256: is an image id prefix
		{"sha256:beef", img},   // likewise
		{"/beef", ctrID},       // name with slash
		{ctr2, ctr2},
	} {
		t.Run(c.ref, func(t *testing.T) {
			tg, err := s.Resolve(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if tg.Layers[0].ID != c.top {
				t.Errorf("top %s, want %s", tg.Layers[0].ID, c.top)
			}
		})
	}
	// A prefix that no id has is not found, however short.
	var nf *NotFoundError
	if tg, err := s.Resolve("e"); !errors.As(err, &nf) {
		t.Errorf("Resolve(%q) = %+v, %v; want a *NotFoundError", "e", tg, err)
	}
	// One kind only, as docker inspect --type: the forms of the other
	// kind are passed over ("" top: not found).
	for _, c := range []struct {
		ref  string
		kind Kind
		top  string
	}{
		{"beef", KindImage, img},          // the prefix of img, not the container named beef
		{"beef", KindContainer, ctrID},    // the container
		{"dead", KindContainer, ""},       // a tag is no container, nor a prefix of one
		{"busybox", KindImage, ""},        // a container name is no image
		{ctr2, KindImage, ""},             // nor a container's id
		{"f", KindContainer, ctr2},        // a prefix among containers
		{"c", KindImage, ""},              // cafe... is a container's
		{"sha256:dead", KindImage, other}, // an image id prefix
	} {
		tg, err := s.ResolveKind(c.ref, c.kind)
		switch {
		case c.top == "" && !errors.As(err, &nf):
			t.Errorf("ResolveKind(%q, %v) = %+v, %v; want a *NotFoundError", c.ref, c.kind, tg, err)
		case c.top != "" && err != nil:
			t.Errorf("ResolveKind(%q, %v): %v", c.ref, c.kind, err)
		case c.top != "" && tg.Layers[0].ID != c.top:
			t.Errorf("ResolveKind(%q, %v): top %s, want %s", c.ref, c.kind, tg.Layers[0].ID, c.top)
		}
	}
}

func TestListings(t *testing.T) {
	for _, layout := range []struct {
		name  string
		build func(testing.TB) fixture
	}{
		{"graph", func(t testing.TB) fixture { _, f := graphFixture(t); return f }},
		{"cas", func(t testing.TB) fixture { _, f := casFixture(t); return f }},
	} {
		t.Run(layout.name, func(t *testing.T) {
			f := layout.build(t)
			s, err := Open(f.root)
			if err != nil {
				t.Fatal(err)
			}
			imgs := s.Images()
			byID := map[string]Image{}
			for i, img := range imgs {
				byID[img.ID] = img
				if i > 0 && imgs[i-1].Created.Before(img.Created) {
					t.Errorf("images not newest first: %v then %v", imgs[i-1].Created, img.Created)
				}
				if img.Created.IsZero() {
					t.Errorf("image %s has no created time", img.ID)
				}
			}
			want := map[string]struct {
				names  []string
				layers int
			}{
				f.bbTop:   {[]string{"busybox:1.0", "busybox:latest", "busybox@" + bbDigest}, 2},
				f.bbBase:  {nil, 1},
				f.appTop:  {[]string{"user/app:v1"}, 3},
				f.appMid:  {[]string{"user/app:latest"}, 2},
				f.appBase: {nil, 1},
				f.reg:     {[]string{"registry:5000/team/app:v2"}, 1},
				f.alpine:  {[]string{"alpine:3.1"}, 1},
			}
			if len(imgs) != len(want) {
				t.Errorf("%d images, want %d", len(imgs), len(want))
			}
			for id, w := range want {
				img, ok := byID[id]
				if !ok {
					t.Errorf("image %s not listed", id)
					continue
				}
				if !slices.Equal(img.Names, w.names) || img.Layers != w.layers {
					t.Errorf("image %s: names %q layers %d, want %q %d", ShortID(id), img.Names, img.Layers, w.names, w.layers)
				}
			}
			cs := s.Containers()
			if len(cs) != 1 {
				t.Fatalf("containers %v", cs)
			}
			c := cs[0]
			if c.ID != f.cid || c.Name != "web" || c.ImageID != f.bbTop || c.Image != "busybox:1.0" || c.Created.IsZero() {
				t.Errorf("container %+v", c)
			}
			// The lists are copies.
			imgs[0].Names = append(imgs[0].Names, "mutated")
			if slices.Contains(s.Images()[0].Names, "mutated") {
				t.Error("Images returns the store's own slices")
			}
		})
	}
}

func TestLayerMetadata(t *testing.T) {
	t.Run("graph", func(t *testing.T) {
		g, f := graphFixture(t)
		s := g.open()
		tg, err := s.Resolve("busybox")
		if err != nil {
			t.Fatal(err)
		}
		want := []Layer{
			{ID: f.bbTop, CreatedBy: "ADD bb-top", Size: int64(640 + len("#(nop) ADD bb-top"))},
			{ID: f.bbBase, CreatedBy: "ADD bb-base", Size: int64(640 + len("#(nop) ADD bb-base"))},
		}
		for i := range want {
			want[i].Dir = filepath.Join(s.Root(), "aufs/diff", want[i].ID)
			want[i].Driver = "aufs"
			want[i].Encoding = whiteout.Aufs
			want[i].TarSplit = filepath.Join(s.Root(), "graph", want[i].ID, "tar-data.json.gz")
		}
		if !reflect.DeepEqual(tg.Layers, want) {
			t.Errorf("layers\n%+v\nwant\n%+v", tg.Layers, want)
		}
		// A missing layersize is unknown.
		g.remove("graph/" + f.bbBase + "/layersize")
		tg, err = s.Resolve("busybox")
		if err != nil {
			t.Fatal(err)
		}
		if tg.Layers[1].Size != -1 {
			t.Errorf("size %d, want -1", tg.Layers[1].Size)
		}
	})
	t.Run("cas", func(t *testing.T) {
		c, f := casFixture(t)
		s := c.open()
		tg, err := s.Resolve("web")
		if err != nil {
			t.Fatal(err)
		}
		chains := c.chains[f.bbTop]
		want := []Layer{
			{ID: f.cmount, Size: -1},
			{ID: f.cinit, Size: -1},
			{ID: c.caches[f.bbTop][0], CreatedBy: "ADD file:bb-top in /", Size: 1001, DiffID: diffIDOf("bb-top"), ChainID: chains[1],
				TarSplit: filepath.Join(s.Root(), "image/aufs/layerdb", strings.Replace(chains[1], ":", "/", 1), "tar-split.json.gz")},
			{ID: c.caches[f.bbTop][1], CreatedBy: "ADD file:bb-base in /", Size: 1000, DiffID: diffIDOf("bb-base"), ChainID: chains[0],
				TarSplit: filepath.Join(s.Root(), "image/aufs/layerdb", strings.Replace(chains[0], ":", "/", 1), "tar-split.json.gz")},
		}
		for i := range want {
			want[i].Dir = filepath.Join(s.Root(), "aufs/diff", want[i].ID)
			want[i].Driver = "aufs"
			want[i].Encoding = whiteout.Aufs
		}
		if !reflect.DeepEqual(tg.Layers, want) {
			t.Errorf("layers\n%+v\nwant\n%+v", tg.Layers, want)
		}
		if chains[0] != diffIDOf("bb-base") {
			t.Errorf("base chain id %s", chains[0])
		}
	})
}

func TestCleanCreatedBy(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/bin/sh -c #(nop) ADD file:abc in /", "ADD file:abc in /"},
		{"/bin/sh -c #(nop)  CMD [\"sh\"]", `CMD ["sh"]`},
		{"/bin/sh -c apt-get update", "apt-get update"},
		{"/bin/bash", "/bin/bash"},
		{"", ""},
		{"#(nop) MAINTAINER x", "MAINTAINER x"},
	} {
		if got := cleanCreatedBy(c.in); got != c.want {
			t.Errorf("cleanCreatedBy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
