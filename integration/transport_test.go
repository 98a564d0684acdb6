package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// References in skopeo's transports (docker-archive:FILE[:NAME:TAG],
// oci-archive:FILE[:REF], oci:DIR[:REF], each also :@N) name an image
// of an archive wherever the command takes a reference, beside the
// store of --root (docs/archives.md).

// transportFixture is DiffImages' images in a store, and test/b:1 (with
// test/a:1 in some) in an archive of each kind.
type transportFixture struct {
	d     *st.DiffImages
	dir   string // where it all is
	store *st.Built
	// b.tar: a docker save of test/b:1 alone; ab25.tar: Docker 25's of
	// test/a:1 and test/b:1; oci.tar: a gzip oci-archive of both, ref
	// names a and b; layout: a zstd OCI layout of test/b:1.
	b, ab25, oci, layout *st.ArchiveBuilt
}

func newTransportFixture(t *testing.T) *transportFixture {
	t.Helper()
	d := st.NewDiffImages()
	f := &transportFixture{d: d, dir: t.TempDir()}
	var err error
	if f.store, err = (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{d.Base, d.A, d.B}}).Write(filepath.Join(f.dir, "docker"), layerstore.LayoutCAS); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		to   **st.ArchiveBuilt
		name string
		a    st.Archive
	}{
		{&f.b, "b.tar", st.Archive{Kind: st.DockerSave, Images: []*st.Image{d.B}}},
		{&f.ab25, "ab25.tar", st.Archive{Kind: st.DockerSave25, Images: []*st.Image{d.A, d.B}}},
		{&f.oci, "oci.tar", st.Archive{Kind: st.OCIArchive, Compression: "gzip", Images: []*st.Image{d.A, d.B}, RefNames: map[*st.Image]string{d.A: "a", d.B: "b"}}},
		{&f.layout, "layout", st.Archive{Kind: st.OCILayout, Compression: "zstd", Images: []*st.Image{d.B}}},
	} {
		if *a.to, err = a.a.Write(filepath.Join(f.dir, a.name)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestTransportMount mounts test/b:1 of an archive of each kind by a
// transport reference, in the background, in the foreground's place of
// mount(8)'s helper, with the archive named by a relative path, and with
// a --root that does not exist: each view is the model's, and the mount
// table names the archive, absolute, as the store.
func TestTransportMount(t *testing.T) {
	testenv.FUSE(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := newTransportFixture(t)
	missing := filepath.Join(f.dir, "no-docker")
	for _, c := range []struct {
		root, ref, archive string
	}{
		{f.store.Root, "docker-archive:" + f.b.Path, f.b.Path},
		{missing, "docker-archive:" + f.ab25.Path + ":test/b:1", f.ab25.Path},
		{missing, "docker-archive:" + f.ab25.Path + ":@1", f.ab25.Path},
		{f.store.Root, "oci-archive:" + f.ab25.Path + ":docker.io/test/b:1", f.ab25.Path},
		{f.store.Root, "oci-archive:" + f.oci.Path + ":b", f.oci.Path},
		{missing, "oci:layout", f.layout.Path}, // relative to the command's directory
		{missing, "oci:" + f.layout.Path + ":test/b:1", f.layout.Path},
	} {
		t.Run(c.ref, func(t *testing.T) {
			mnt := t.TempDir()
			stdout, stderr, code := runIn(t, f.dir, "--root", c.root, "mount", c.ref, mnt)
			t.Cleanup(func() { unmountRef(t, mnt) })
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("mount %s: exit %d, stdout %q, stderr %q", c.ref, code, stdout, stderr)
			}
			if err := st.Compare(mnt, f.store.View(f.d.B), archiveCompare); err != nil {
				t.Error(err)
			}
			out, _, _ := run(t, "mounts", "--json")
			views := ourViews(t, out, filepath.Dir(mnt))
			if len(views) != 1 || views[0].Ref != c.ref || views[0].Store != c.archive {
				t.Errorf("mounts --json: %+v, want ref %s, store %s", views, c.ref, c.archive)
			}
			umountNow(t, mnt)
		})
	}
	t.Run("mount helper", func(t *testing.T) {
		installHelper(t)
		mnt := t.TempDir()
		ref := "oci-archive:" + f.oci.Path + ":b"
		out, code := runTool(t, nil, "mount", "-t", "fuse.aufsmount", "-o", "ro,root="+missing, ref, mnt)
		t.Cleanup(func() { unmountRef(t, mnt) })
		if code != 0 || out != "" {
			t.Fatalf("mount(8) %s: exit %d: %s", ref, code, out)
		}
		if err := st.Compare(mnt, f.store.View(f.d.B), archiveCompare); err != nil {
			t.Error(err)
		}
	})
}

// TestTransportDiff diffs an image of the store with one of an archive,
// and two images of archives: the diff is DiffImages' own, and the
// archive's blob of the base the two share (by chain id) is not read:
// its index is never built.
func TestTransportDiff(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	f := newTransportFixture(t)
	stdout, stderr, code := run(t, "--root", f.store.Root, "diff", "--json", "test/a:1", "docker-archive:"+f.b.Path)
	if code != 0 || stderr != "" {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	if got := diffLines(t, stdout); !slices.Equal(got, st.DiffAB) {
		t.Errorf("diff test/a:1 docker-archive:b.tar:\n got %q\nwant %q", got, st.DiffAB)
	}
	// A docker save's blobs are its layers' tars: their digests are the
	// diff ids, and the cache keeps the indexes of b1's and b2's alone.
	base, b1, b2 := f.b.Blobs[f.d.B][0][7:], f.b.Blobs[f.d.B][1][7:], f.b.Blobs[f.d.B][2][7:]
	var indexed []string
	ents, _ := os.ReadDir(filepath.Join(cache, "aufsmount/archive"))
	for _, e := range ents {
		indexed = append(indexed, e.Name())
	}
	want := []string{b1 + ".seekable", b1 + ".seen", b1 + ".tar", b2 + ".seekable", b2 + ".seen", b2 + ".tar"}
	slices.Sort(want)
	if !slices.Equal(indexed, want) {
		t.Errorf("indexed %q, want %q (the base's blob, %s, is not to be read)", indexed, want, base)
	}
	// Between two archives, the one a layout (zstd), the other a gzip
	// oci-archive, the store missing.
	stdout, stderr, code = run(t, "--root", filepath.Join(f.dir, "no-docker"), "diff", "--json", "oci-archive:"+f.oci.Path+":a", "oci:"+f.layout.Path)
	if code != 0 || stderr != "" {
		t.Fatalf("diff of two archives: exit %d: %s", code, stderr)
	}
	if got := diffLines(t, stdout); !slices.Equal(got, st.DiffAB) {
		t.Errorf("diff oci-archive:oci.tar:a oci:layout:\n got %q\nwant %q", got, st.DiffAB)
	}
	// A reference of the store, where it cannot be opened, says why.
	_, stderr, code = run(t, "--root", filepath.Join(f.dir, "no-docker"), "diff", "test/a:1", "oci:"+f.layout.Path)
	if want := "aufsmount: opening store " + f.dir + "/no-docker: no such file or directory\n"; code != 1 || stderr != want {
		t.Errorf("diff with the store missing: exit %d, stderr %q, want %q", code, stderr, want)
	}
}

// TestTransportCommands: layers, history, inspect and which take
// transport references.
func TestTransportCommands(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := newTransportFixture(t)
	b := "docker-archive:" + f.b.Path
	for _, c := range []struct {
		args   []string
		stdout string
	}{
		{[]string{"layers", b}, "LAYER ID|DIR|CREATED BY|SIZE\n" +
			"31a52bb05d91|" + f.b.Path + ":bd501380b81b9b3f99e360c4bea9b892a27f1e7c7b88dec74dc06e3e42907980/layer.tar|b2|-\n" +
			"923814a2cdbb|" + f.b.Path + ":a4a616eaa06b05cbeff1efa363cb611cb96de54e0a2b08741ea19f9e98658d0a/layer.tar|b1|-\n" +
			"ecea389318a3|" + f.b.Path + ":43c731e2db4dc2f5135d5940577f046dd41d1b329d3a16fa82b345bd8ed04235/layer.tar|base|-\n"},
		{[]string{"layers", "oci:" + f.layout.Path + ":@0"}, "LAYER ID|DIR|CREATED BY|SIZE\n" +
			"31a52bb05d91|" + f.layout.Path + ":blobs/sha256/" + f.layout.Blobs[f.d.B][2][7:] + "|b2|-\n" +
			"923814a2cdbb|" + f.layout.Path + ":blobs/sha256/" + f.layout.Blobs[f.d.B][1][7:] + "|b1|-\n" +
			"ecea389318a3|" + f.layout.Path + ":blobs/sha256/" + f.layout.Blobs[f.d.B][0][7:] + "|base|-\n"},
		{[]string{"history", "--format", "{{.ID}} {{.CreatedBy}}", "oci-archive:" + f.oci.Path + ":b"},
			"f4c878ff6b42 /bin/sh -c b2\n<missing> /bin/sh -c b1\n<missing> /bin/sh -c base\n"},
		{[]string{"inspect", "--format", "{{.Id}} {{.RepoTags}} {{len .RootFS.Layers}}", "docker-archive:" + f.ab25.Path + ":test/a:1"},
			"sha256:05640725bb9b70baf8fb13b7ef2c5cd71f9ab437f267d64bf68aa493eb640a63 [test/a:1] 2\n"},
		{[]string{"which", b, "/bin/tool"}, "LAYER ID|DIR|STATUS\n" +
			"923814a2cdbb|" + f.b.Path + ":a4a616eaa06b05cbeff1efa363cb611cb96de54e0a2b08741ea19f9e98658d0a/layer.tar|provides\n" +
			"ecea389318a3|" + f.b.Path + ":43c731e2db4dc2f5135d5940577f046dd41d1b329d3a16fa82b345bd8ed04235/layer.tar|hidden: shadowed at /bin/tool by 923814a2cdbb\n"},
	} {
		stdout, stderr, code := run(t, append([]string{"--root", f.store.Root}, c.args...)...)
		if code != 0 || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", c.args, code, stderr)
		}
		if got := columns(stdout); got != c.stdout {
			t.Errorf("%s:\n got %q\nwant %q", c.args, got, c.stdout)
		}
	}
}

// columns is a table's lines with each run of two spaces or more (the
// padding between columns) made one "|".
func columns(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		fields := strings.Split(strings.TrimRight(line, "\n"), "  ")
		var kept []string
		for _, f := range fields {
			if f = strings.TrimSpace(f); f != "" {
				kept = append(kept, f)
			}
		}
		if len(kept) > 0 || strings.HasSuffix(line, "\n") {
			b.WriteString(strings.Join(kept, "|"))
			if strings.HasSuffix(line, "\n") {
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// TestTransportErrors: a transport reference that names no image says
// what is wrong, naming the archive and the reference, exit status 1
// (2 for one that is malformed).
func TestTransportErrors(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := newTransportFixture(t)
	notes := filepath.Join(f.dir, "notes.txt")
	if err := os.WriteFile(notes, bytes.Repeat([]byte("not an archive\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	d := f.dir
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"layers", "docker-archive:" + d + "/missing.tar"}, "docker-archive:" + d + "/missing.tar: opening " + d + "/missing.tar: no such file or directory"},
		{[]string{"layers", "docker-archive:" + d + "/oci.tar"}, "docker-archive:" + d + "/oci.tar: " + d + "/oci.tar is an oci-archive, not a docker save archive: name it oci-archive:" + d + "/oci.tar"},
		{[]string{"history", "oci:" + d + "/oci.tar"}, "oci:" + d + "/oci.tar: " + d + "/oci.tar is an oci-archive, not an OCI layout directory: name it oci-archive:" + d + "/oci.tar"},
		{[]string{"inspect", "oci-archive:" + d + "/layout"}, "oci-archive:" + d + "/layout: " + d + "/layout is an OCI layout directory, not an oci-archive: name it oci:" + d + "/layout"},
		{[]string{"history", "oci:" + d + "/docker"}, "oci:" + d + "/docker: " + d + "/docker is a directory, not an OCI layout directory (it has no oci-layout and index.json)"},
		{[]string{"layers", "docker-archive:" + notes}, "docker-archive:" + notes + ": " + notes + " is not a docker save archive: reading " + notes + ": not a tar, or a damaged one: archive/tar: invalid tar header"},
		{[]string{"layers", "docker-archive:" + d + "/ab25.tar"}, "docker-archive:" + d + "/ab25.tar: " + d + "/ab25.tar holds 2 images: name one (test/a:1, test/b:1)"},
		{[]string{"layers", "oci-archive:" + d + "/oci.tar"}, "oci-archive:" + d + "/oci.tar: " + d + "/oci.tar holds 2 images: name one (a, b)"},
		{[]string{"diff", "docker-archive:" + d + "/ab25.tar:test/c:1", "test/a:1"}, "docker-archive:" + d + "/ab25.tar:test/c:1: no image test/c:1 in " + d + "/ab25.tar (it holds test/a:1, test/b:1)"},
		{[]string{"which", "oci-archive:" + d + "/oci.tar:c", "/etc"}, "oci-archive:" + d + "/oci.tar:c: no image c in " + d + "/oci.tar (it holds a, b)"},
		{[]string{"layers", "oci-archive:" + d + "/ab25.tar:1"}, "oci-archive:" + d + "/ab25.tar:1: 1 names 2 images in " + d + "/ab25.tar: name one by its index (@0, @1)"},
		{[]string{"layers", "oci:" + d + "/layout:@1"}, "oci:" + d + "/layout:@1: no image @1 in " + d + "/layout: it has @0 alone"},
		{[]string{"save", "-o", d + "/out.tar", "docker-archive:" + d + "/b.tar:@x"}, "docker-archive:" + d + "/b.tar:@x: @x is not an image's index (0, 1, ...) (docker-archive:FILE[:NAME:TAG|:@N])"},
		{[]string{"inspect", "--type", "container", "docker-archive:" + d + "/b.tar"}, "docker-archive:" + d + "/b.tar: no such container (it names the image test/b:1)"},
	} {
		stdout, stderr, code := run(t, append([]string{"--root", f.store.Root}, c.args...)...)
		if code != 1 || stdout != "" || stderr != "aufsmount: "+c.stderr+"\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n got %q\nwant %q", c.args, code, stdout, stderr, "aufsmount: "+c.stderr+"\n")
		}
	}
	if _, err := os.Stat(d + "/out.tar"); err == nil {
		t.Errorf("save of a malformed reference wrote %s", d+"/out.tar")
	}
	// A mount fails so too, and mounts nothing.
	testenv.FUSE(t)
	mnt := t.TempDir()
	_, stderr, code := run(t, "--root", f.store.Root, "mount", "docker-archive:"+d+"/missing.tar", mnt)
	if want := "aufsmount: docker-archive:" + d + "/missing.tar: opening " + d + "/missing.tar: no such file or directory\n"; code != 1 || stderr != want || isMounted(t, mnt) {
		t.Errorf("mount of a missing archive: exit %d, stderr %q, want %q", code, stderr, want)
	}
}
