package layerstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

func TestParseTransport(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want *layerstore.TransportRef // nil: not a transport reference
		err  string
	}{
		// Docker references, never a transport.
		{ref: "busybox"},
		{ref: "busybox:latest"},
		{ref: "localhost:5000/x:tag"},
		{ref: "oci:5000/x:tag"},
		{ref: "docker-archive:5000/team/app"},
		{ref: "oci-archive:443/app:1"},
		{ref: "sha256:0123456789ab"},
		{ref: "oci"},
		{ref: "OCI:/srv/layout"},
		{ref: "docker.io/library/oci:latest"},
		{ref: "my-container"},
		// docker-archive:FILE[:NAME:TAG|:@N]
		{ref: "docker-archive:/srv/app.tar", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Index: -1}},
		{ref: "docker-archive:app.tar", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "app.tar", Index: -1}},
		{ref: "docker-archive:/srv/app.tar:app:v1", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Name: "app:v1", Index: -1}},
		{ref: "docker-archive:/srv/app.tar:app", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Name: "app:latest", Index: -1}},
		{ref: "docker-archive:/srv/app.tar:docker.io/library/busybox:1", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Name: "busybox:1", Index: -1}},
		{ref: "docker-archive:/srv/app.tar:localhost:5000/team/app:v2", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Name: "localhost:5000/team/app:v2", Index: -1}},
		{ref: "docker-archive:/srv/app.tar:@0", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Index: 0}},
		{ref: "docker-archive:/srv/app.tar:@12", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Index: 12}},
		{ref: "docker-archive:/srv/app.tar:", want: &layerstore.TransportRef{Kind: "docker-archive", Path: "/srv/app.tar", Index: -1}},
		// oci-archive:FILE[:REF|:@N] and oci:DIR[:REF|:@N]
		{ref: "oci-archive:/srv/app.tar", want: &layerstore.TransportRef{Kind: "oci-archive", Path: "/srv/app.tar", Index: -1}},
		{ref: "oci-archive:/srv/app.tar:latest", want: &layerstore.TransportRef{Kind: "oci-archive", Path: "/srv/app.tar", Name: "latest", Index: -1}},
		{ref: "oci-archive:/srv/app.tar:@1", want: &layerstore.TransportRef{Kind: "oci-archive", Path: "/srv/app.tar", Index: 1}},
		{ref: "oci:/srv/layout", want: &layerstore.TransportRef{Kind: "oci", Path: "/srv/layout", Index: -1}},
		{ref: "oci:layout:busybox:latest", want: &layerstore.TransportRef{Kind: "oci", Path: "layout", Name: "busybox:latest", Index: -1}},
		{ref: "oci:/srv/layout:registry.example/team/app:v1.2-rc", want: &layerstore.TransportRef{Kind: "oci", Path: "/srv/layout", Name: "registry.example/team/app:v1.2-rc", Index: -1}},
		{ref: "oci:latest", want: &layerstore.TransportRef{Kind: "oci", Path: "latest", Index: -1}},
		{ref: "oci:./5000", want: &layerstore.TransportRef{Kind: "oci", Path: "./5000", Index: -1}},
		// Malformed.
		{ref: "docker-archive:", err: "docker-archive:: no FILE (docker-archive:FILE[:NAME:TAG|:@N])"},
		{ref: "oci:", err: "oci:: no DIR (oci:DIR[:REF|:@N])"},
		{ref: "oci-archive::latest", err: "oci-archive::latest: no FILE (oci-archive:FILE[:REF|:@N])"},
		{ref: "docker-archive:/srv/app.tar:@", err: "docker-archive:/srv/app.tar:@: @ is not an image's index (0, 1, ...) (docker-archive:FILE[:NAME:TAG|:@N])"},
		{ref: "docker-archive:/srv/app.tar:@-1", err: "docker-archive:/srv/app.tar:@-1: @-1 is not an image's index (0, 1, ...) (docker-archive:FILE[:NAME:TAG|:@N])"},
		{ref: "oci:/srv/layout:@+1", err: "oci:/srv/layout:@+1: @+1 is not an image's index (0, 1, ...) (oci:DIR[:REF|:@N])"},
		{ref: "oci:/srv/layout:@one", err: "oci:/srv/layout:@one: @one is not an image's index (0, 1, ...) (oci:DIR[:REF|:@N])"},
		{ref: "docker-archive:/srv/app.tar:App:v1", err: "docker-archive:/srv/app.tar:App:v1: App:v1 is not a NAME:TAG: invalid reference format: repository name (library/App) must be lowercase (docker-archive:FILE[:NAME:TAG|:@N])"},
		{ref: "docker-archive:/srv/app.tar:app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			err: "docker-archive:/srv/app.tar:app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef: app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef names a digest: an archive's images are named by tag (docker-archive:FILE[:NAME:TAG|:@N])"},
		{ref: "oci:/srv/layout:bad name", err: `oci:/srv/layout:bad name: "bad name" is not an OCI ref name (oci:DIR[:REF|:@N])`},
		{ref: "oci-archive:/srv/app.tar:-v1", err: `oci-archive:/srv/app.tar:-v1: "-v1" is not an OCI ref name (oci-archive:FILE[:REF|:@N])`},
	} {
		got, err := layerstore.ParseTransport(c.ref)
		switch {
		case c.err != "":
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: error %v, want %s", c.ref, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.ref, err)
		case (got == nil) != (c.want == nil) || got != nil && *got != *c.want:
			t.Errorf("%s: %+v, want %+v", c.ref, got, c.want)
		}
	}
}

