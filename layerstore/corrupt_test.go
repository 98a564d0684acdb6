package layerstore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// corruptCase breaks one thing in a sound store and says how it must show.
type corruptCase struct {
	name   string
	break_ func(f fixture) // break the store
	ref    string          // what to resolve; "" for none
	file   string          // suffix of the file the *CorruptError names
	// fileOf, where set, gives file from the store's ids.
	fileOf func(f fixture) string
	msg    string // text the error holds
	// listed says the image or container ref names is still listed:
	// its own metadata is sound, only its chain is not.
	listed bool
	// problem says Open records the fault in Problems.
	problem bool
	// recovered says the chain is still known from the driver's and the
	// layer store's own files (recover.go): ref resolves to the chain it
	// had, with one warning naming file and holding msg.
	recovered bool
}

func runCorrupt(t *testing.T, open func(testing.TB) (func() *Store, fixture), cases []corruptCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reopen, f := open(t)
			var want []string
			if c.recovered {
				tg, err := reopen().Resolve(c.ref)
				if err != nil {
					t.Fatalf("Resolve(%q) before breaking: %v", c.ref, err)
				}
				for _, l := range tg.Layers {
					want = append(want, l.Dir)
				}
			}
			c.break_(f)
			if c.fileOf != nil {
				c.file = c.fileOf(f)
			}
			s := reopen()
			if c.problem {
				wantProblem(t, s, c.file, c.msg)
			}
			if c.ref == "" {
				return
			}
			tg, err := s.Resolve(c.ref)
			switch {
			case c.recovered && err != nil:
				t.Fatalf("Resolve(%q): %v, want its chain recovered", c.ref, err)
			case c.recovered:
				var got []string
				for _, l := range tg.Layers {
					got = append(got, l.Dir)
				}
				if !slices.Equal(got, want) {
					t.Errorf("recovered chain %q, want %q", got, want)
				}
				if len(tg.Warnings) != 1 || !strings.Contains(tg.Warnings[0], c.file) || !strings.Contains(tg.Warnings[0], c.msg) {
					t.Errorf("warnings %q, want one naming %s and saying %q", tg.Warnings, c.file, c.msg)
				}
			case err == nil:
				t.Fatalf("Resolve(%q) = %+v, want an error", c.ref, tg.Layers)
			default:
				wantCorrupt(t, err, c.file, c.msg)
				var nf *NotFoundError
				if errors.As(err, &nf) {
					t.Errorf("not found: %v", err)
				}
			}
			listed := false
			name := c.ref
			if named, err := normalizeRef(c.ref); err == nil {
				name = reference.FamiliarString(named)
			}
			for _, img := range s.Images() {
				listed = listed || slices.Contains(img.Names, name) || img.ID == c.ref
			}
			for _, ctr := range s.Containers() {
				listed = listed || ctr.Name == c.ref
			}
			if listed != c.listed {
				t.Errorf("listed = %v, want %v", listed, c.listed)
			}
		})
	}
}

