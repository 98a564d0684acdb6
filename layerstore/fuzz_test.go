package layerstore

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/internal/chainid"
)

// The parsers meet whatever a copied, half-deleted or hand-edited store
// holds: none may panic, and what they accept must be safe to use as a
// path component. A target's checks say nothing of an input its parser
// rejects, so each seed that is valid input is also checked to parse, to
// what is written out here (parses).

// parses fails f unless err is nil and got is want: a valid seed read as
// it says.
func parses(f *testing.F, seed string, got any, err error, want any) {
	f.Helper()
	if err != nil {
		f.Errorf("valid seed %s rejected: %v", seed, err)
	} else if !reflect.DeepEqual(got, want) {
		f.Errorf("valid seed %s:\ngot  %+v\nwant %+v", seed, got, want)
	}
}

// tagsOf is the accepted entries of a tags file, "key -> id", and a count
// of the rejected ones.
func tagsOf(entries []tagEntry) []string {
	var out []string
	for _, e := range entries {
		if e.err != nil {
			out = append(out, "rejected "+e.display)
		} else {
			out = append(out, e.key+" -> "+e.id)
		}
	}
	slices.Sort(out)
	return out
}

// busyboxTags is what both tags files' valid seeds hold.
func busyboxTags() []string {
	return []string{
		"docker.io/library/busybox:latest -> " + hexOf("a"),
		"docker.io/library/busybox@sha256:" + hexOf("d") + " -> " + hexOf("a"),
	}
}