// transportImages are the images of the archives transport references
// name: busybox and app share their base (arcImages), and other is
// another image, untagged in a docker save.
func transportImages() (busybox, app, other *storetest.Image) {
	busybox, app = arcImages()
	other = &storetest.Image{Layers: []*storetest.Layer{storetest.NewLayer("other", storetest.F("other", "o"))}}
	return busybox, app, other
}

// TestResolveTransport resolves transport references of each kind of
// archive through a store's Resolve: the archive is opened as a store
// of its own, the target says which, and what the Source tells of a
// target (its config, history, layout) is read from the archive.
func TestResolveTransport(t *testing.T) {
	busybox, app, other := transportImages()
	dir := t.TempDir()
	store, err := (&storetest.Store{Driver: storetest.DriverOverlay2, Images: []*storetest.Image{busybox}}).Write(filepath.Join(dir, "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, a storetest.Archive) *storetest.ArchiveBuilt {
		b, err := a.Write(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	all := []*storetest.Image{busybox, app, other}
	save := write("save.tar", storetest.Archive{Kind: storetest.DockerSave, Images: all})
	save25 := write("save25.tar", storetest.Archive{Kind: storetest.DockerSave25, Images: []*storetest.Image{busybox, app}})
	oneSave := write("one.tar", storetest.Archive{Kind: storetest.DockerSave, Images: []*storetest.Image{app}})
	ociTar := write("oci.tar", storetest.Archive{Kind: storetest.OCIArchive, Compression: "gzip", Images: all,
		RefNames: map[*storetest.Image]string{busybox: "latest", app: "v2", other: "other"}})
	layout := write("layout", storetest.Archive{Kind: storetest.OCILayout, Compression: "zstd", Index: true, Images: []*storetest.Image{app}})
	idOf := func(b *storetest.ArchiveBuilt, img *storetest.Image) string { return b.ImageID[img] }

	s, err := layerstore.OpenWith(store.Root, layerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ref     string
		id      string
		name    string
		driver  string
		archive string
	}{
		{"docker-archive:" + save.Path + ":busybox:latest", idOf(save, busybox), "busybox:latest", "docker-archive", save.Path},
		{"docker-archive:" + save.Path + ":busybox", idOf(save, busybox), "busybox:latest", "docker-archive", save.Path},
		{"docker-archive:" + save.Path + ":docker.io/library/busybox:latest", idOf(save, busybox), "busybox:latest", "docker-archive", save.Path},
		{"docker-archive:" + save.Path + ":registry.example:5000/team/app:v2", idOf(save, app), "registry.example:5000/team/app:v2", "docker-archive", save.Path},
		{"docker-archive:" + save.Path + ":@1", idOf(save, app), "registry.example:5000/team/app:v2", "docker-archive", save.Path},
		{"docker-archive:" + save.Path + ":@2", idOf(save, other), idOf(save, other)[:12], "docker-archive", save.Path},
		{"docker-archive:" + oneSave.Path, idOf(oneSave, app), "registry.example:5000/team/app:v2", "docker-archive", oneSave.Path},
		{"docker-archive:" + save25.Path + ":busybox:latest", idOf(save25, busybox), "busybox:latest", "docker-archive", save25.Path},
		// A Docker 25 save is an oci-archive too: its ref names are bare
		// tags, and its full names are taken as well.
		{"oci-archive:" + save25.Path + ":latest", idOf(save25, busybox), "latest", "oci-archive", save25.Path},
		{"oci-archive:" + save25.Path + ":busybox:latest", idOf(save25, busybox), "busybox:latest", "oci-archive", save25.Path},
		{"oci-archive:" + ociTar.Path + ":v2", idOf(ociTar, app), "v2", "oci-archive", ociTar.Path},
		{"oci-archive:" + ociTar.Path + ":@2", idOf(ociTar, other), "other", "oci-archive", ociTar.Path},
		{"oci:" + layout.Path, idOf(layout, app), "registry.example:5000/team/app:v2", "oci", layout.Path},
		{"oci:" + layout.Path + ":registry.example:5000/team/app:v2", idOf(layout, app), "registry.example:5000/team/app:v2", "oci", layout.Path},
		{"oci:" + layout.Path + ":@0", idOf(layout, app), "registry.example:5000/team/app:v2", "oci", layout.Path},
	} {
		tg, err := s.Resolve(c.ref)
		if err != nil {
			t.Errorf("%s: %v", c.ref, err)
			continue
		}
		if tg.Kind != layerstore.KindImage || tg.Image.ID != c.id || tg.Name != c.name || tg.Driver != c.driver || tg.Archive != c.archive || tg.Ref != c.ref {
			t.Errorf("%s: kind %v, id %s, name %q, driver %s, archive %s, ref %s;\nwant image %s, %q, %s, %s", c.ref, tg.Kind, tg.Image.ID, tg.Name, tg.Driver, tg.Archive, tg.Ref, c.id, c.name, c.driver, c.archive)
		}
		if n := len(tg.Stack); n == 0 || tg.Stack[0].Archive == nil || tg.Stack[0].Archive.Archive != c.archive {
			t.Errorf("%s: stack %+v", c.ref, tg.Stack)
		}
		if cfg, err := s.ImageConfig(tg); err != nil || !strings.Contains(string(cfg), `"diff_ids"`) {
			t.Errorf("%s: config %.60s: %v", c.ref, cfg, err)
		}
		if h, err := s.History(tg); err != nil || len(h) == 0 {
			t.Errorf("%s: history %v: %v", c.ref, h, err)
		}
		if l := s.LayoutOf(tg); l != layerstore.LayoutArchive {
			t.Errorf("%s: layout %v", c.ref, l)
		}
	}
	// The store's own references are its own.
	if tg, err := s.Resolve("busybox:latest"); err != nil || tg.Archive != "" || tg.Driver != "overlay2" {
		t.Errorf("busybox:latest: %+v, %v", tg, err)
	}
	// An inspect of a container finds none in an archive, and says what
	// it names.
	ref := "docker-archive:" + oneSave.Path
	if _, err := layerstore.ResolveInspect(s, ref, layerstore.KindContainer); err == nil || err.Error() != ref+": no such container (it names the image registry.example:5000/team/app:v2)" {
		t.Errorf("inspect --type container: %v", err)
	}
	if tg, err := layerstore.ResolveInspect(s, ref, 0); err != nil || tg.Image.ID != idOf(oneSave, app) {
		t.Errorf("inspect: %+v, %v", tg, err)
	}

	notTar := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notTar, []byte("not a tar, but long enough to be read as one's first header, surely: "+strings.Repeat("x", 600)), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ref, err string }{
		{"docker-archive:" + save.Path, "docker-archive:" + save.Path + ": " + save.Path + " holds 3 images: name one (busybox:latest, registry.example:5000/team/app:v2, @2)"},
		{"oci-archive:" + ociTar.Path, "oci-archive:" + ociTar.Path + ": " + ociTar.Path + " holds 3 images: name one (latest, v2, other)"},
		{"docker-archive:" + save.Path + ":app:v9", "docker-archive:" + save.Path + ":app:v9: no image app:v9 in " + save.Path + " (it holds busybox:latest, registry.example:5000/team/app:v2, @2)"},
		{"oci-archive:" + ociTar.Path + ":v9", "oci-archive:" + ociTar.Path + ":v9: no image v9 in " + ociTar.Path + " (it holds latest, v2, other)"},
		{"docker-archive:" + save.Path + ":@3", "docker-archive:" + save.Path + ":@3: no image @3 in " + save.Path + ": it has @0 to @2"},
		{"oci:" + layout.Path + ":@1", "oci:" + layout.Path + ":@1: no image @1 in " + layout.Path + ": it has @0 alone"},
		{"docker-archive:" + dir + "/missing.tar", "docker-archive:" + dir + "/missing.tar: opening " + dir + "/missing.tar: no such file or directory"},
		{"oci:" + dir + "/missing", "oci:" + dir + "/missing: opening " + dir + "/missing: no such file or directory"},
		{"docker-archive:" + ociTar.Path, "docker-archive:" + ociTar.Path + ": " + ociTar.Path + " is an oci-archive, not a docker save archive: name it oci-archive:" + ociTar.Path},
		{"oci:" + ociTar.Path, "oci:" + ociTar.Path + ": " + ociTar.Path + " is an oci-archive, not an OCI layout directory: name it oci-archive:" + ociTar.Path},
		{"oci-archive:" + save.Path, "oci-archive:" + save.Path + ": " + save.Path + " is a docker save archive, not an oci-archive: name it docker-archive:" + save.Path},
		{"oci-archive:" + layout.Path, "oci-archive:" + layout.Path + ": " + layout.Path + " is an OCI layout directory, not an oci-archive: name it oci:" + layout.Path},
		{"oci:" + emptyDir, "oci:" + emptyDir + ": " + emptyDir + " is a directory, not an OCI layout directory (it has no oci-layout and index.json)"},
		{"docker-archive:" + emptyDir, "docker-archive:" + emptyDir + ": " + emptyDir + " is a directory, not a docker save archive (it has no oci-layout and index.json)"},
		{"docker-archive:" + notTar, "docker-archive:" + notTar + ": " + notTar + " is not a docker save archive: reading " + notTar + ": not a tar, or a damaged one: archive/tar: invalid tar header"},
	} {
		_, err := s.Resolve(c.ref)
		if err == nil || err.Error() != c.err {
			t.Errorf("%s:\n got %v\nwant %s", c.ref, err, c.err)
		}
	}
}

// TestOpenWithoutRoot: a root that cannot be opened is no error where a
// reference to be resolved names an archive of its own, until a
// reference of the root is resolved.
func TestOpenWithoutRoot(t *testing.T) {
	_, app, _ := transportImages()
	dir := t.TempDir()
	b, err := (&storetest.Archive{Kind: storetest.DockerSave, Images: []*storetest.Image{app}}).Write(filepath.Join(dir, "app.tar"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "docker")
	ref := "docker-archive:" + b.Path
	if _, err := layerstore.OpenWith(root, layerstore.Options{Refs: []string{"app:v2"}}); err == nil || err.Error() != "opening store "+root+": no such file or directory" {
		t.Errorf("without a transport reference: %v", err)
	}
	s, err := layerstore.OpenWith(root, layerstore.Options{Refs: []string{ref, "app:v2"}})
	if err != nil {
		t.Fatal(err)
	}
	if tg, err := s.Resolve(ref); err != nil || tg.Image.ID != b.ImageID[app] {
		t.Errorf("%s: %+v, %v", ref, tg, err)
	}
	if _, err := s.Resolve("app:v2"); err == nil || err.Error() != "opening store "+root+": no such file or directory" {
		t.Errorf("app:v2: %v", err)
	}
	if imgs := s.Images(); len(imgs) != 0 {
		t.Errorf("images %v", imgs)
	}
}