func TestCorruptGraph(t *testing.T) {
	var g *graphStore
	open := func(t testing.TB) (func() *Store, fixture) {
		var f fixture
		g, f = graphFixture(t)
		return g.open, f
	}
	cases := []corruptCase{
		{name: "truncated image json", ref: "busybox:latest", file: "/json", msg: "invalid JSON", problem: true, recovered: true,
			break_: func(f fixture) { g.write("graph/"+f.bbTop+"/json", g.read("graph/" + f.bbTop + "/json")[:40]) }},
		{name: "empty image json", ref: "user/app:v1", file: "/json", msg: "invalid JSON", problem: true, recovered: true,
			break_: func(f fixture) { g.write("graph/"+f.appTop+"/json", "") }},
		{name: "broken base breaks the chain above", ref: "user/app:v1", file: "graph/" + hexOf("app-base") + "/json", msg: "in the chain of image", problem: true, recovered: true,
			break_: func(f fixture) { g.write("graph/"+f.appBase+"/json", "{") }},
		{name: "json id differs from its directory", ref: "registry:5000/team/app:v2", file: "/json", msg: "does not match", problem: true, recovered: true,
			break_: func(f fixture) {
				g.write("graph/"+f.reg+"/json", `{"id":"`+hexOf("other")+`"}`)
			}},
		{name: "parent not hex", ref: "busybox", file: "/json", msg: "not a 64-hex id", problem: true, recovered: true,
			break_: func(f fixture) {
				g.write("graph/"+f.bbTop+"/json", `{"id":"`+f.bbTop+`","parent":"../../../etc"}`)
			}},
		{name: "parent missing", ref: "busybox", file: "graph/" + hexOf("bb-top") + "/json", msg: "is not in the store", problem: true,
			break_: func(f fixture) { g.remove("graph/" + f.bbBase) }},
		// In a loop, the link blamed is the one that comes back to the image named.
		{name: "parent cycle in graph json", ref: "busybox", msg: "loops back to " + hexOf("bb-top"), problem: true,
			fileOf: func(f fixture) string { return "graph/" + f.bbBase + "/json" },
			break_: func(f fixture) {
				g.write("graph/"+f.bbBase+"/json", `{"id":"`+f.bbBase+`","parent":"`+f.bbTop+`"}`)
			}},
		{name: "image its own parent", ref: "busybox", file: "/json", msg: "own parent", problem: true,
			break_: func(f fixture) {
				g.write("graph/"+f.bbTop+"/json", `{"id":"`+f.bbTop+`","parent":"`+f.bbTop+`"}`)
			}},
		{name: "parent file cycle", ref: "busybox", msg: "loops back to " + hexOf("bb-top"), problem: true,
			fileOf: func(f fixture) string { return "graph/" + f.bbBase + "/parent" },
			break_: func(f fixture) { g.write("graph/"+f.bbBase+"/parent", f.bbTop+"\n") }},
		{name: "parent file not hex", ref: "busybox", file: "/parent", msg: "not a 64-hex id", problem: true, recovered: true,
			break_: func(f fixture) { g.write("graph/"+f.bbTop+"/parent", "../x") }},
		{name: "parent file disagrees with aufs/layers", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "line 1 is", listed: true,
			break_: func(f fixture) { g.write("graph/"+f.bbTop+"/parent", f.reg) }},
		{name: "tag target escapes", ref: "busybox:1.0", file: "repositories-aufs", msg: `target "../../../etc" is not an image id`, problem: true,
			break_: func(f fixture) {
				g.tag("busybox", "1.0", "../../../etc")
			}},
		{name: "tag target absolute", ref: "busybox:1.0", file: "repositories-aufs", msg: "is not an image id", problem: true,
			break_: func(f fixture) { g.tag("busybox", "1.0", "/"+f.bbTop) }},
		{name: "tag target absent", ref: "busybox:1.0", file: "repositories-aufs", msg: "is not in the store", problem: true,
			break_: func(f fixture) { g.tag("busybox", "1.0", hexOf("gone")) }},
		{name: "tag target uppercase", ref: "busybox:1.0", file: "repositories-aufs", msg: "is not an image id", problem: true,
			break_: func(f fixture) { g.tag("busybox", "1.0", strings.ToUpper(f.bbTop)) }},
		{name: "bad tag name", file: "repositories-aufs", msg: "tag", problem: true,
			break_: func(f fixture) { g.tag("Busy/Box", "latest", f.bbTop) }},
		{name: "non-hex graph entry", file: "graph/notanid", msg: "not an image id", problem: true,
			break_: func(f fixture) { g.mkdir("graph/notanid") }},
		{name: "missing diff dir", ref: "busybox", file: "aufs/diff/" + hexOf("bb-base"), msg: "missing", listed: true,
			break_: func(f fixture) { g.remove("aufs/diff/" + f.bbBase) }},
		{name: "diff dir is a symlink", ref: "busybox", file: "aufs/diff/" + hexOf("bb-base"), msg: "symlink", listed: true,
			break_: func(f fixture) {
				g.remove("aufs/diff/" + f.bbBase)
				g.symlink("/", "aufs/diff/"+f.bbBase)
			}},
		{name: "diff dir is a file", ref: "busybox", file: "aufs/diff/" + hexOf("bb-top"), msg: "not a directory", listed: true,
			break_: func(f fixture) {
				g.remove("aufs/diff/" + f.bbTop)
				g.write("aufs/diff/"+f.bbTop, "x")
			}},
		{name: "missing layers file", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "no such file", listed: true,
			break_: func(f fixture) { g.remove("aufs/layers/" + f.bbTop) }},
		{name: "layers file is a symlink", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "symlink", listed: true,
			break_: func(f fixture) {
				g.remove("aufs/layers/" + f.bbTop)
				g.symlink("/etc/hostname", "aufs/layers/"+f.bbTop)
			}},
		{name: "layers file lacks a line", ref: "user/app:v1", file: "aufs/layers/" + hexOf("app-top"), msg: "is missing", listed: true,
			break_: func(f fixture) { g.layerFile(f.appTop, []string{f.appMid}) }},
		{name: "layers file has an extra line", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "is extra", listed: true,
			break_: func(f fixture) { g.layerFile(f.bbTop, []string{f.bbBase, f.reg}) }},
		{name: "layers file out of order", ref: "user/app:v1", file: "aufs/layers/" + hexOf("app-top"), msg: "line 1 is", listed: true,
			break_: func(f fixture) { g.layerFile(f.appTop, []string{f.appBase, f.appMid}) }},
		{name: "layers file empty for a non-base", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "lists no layers", listed: true,
			break_: func(f fixture) { g.write("aufs/layers/"+f.bbTop, "") }},
		{name: "layers file not empty for a base", ref: "alpine:3.1", file: "aufs/layers/" + hexOf("alpine"), msg: "is extra", listed: true,
			break_: func(f fixture) { g.layerFile(f.alpine, []string{f.reg}) }},
		{name: "layers file names itself", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "itself (cycle)", listed: true,
			break_: func(f fixture) { g.layerFile(f.bbTop, []string{f.bbTop, f.bbBase}) }},
		{name: "layers file repeats a line", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "second time (cycle)", listed: true,
			break_: func(f fixture) { g.layerFile(f.bbTop, []string{f.bbBase, f.bbBase}) }},
		{name: "layers file escapes", ref: "busybox", file: "aufs/layers/" + hexOf("bb-top"), msg: "not a layer id", listed: true,
			break_: func(f fixture) { g.layerFile(f.bbTop, []string{"../../../etc"}) }},
		{name: "layers file blank line", ref: "user/app:v1", file: "aufs/layers/" + hexOf("app-top"), msg: "empty", listed: true,
			break_: func(f fixture) { g.write("aufs/layers/"+f.appTop, f.appMid+"\n\n"+f.appBase+"\n") }},
		{name: "container config truncated", ref: hexOf("ctr-web"), file: "config.json", msg: "invalid JSON", problem: true,
			break_: func(f fixture) {
				g.write("containers/"+f.cid+"/config.json", g.read("containers/" + f.cid + "/config.json")[:30])
			}},
		{name: "container image not hex", ref: "web", file: "config.json", msg: "not a 64-hex id", problem: true,
			break_: func(f fixture) {
				g.write("containers/"+f.cid+"/config.json", `{"ID":"`+f.cid+`","Name":"/web","Image":"../x","Driver":"aufs"}`)
			}},
		{name: "container id differs", ref: "web", file: "config.json", msg: "does not match", problem: true,
			break_: func(f fixture) {
				g.write("containers/"+f.cid+"/config.json", `{"ID":"`+hexOf("x")+`","Name":"/web","Image":"`+f.bbTop+`","Driver":"aufs"}`)
			}},
		{name: "container image absent", ref: "web", file: "config.json", msg: "is not in the store", listed: true, recovered: true,
			break_: func(f fixture) {
				g.write("containers/"+f.cid+"/config.json", `{"ID":"`+f.cid+`","Name":"/web","Image":"`+hexOf("gone")+`","Driver":""}`)
			}},
		{name: "container image broken", ref: "web", file: "graph/" + hexOf("bb-base") + "/json", msg: "invalid JSON", listed: true, recovered: true,
			break_: func(f fixture) { g.write("graph/"+f.bbBase+"/json", "[") }},
		{name: "container layers file disagrees", ref: "web", file: "aufs/layers/" + hexOf("ctr-web"), msg: "line 1 is", listed: true,
			break_: func(f fixture) { g.layerFile(f.cid, []string{f.bbTop, f.bbBase}) }},
		{name: "container init dir missing", ref: "web", file: "aufs/diff/" + hexOf("ctr-web") + "-init", msg: "missing", listed: true,
			break_: func(f fixture) { g.remove("aufs/diff/" + f.cid + "-init") }},
		{name: "non-hex container entry", file: "containers/x", msg: "not a container id", problem: true,
			break_: func(f fixture) { g.mkdir("containers/x") }},
	}
	runCorrupt(t, open, cases)
}