func FuzzParseGraphTags(f *testing.F) {
	valid := `{"Repositories":{"busybox":{"latest":"` + hexOf("a") + `","sha256:` + hexOf("d") + `":"` + hexOf("a") + `"}}}`
	entries, err := parseGraphTags([]byte(valid))
	parses(f, valid, tagsOf(entries), err, busyboxTags())
	f.Add([]byte(valid))
	f.Add([]byte(`{"Repositories":{"registry:5000/x/y":{"v1":"../../etc"}}}`))
	f.Add([]byte(`{"Repositories":{"":{"":""}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"Repositories":{"busybox":{"latest":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseGraphTags(data)
		checkTagEntries(t, entries, err)
	})
}

func FuzzParseCASTags(f *testing.F) {
	valid := `{"Repositories":{"busybox":{"busybox:latest":"sha256:` + hexOf("a") + `","busybox@sha256:` + hexOf("d") + `":"sha256:` + hexOf("a") + `"}}}`
	entries, err := parseCASTags([]byte(valid))
	parses(f, valid, tagsOf(entries), err, busyboxTags())
	f.Add([]byte(valid))
	f.Add([]byte(`{"Repositories":{"x":{"docker.io/library/x:1":"sha256:/etc"}}}`))
	f.Add([]byte(`{"Repositories":{"x":{"x:1@sha256:` + hexOf("d") + `":"` + hexOf("b") + `"}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseCASTags(data)
		checkTagEntries(t, entries, err)
	})
}

func checkTagEntries(t *testing.T, entries []tagEntry, err error) {
	if err != nil && entries != nil {
		t.Fatalf("entries with an error")
	}
	for _, e := range entries {
		if e.err == nil && (!isHexID(e.id) || e.key == "") {
			t.Fatalf("accepted entry %+v", e)
		}
		if e.err != nil && e.id != "" {
			t.Fatalf("rejected entry with an id %+v", e)
		}
	}
}

func FuzzParseGraphJSON(f *testing.F) {
	for _, c := range []struct {
		seed string
		want graphMeta
	}{
		{`{"id":"` + hexOf("a") + `","parent":"` + hexOf("b") + `","created":"2015-01-01T00:00:00.123Z","container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD x"]}}`,
			graphMeta{id: hexOf("a"), parent: hexOf("b"), created: time.Date(2015, 1, 1, 0, 0, 0, 123e6, time.UTC), createdBy: "ADD x", cmd: "/bin/sh -c #(nop) ADD x"}},
		{`{"id":"` + hexOf("a") + `","container_config":{"Cmd":"echo"}}`, graphMeta{id: hexOf("a"), createdBy: "echo", cmd: "echo"}},
		{`{"id":"` + hexOf("a") + `","container_config":{"Cmd":null}}`, graphMeta{id: hexOf("a")}},
	} {
		m, err := parseGraphJSON([]byte(c.seed))
		parses(f, c.seed, m, err, c.want)
		f.Add([]byte(c.seed))
	}
	f.Add([]byte(`{"id":"../x","parent":"/"}`))
	f.Add([]byte(`{"id":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseGraphJSON(data)
		if err == nil && (!isHexID(m.id) || m.parent != "" && !isHexID(m.parent) || m.parent == m.id) {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func FuzzParseImageConfig(f *testing.F) {
	for _, c := range []struct {
		seed                string
		diffIDs, createdBys []string
	}{
		{`{"created":"2016-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":["` + diffIDOf("a") + `","` + diffIDOf("b") + `"]},"history":[{"created_by":"/bin/sh -c #(nop) ADD a"},{"empty_layer":true},{"created_by":"b"},{"created_by":"extra"}]}`,
			[]string{diffIDOf("a"), diffIDOf("b")}, []string{"ADD a", "b"}},
		{`{"rootfs":{"diff_ids":[]}}`, []string{}, []string{}},
	} {
		m, err := parseImageConfig([]byte(c.seed))
		parses(f, c.seed, [][]string{m.diffIDs, m.createdBy}, err, [][]string{c.diffIDs, c.createdBys})
		f.Add([]byte(c.seed))
	}
	f.Add([]byte(`{"rootfs":{"diff_ids":["sha256:../../x"]}}`))
	f.Add([]byte(`{"rootfs":null}`))
	f.Add([]byte(`{"rootfs":{"diff_ids":[1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseImageConfig(data)
		if err != nil {
			return
		}
		if len(m.createdBy) != len(m.diffIDs) {
			t.Fatalf("%d created_by for %d layers", len(m.createdBy), len(m.diffIDs))
		}
		for _, d := range m.diffIDs {
			if _, err := parseDigest(d); err != nil {
				t.Fatalf("accepted diff id %q", d)
			}
		}
		if c := chainid.All(m.diffIDs); len(c) != len(m.diffIDs) {
			t.Fatal("chain ids")
		}
	})
}

func FuzzParseContainerConfig(f *testing.F) {
	for _, c := range []struct {
		seed string
		want containerMeta
	}{
		{`{"ID":"` + hexOf("c") + `","Image":"sha256:` + hexOf("i") + `","Name":"/web","Driver":"aufs","Created":"2016-01-01T00:00:00Z"}`,
			containerMeta{id: hexOf("c"), name: "web", imageID: hexOf("i"), driver: "aufs", created: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{`{"ID":"` + hexOf("c") + `","Image":"` + hexOf("i") + `","Name":"web"}`, containerMeta{id: hexOf("c"), name: "web", imageID: hexOf("i")}},
	} {
		m, err := parseContainerConfig([]byte(c.seed))
		parses(f, c.seed, m, err, c.want)
		f.Add([]byte(c.seed))
	}
	f.Add([]byte(`{"ID":"../../x","Image":"/"}`))
	f.Add([]byte(`{"ID":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseContainerConfig(data)
		if err == nil && (!isHexID(m.id) || !isHexID(m.imageID)) {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func FuzzParseLayersFile(f *testing.F) {
	a, b := hexOf("a"), hexOf("b")
	for _, c := range []struct {
		seed, top string
		want      []string
	}{
		{a + "\n" + b + "\n", a, []string{a, b}},
		{a + "-init\n" + b, b, []string{a + "-init", b}},
		{"", a, []string{}}, // a base layer's
	} {
		ids, err := parseLayersFile([]byte(c.seed))
		parses(f, c.seed, ids, err, c.want)
		f.Add([]byte(c.seed), c.top)
	}
	f.Add([]byte("\n"), a)
	f.Add([]byte(a+"\n\n"+b), a)
	f.Add([]byte("../../etc\n"), a)
	f.Add([]byte(a+"\r\n"+a+"\r\n"), b)
	f.Fuzz(func(t *testing.T, data []byte, top string) {
		ids, err := parseLayersFile(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !isLayerName(id) || seen[id] {
				t.Fatalf("accepted %q", id)
			}
			seen[id] = true
		}
		if compareLayers("line", top, ids, ids) != nil && !seen[top] {
			t.Fatal("a list differs from itself")
		}
	})
}

func FuzzSmallFiles(f *testing.F) {
	if s := hexOf("a") + "-init"; !isLayerName(s) {
		f.Errorf("valid seed %s: not a layer name", s)
	}
	h, err := parseDigest("sha256:" + hexOf("a"))
	parses(f, "sha256:"+hexOf("a"), h, err, hexOf("a"))
	if n := parseSize([]byte(" 12345 \n")); n != 12345 {
		f.Errorf("valid seed \" 12345 \\n\": size %d, want 12345", n)
	}
	f.Add([]byte(hexOf("a") + "\n"))
	f.Add([]byte("sha256:" + hexOf("a")))
	f.Add([]byte(hexOf("a") + "-init"))
	f.Add([]byte(" 12345 \n"))
	f.Add([]byte("-1"))
	f.Add([]byte("../.."))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := strings.TrimSpace(string(data))
		if isLayerName(s) && (strings.ContainsAny(s, "/.") || len(s) != 64 && len(s) != 69) {
			t.Fatalf("layer name %q", s)
		}
		if h, err := parseDigest(s); err == nil && !isHexID(h) {
			t.Fatalf("digest %q", s)
		}
		if n := parseSize(data); n < -1 {
			t.Fatalf("size %d", n)
		}
	})
}

// FuzzStoreFile writes fuzzed bytes over one file of a sound store and
// reads the whole store: whatever the file holds, nothing panics, and
// every layer of a resolved chain is a directory right under aufs/diff.
func FuzzStoreFile(f *testing.F) {
	g, gf := graphFixture(f)
	c, cf := casFixture(f)
	chainDir := func(img string, i int) string {
		ch := c.chains[img]
		return "image/aufs/layerdb/sha256/" + strings.TrimPrefix(ch[len(ch)-1-i], "sha256:")
	}
	type target struct {
		root, rel string
	}
	targets := []target{
		{g.root, "repositories-aufs"},
		{g.root, "graph/" + gf.bbTop + "/json"},
		{g.root, "graph/" + gf.bbTop + "/parent"},
		{g.root, "graph/" + gf.bbTop + "/layersize"},
		{g.root, "aufs/layers/" + gf.bbTop},
		{g.root, "aufs/layers/" + gf.cid},
		{g.root, "containers/" + gf.cid + "/config.json"},
		{c.root, "image/aufs/repositories.json"},
		{c.root, "image/aufs/imagedb/content/sha256/" + cf.bbTop},
		{c.root, chainDir(cf.bbTop, 0) + "/cache-id"},
		{c.root, chainDir(cf.bbTop, 0) + "/diff"},
		{c.root, chainDir(cf.bbTop, 0) + "/parent"},
		{c.root, chainDir(cf.bbTop, 1) + "/parent"},
		{c.root, chainDir(cf.bbTop, 0) + "/size"},
		{c.root, "aufs/layers/" + c.caches[cf.bbTop][0]},
		{c.root, "image/aufs/layerdb/mounts/" + cf.cid + "/mount-id"},
		{c.root, "image/aufs/layerdb/mounts/" + cf.cid + "/init-id"},
		{c.root, "image/aufs/layerdb/mounts/" + cf.cid + "/parent"},
		{c.root, "containers/" + cf.cid + "/config.v2.json"},
	}
	// Valid seeds: each file as the sound store has it, and sizes other
	// than its own. A store with any of them opens and resolves what the
	// fixture holds: the target's checks say nothing of a store that
	// fails to open or of a ref that is not found.
	type seed struct {
		which uint8
		data  []byte
	}
	var valid []seed
	for i, tg := range targets {
		data, err := os.ReadFile(filepath.Join(tg.root, tg.rel))
		if errors.Is(err, os.ErrNotExist) {
			continue // a file the store may have, that this one does not
		}
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, seed{uint8(i), data})
	}
	valid = append(valid, seed{3, []byte("12345")}, seed{13, []byte("999\n")})
	for _, v := range valid {
		tg := targets[v.which]
		withContent(f, filepath.Join(tg.root, tg.rel), v.data, func() {
			s, err := Open(tg.root)
			if err != nil {
				f.Errorf("valid seed %s = %q: %v", tg.rel, v.data, err)
				return
			}
			top := gf.bbTop
			if tg.root == c.root {
				top = cf.bbTop
			}
			for _, ref := range []string{"busybox", "web", top} {
				if _, err := s.Resolve(ref); err != nil {
					f.Errorf("valid seed %s = %q: resolving %s: %v", tg.rel, v.data, ref, err)
				}
			}
		})
		f.Add(v.which, v.data)
	}
	f.Add(uint8(0), []byte(`{"Repositories":{"busybox":{"latest":"../../`+gf.bbTop+`"}}}`))
	f.Add(uint8(1), []byte(`{"id":"`+gf.bbTop+`","parent":"`+gf.bbTop+`"}`))
	f.Add(uint8(4), []byte(gf.bbTop+"\n"+gf.bbBase+"\n"))
	f.Add(uint8(9), []byte("../../../../"+gf.bbTop))
	f.Add(uint8(11), []byte(c.chains[cf.bbTop][1]))
	f.Add(uint8(15), []byte(gf.cid))
	f.Add(uint8(18), []byte(`{"ID":"`+cf.cid+`","Name":"/web","Image":"sha256:`+cf.bbBase+`"}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		tg := targets[int(which)%len(targets)]
		withContent(t, filepath.Join(tg.root, tg.rel), data, func() {
			s, err := Open(tg.root)
			if err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					t.Fatalf("Open: %v is not a *CorruptError", err)
				}
				return
			}
			s.Images()
			s.Containers()
			s.Problems()
			if _, err := s.Layers(); err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"busybox", "web", gf.bbTop, cf.bbTop[:5], "user/app:v1"} {
				checkResolve(t, s, ref)
			}
		})
	})
}

// withContent runs fn with data in file p, then puts back what p held.
func withContent(tb testing.TB, p string, data []byte, fn func()) {
	tb.Helper()
	old, err := os.ReadFile(p)
	if err != nil {
		old = nil
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		if old == nil {
			os.Remove(p)
		} else if err := os.WriteFile(p, old, 0o644); err != nil {
			tb.Fatal(err)
		}
	}()
	fn()
}

func FuzzResolve(f *testing.F) {
	g, gf := graphFixture(f)
	gs := g.open()
	c, cf := casFixture(f)
	cs := c.open()
	// The seeds that name something resolve to it, in the store that has
	// it ("" for one that has not): checkResolve says nothing of a ref
	// that is not found.
	for _, v := range []struct{ ref, graph, cas string }{
		{"busybox", gf.bbTop, cf.bbTop},
		{"busybox:latest", gf.bbTop, cf.bbTop},
		{"docker.io/library/busybox:1.0", gf.bbTop, cf.bbTop},
		{"busybox@" + bbDigest, gf.bbTop, cf.bbTop},
		{"registry:5000/team/app:v2", gf.reg, cf.reg},
		{gf.bbTop, gf.bbTop, ""},
		{"sha256:" + gf.bbTop, gf.bbTop, ""},
		{gf.bbTop[:4], gf.bbTop, ""},
		{cf.bbTop[:5], "", cf.bbTop},
		{"web", gf.cid, cf.cid},
		{"/web", gf.cid, cf.cid},
	} {
		for _, st := range []struct {
			s    *Store
			want string
		}{{gs, v.graph}, {cs, v.cas}} {
			if st.want == "" {
				continue
			}
			tg, err := st.s.Resolve(v.ref)
			switch {
			case err != nil:
				f.Errorf("valid seed %q rejected by the %v store: %v", v.ref, st.s.Layout(), err)
			case tg.Kind == KindContainer && tg.Container.ID != st.want, tg.Kind == KindImage && tg.Image.ID != st.want:
				f.Errorf("valid seed %q in the %v store: resolved to %s, want %s", v.ref, st.s.Layout(), tg.Name, ShortID(st.want))
			}
		}
		f.Add(v.ref)
	}
	for _, ref := range []string{
		"sha256:abc", "busybx", "", "/", "a:b:c", "@sha256:", strings.Repeat("a", 300),
		"localhost/x", "UPPER", "x@sha256:zz", "\x00", "é",
	} {
		f.Add(ref)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		checkResolve(t, gs, ref)
		checkResolve(t, cs, ref)
	})
}

func checkResolve(t *testing.T, s *Store, ref string) {
	tg, err := s.Resolve(ref)
	if err != nil {
		var nf *NotFoundError
		var ae *AmbiguousError
		var ce *CorruptError
		if !errors.As(err, &nf) && !errors.As(err, &ae) && !errors.As(err, &ce) {
			t.Fatalf("Resolve(%q): %v (%T)", ref, err, err)
		}
		if nf != nil && len(nf.Suggestions) > maxSuggestions {
			t.Fatalf("suggestions %v", nf.Suggestions)
		}
		return
	}
	diff := filepath.Join(s.Root(), "aufs", "diff")
	for _, l := range tg.Layers {
		if filepath.Dir(l.Dir) != diff || !isLayerName(l.ID) {
			t.Fatalf("Resolve(%q): layer %+v outside %s", ref, l, diff)
		}
	}
}
