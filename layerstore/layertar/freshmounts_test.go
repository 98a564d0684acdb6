package layertar_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// writeTree makes files (path -> content; a path ending in "/" a
// directory) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFreshMounts writes a container's layer with its volumes at their
// destinations: each volume's directory opaque, what the layer has under
// it left out, a volume inside another written inside it, one whose way
// down the layer lacks written without the directories it lacks, hard
// links within a volume as links, and .wh. names (whiteouts to any
// applier) left out and told.
func TestFreshMounts(t *testing.T) {
	root := t.TempDir()
	layer := filepath.Join(root, "layer")
	writeTree(t, layer, map[string]string{
		"root/.history": "psql", "srv/uploads/stale": "under the volume",
	})
	store := filepath.Join(root, "store")
	writeTree(t, store, map[string]string{
		"volumes/dbdata/_data/table": "rows\n", "volumes/dbdata/_data/base/1/t": "t",
		"volumes/dbdata/_data/cache/c1": "dbdata's, under the cache volume",
		"volumes/dbdata/_data/.wh.x":    "not a whiteout", "volumes/dbdata/_data/.wh.dir/inner": "i",
		"volumes/cache/_data/c1": "cached", "volumes/uploads/_data/a.png": "png",
		"volumes/evil/": "",
	})
	if err := os.Link(filepath.Join(store, "volumes/uploads/_data/a.png"), filepath.Join(store, "volumes/uploads/_data/b.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(store, "volumes/evil/_data")); err != nil {
		t.Fatal(err)
	}
	var left []string
	f := layertar.Fresh{
		Layer: layertar.Layer{Dir: layer, Encoding: whiteout.None},
		Mounts: []layertar.Mount{
			{Dest: "var/lib/db/cache", Root: store, Source: "volumes/cache/_data"},
			{Dest: "var/lib/db", Root: store, Source: "volumes/dbdata/_data"},
			{Dest: "srv/uploads", Root: store, Source: "volumes/uploads/_data"},
		},
		LeftOut: func(p string) { left = append(left, p) },
	}
	var buf bytes.Buffer
	rep, err := layertar.WriteFresh(f, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, order := readTar(t, buf.Bytes())
	want := []string{
		"root", "root/.history",
		"srv", "srv/uploads", "srv/uploads/.wh..wh..opq", "srv/uploads/a.png", "srv/uploads/b.png",
		"var/lib/db", "var/lib/db/.wh..wh..opq", "var/lib/db/base", "var/lib/db/base/1", "var/lib/db/base/1/t", "var/lib/db/table",
		"var/lib/db/cache", "var/lib/db/cache/.wh..wh..opq", "var/lib/db/cache/c1",
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	if e := got["srv/uploads/b.png"]; e.typ != tar.TypeLink || e.link != "srv/uploads/a.png" {
		t.Errorf("srv/uploads/b.png: type %c, link %q; want a hard link to srv/uploads/a.png", e.typ, e.link)
	}
	if e, c := got["var/lib/db/cache/c1"], got["srv/uploads/a.png"]; e.size != int64(len("cached")) || c.size != 3 {
		t.Errorf("var/lib/db/cache/c1 has %d bytes, srv/uploads/a.png %d: want the volumes' files", e.size, c.size)
	}
	if strings.Join(left, " ") != "var/lib/db/.wh.dir var/lib/db/.wh.x" {
		t.Errorf("left out %q, want the two .wh. names of the dbdata volume", left)
	}
	size, entries, err := layertar.FreshSize(f)
	if err != nil || size != int64(buf.Len()) || entries != len(want) || rep.Entries != len(want) {
		t.Errorf("FreshSize: %d bytes, %d entries, %v; WriteFresh wrote %d bytes, %d entries; want %d", size, entries, err, buf.Len(), rep.Entries, len(want))
	}

	for _, tc := range []struct {
		name  string
		mount layertar.Mount
		says  string
	}{
		{"a symlinked source", layertar.Mount{Dest: "etc/trap", Root: store, Source: "volumes/evil/_data"}, "mount at /etc/trap: opening " + store + "/volumes/evil/_data"},
		{"a dest outside", layertar.Mount{Dest: "../x", Root: store, Source: "volumes/cache/_data"}, "mount of volumes/cache/_data at /../x: not a path below a root"},
		{"a source outside", layertar.Mount{Dest: "x", Root: store, Source: "volumes/../../layer"}, "mount of volumes/../../layer at /x: not a path below a root"},
		{"a way through a file", layertar.Mount{Dest: "root/.history/x", Root: store, Source: "volumes/cache/_data"}, "mount of volumes/cache/_data at /root/.history/x: /root/.history is not a directory in the layer"},
	} {
		bad := f
		bad.Mounts = []layertar.Mount{tc.mount}
		if _, err := layertar.WriteFresh(bad, &bytes.Buffer{}, nil); err == nil || !strings.HasPrefix(err.Error(), tc.says) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.says)
		}
	}
}