func TestCorruptCAS(t *testing.T) {
	var c *casStore
	open := func(t testing.TB) (func() *Store, fixture) {
		var f fixture
		c, f = casFixture(t)
		return c.open, f
	}
	layerdb := func(f fixture, img string, i int) string { // layerdb dir of layer i (top 0) of img
		ch := c.chains[img]
		return "image/aufs/layerdb/sha256/" + strings.TrimPrefix(ch[len(ch)-1-i], "sha256:")
	}
	config := func(id string) string { return "image/aufs/imagedb/content/sha256/" + id }
	cases := []corruptCase{
		{name: "config not its digest", ref: "busybox", fileOf: func(f fixture) string { return config(f.bbTop) }, msg: "content digest", problem: true, recovered: true,
			break_: func(f fixture) { c.write(config(f.bbTop), c.read(config(f.bbTop))+" ") }},
		{name: "truncated config", ref: "busybox", file: "", msg: "invalid JSON", problem: true,
			break_: func(f fixture) {
				id := c.rawImage(c.read(config(f.bbTop))[:50])
				c.tag("busybox:latest", id)
			}},
		{name: "config without rootfs", ref: "busybox", file: "", msg: "no rootfs", problem: true,
			break_: func(f fixture) { c.tag("busybox:latest", c.rawImage(`{"created":"2016-01-01T00:00:00Z"}`)) }},
		{name: "diff id not a digest", ref: "busybox", file: "", msg: "diff_ids[0]", problem: true,
			break_: func(f fixture) {
				c.tag("busybox:latest", c.rawImage(`{"rootfs":{"type":"layers","diff_ids":["sha256:../../x"]}}`))
			}},
		{name: "diff ids wrong type", ref: "busybox", file: "", msg: "invalid JSON", problem: true,
			break_: func(f fixture) { c.tag("busybox:latest", c.rawImage(`{"rootfs":{"type":"layers","diff_ids":"x"}}`)) }},
		{name: "non-hex imagedb entry", file: "content/sha256/nothex", msg: "not an image id", problem: true,
			break_: func(f fixture) { c.write(config("nothex"), "{}") }},
		{name: "tag target escapes", ref: "busybox:1.0", file: "repositories.json", msg: "is not an image id", problem: true,
			break_: func(f fixture) {
				c.tags["busybox"]["busybox:1.0"] = "sha256:../../../etc"
				c.tag("busybox:latest", f.bbTop)
			}},
		{name: "tag target absolute", ref: "busybox:1.0", file: "repositories.json", msg: "is not an image id", problem: true,
			break_: func(f fixture) { c.tags["busybox"]["busybox:1.0"] = "/etc/passwd"; c.tag("busybox:latest", f.bbTop) }},
		{name: "tag target absent", ref: "busybox:1.0", file: "repositories.json", msg: "is not in the store", problem: true,
			break_: func(f fixture) { c.tag("busybox:1.0", hexOf("gone")) }},
		{name: "missing layerdb entry", ref: "busybox", fileOf: func(f fixture) string { return layerdb(f, f.bbTop, 1) }, msg: "not in the layer store", listed: true,
			break_: func(f fixture) { c.remove(layerdb(f, f.bbTop, 1)) }},
		{name: "missing cache-id", ref: "busybox", file: "cache-id", msg: "no such file", listed: true,
			break_: func(f fixture) { c.remove(layerdb(f, f.bbTop, 0) + "/cache-id") }},
		{name: "cache-id escapes", ref: "busybox", file: "cache-id", msg: "not a layer id", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/cache-id", "../../../../etc\n") }},
		{name: "cache-id empty", ref: "busybox", file: "cache-id", msg: "not a layer id", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/cache-id", "") }},
		{name: "cache-id shared in a chain", ref: "busybox", file: "cache-id", msg: "used by another layer", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 1)+"/cache-id", c.caches[f.bbTop][0]) }},
		{name: "missing diff file", ref: "busybox", file: "/diff", msg: "no such file", listed: true,
			break_: func(f fixture) { c.remove(layerdb(f, f.bbTop, 1) + "/diff") }},
		{name: "diff disagrees with diff_ids", ref: "busybox", file: "/diff", msg: "config says layer 1", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/diff", diffIDOf("other")) }},
		{name: "diff not a digest", ref: "busybox", file: "/diff", msg: "not a sha256 digest", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/diff", "sha256:zz") }},
		{name: "layerdb parent cycle", ref: "busybox", file: "/parent", msg: "loops back", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 1)+"/parent", c.chains[f.bbTop][1]) }},
		{name: "layerdb self parent", ref: "busybox", file: "/parent", msg: "loops back", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/parent", c.chains[f.bbTop][1]) }},
		{name: "layerdb parent wrong", ref: "busybox", file: "/parent", msg: "config makes it", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/parent", c.chains[f.reg][0]) }},
		{name: "layerdb parent missing", ref: "busybox", file: "/parent", msg: "parent is missing", listed: true,
			break_: func(f fixture) { c.remove(layerdb(f, f.bbTop, 0) + "/parent") }},
		{name: "layerdb base has a parent", ref: "busybox", file: "/parent", msg: "base layer", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 1)+"/parent", c.chains[f.reg][0]) }},
		{name: "layerdb parent not a digest", ref: "busybox", file: "/parent", msg: "not a sha256 digest", listed: true,
			break_: func(f fixture) { c.write(layerdb(f, f.bbTop, 0)+"/parent", "../..") }},
		{name: "aufs/layers disagrees with layerdb", ref: "user/app:v1", fileOf: func(f fixture) string { return "aufs/layers/" + c.caches[f.appTop][0] }, msg: "line 1 is", listed: true,
			break_: func(f fixture) {
				ca := c.caches[f.appTop]
				c.layerFile(ca[0], []string{ca[2], ca[1]})
			}},
		{name: "aufs/layers missing", ref: "user/app:v1", fileOf: func(f fixture) string { return "aufs/layers/" + c.caches[f.appTop][0] }, msg: "no such file", listed: true,
			break_: func(f fixture) { c.remove("aufs/layers/" + c.caches[f.appTop][0]) }},
		{name: "aufs/layers cycle", ref: "user/app:v1", fileOf: func(f fixture) string { return "aufs/layers/" + c.caches[f.appTop][0] }, msg: "cycle", listed: true,
			break_: func(f fixture) {
				ca := c.caches[f.appTop]
				c.layerFile(ca[0], []string{ca[1], ca[0], ca[2]})
			}},
		{name: "missing diff dir", ref: "user/app:v1", fileOf: func(f fixture) string { return "aufs/diff/" + c.caches[f.appTop][1] }, msg: "layer directory is missing", listed: true,
			break_: func(f fixture) { c.remove("aufs/diff/" + c.caches[f.appTop][1]) }},
		{name: "diff dir symlink", ref: "user/app:v1", fileOf: func(f fixture) string { return "aufs/diff/" + c.caches[f.appTop][2] }, msg: "symlink", listed: true,
			break_: func(f fixture) {
				c.remove("aufs/diff/" + c.caches[f.appTop][2])
				c.symlink("/etc", "aufs/diff/"+c.caches[f.appTop][2])
			}},
		{name: "container config invalid", ref: hexOf("ctr-web")[:6], file: "config.v2.json", msg: "invalid JSON", problem: true,
			break_: func(f fixture) { c.write("containers/"+f.cid+"/config.v2.json", "{\"ID\":") }},
		{name: "container mount-id missing", ref: "web", file: "mount-id", msg: "no such file", problem: true,
			break_: func(f fixture) { c.remove("image/aufs/layerdb/mounts/" + f.cid + "/mount-id") }},
		{name: "container mount-id escapes", ref: "web", file: "mount-id", msg: "not a layer id", problem: true,
			break_: func(f fixture) { c.write("image/aufs/layerdb/mounts/"+f.cid+"/mount-id", "../../x") }},
		{name: "container init-id escapes", ref: "web", file: "init-id", msg: "not a layer id", problem: true,
			break_: func(f fixture) { c.write("image/aufs/layerdb/mounts/"+f.cid+"/init-id", "/etc") }},
		{name: "container parent not the image top", ref: "web", file: "mounts/" + hexOf("ctr-web") + "/parent", msg: "top layer of image", listed: true,
			break_: func(f fixture) { c.write("image/aufs/layerdb/mounts/"+f.cid+"/parent", c.chains[f.reg][0]) }},
		{name: "container parent missing", ref: "web", file: "mounts/" + hexOf("ctr-web") + "/parent", msg: "parent is missing", listed: true,
			break_: func(f fixture) { c.remove("image/aufs/layerdb/mounts/" + f.cid + "/parent") }},
		{name: "container layers file disagrees", ref: "web", file: "aufs/layers/" + hexOf("mount:"+hexOf("ctr-web")), msg: "line 1 is", listed: true,
			break_: func(f fixture) { c.layerFile(f.cmount, c.caches[f.bbTop]) }},
		{name: "container writable dir missing", ref: "web", file: "aufs/diff/" + hexOf("mount:"+hexOf("ctr-web")), msg: "missing", listed: true,
			break_: func(f fixture) { c.remove("aufs/diff/" + f.cmount) }},
		{name: "container image broken", ref: "web", fileOf: func(f fixture) string { return config(f.bbTop) }, msg: "content digest", listed: true, recovered: true,
			break_: func(f fixture) { c.write(config(f.bbTop), "{}") }},
		{name: "repositories.json names a broken image", ref: "user/app:latest", fileOf: func(f fixture) string { return config(f.appMid) }, msg: "content digest", problem: true,
			break_: func(f fixture) { c.write(config(f.appMid), "{}") }},
	}
	runCorrupt(t, open, cases)
}

// A tag store that cannot be parsed fails Open, naming it.
func TestCorruptTagStore(t *testing.T) {
	for _, c := range []struct {
		name, file, data string
	}{
		{"graph truncated", "repositories-aufs", `{"Repositories":{"busybox":{"latest":"`},
		{"graph wrong shape", "repositories-aufs", `{"Repositories":{"busybox":["x"]}}`},
		{"graph not JSON", "repositories-aufs", "\x00\x01"},
		{"cas truncated", "image/aufs/repositories.json", `{"Repositories":`},
		{"cas wrong shape", "image/aufs/repositories.json", `{"Repositories":7}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var root string
			if strings.HasPrefix(c.file, "image/") {
				cs, _ := casFixture(t)
				cs.write(c.file, c.data)
				root = cs.root
			} else {
				g, _ := graphFixture(t)
				g.write(c.file, c.data)
				root = g.root
			}
			s, err := Open(root)
			if err == nil {
				t.Fatalf("Open = %v, want an error", s)
			}
			wantCorrupt(t, err, c.file, "invalid JSON")
			if !strings.Contains(err.Error(), root) {
				t.Errorf("error %q does not name the root", err)
			}
		})
	}
}

// Other drivers' containers are not ours; a missing tag store is no tags.
func TestSkipped(t *testing.T) {
	g, f := graphFixture(t)
	g.write("containers/"+hexOf("dm")+"/config.json", `{"ID":"`+hexOf("dm")+`","Name":"/dm","Image":"`+f.bbTop+`","Driver":"devicemapper"}`)
	g.mkdir("graph/_tmp")
	s := g.open()
	if n := len(s.Containers()); n != 1 {
		t.Errorf("%d containers", n)
	}
	if p := s.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	if _, err := s.Resolve("dm"); err == nil {
		t.Error("another driver's container resolved")
	}
	g.remove("repositories-aufs")
	s = g.open()
	if n := len(s.Images()); n != 7 {
		t.Errorf("%d images without a tag store", n)
	}
	if _, err := s.Resolve("web"); err != nil {
		t.Error(err)
	}
}

// graph/<id>/parent overrides the json's parent, and the chain follows it.
func TestGraphParentFile(t *testing.T) {
	g, f := graphFixture(t)
	g.write("graph/"+f.bbTop+"/parent", f.appMid+"\n")
	g.layerFile(f.bbTop, []string{f.appMid, f.appBase})
	s := g.open()
	tg, err := s.Resolve("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerIDs(tg.Layers), []string{f.bbTop, f.appMid, f.appBase}; !slices.Equal(got, want) {
		t.Errorf("layers %v, want %v", got, want)
	}
	if tg.Image.Layers != 3 {
		t.Errorf("Layers %d", tg.Image.Layers)
	}
}

// An image can have no layers at all; so can then its container's chain
// below the init layer.
func TestCASNoLayers(t *testing.T) {
	c := newCAS(t)
	id := c.image()
	c.tag("empty:latest", id)
	cid := hexOf("empty container")
	c.container(cid, "hollow", id)
	s := c.open()
	tg, err := s.Resolve("empty")
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Layers) != 0 || tg.Image.Layers != 0 {
		t.Errorf("layers %v", tg.Layers)
	}
	tg, err = s.Resolve("hollow")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerIDs(tg.Layers), []string{c.mountID(cid), c.mountID(cid) + "-init"}; !slices.Equal(got, want) {
		t.Errorf("layers %v, want %v", got, want)
	}
	c.write("image/aufs/layerdb/mounts/"+cid+"/parent", diffIDOf("x"))
	_, err = c.open().Resolve("hollow")
	wantCorrupt(t, err, "mounts/"+cid+"/parent", "has no layers")
}

// A container migrated from pre-1.10 keeps its own id as mount-id, and
// may have no init-id.
func TestCASMigratedContainer(t *testing.T) {
	c, f := casFixture(t)
	cid := hexOf("migrated")
	c.write("containers/"+cid+"/config.v2.json", `{"ID":"`+cid+`","Name":"/old","Image":"sha256:`+f.bbTop+`","Driver":"aufs"}`)
	dir := "image/aufs/layerdb/mounts/" + cid
	c.write(dir+"/mount-id", cid)
	c.write(dir+"/parent", c.chains[f.bbTop][1]+"\n")
	c.mkdir("aufs/diff/" + cid)
	c.layerFile(cid, c.caches[f.bbTop])
	tg, err := c.open().Resolve("old")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerIDs(tg.Layers), append([]string{cid}, c.caches[f.bbTop]...); !slices.Equal(got, want) {
		t.Errorf("layers %v, want %v", got, want)
	}
}
