package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestArchiveEngines has real engines write the archives users bring: a
// private Podman 4.3 (podman save in each format it writes and aufsmount
// reads: docker-archive, with -m too, oci-archive and oci-dir; not
// docker-dir, a directory aufsmount does not read) and a private
// containerd 1.6 (ctr images export: an OCI layout tar with a
// manifest.json) load aufsmount save's archive of the toolCases images
// and write them out again. Each archive must hold the members and
// layer media types this engine is known to write; aufsmount --root
// ARCHIVE images must list the names the engine wrote; and each image,
// mounted by that name, must be the fixture's model and the store's view
// of it, whole.
func TestArchiveEngines(t *testing.T) {
	testenv.FUSE(t)
	podman := testenv.Tool(t, "podman")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	imgs, store, saved := toolStore(t)
	dir := t.TempDir()
	// podman load names docker save's images under localhost/; ctr
	// images import under docker.io/.
	const podA, podB = "localhost/test/rules:a", "localhost/test/rules:b"
	const ctrA, ctrB = "docker.io/test/rules:a", "docker.io/test/rules:b"
	type layout struct {
		refName, layerType string // an image's OCI ref name in index.json, and its layers' media type
		magic              []byte // how each layer blob begins
	}
	archives := []struct {
		name    string
		save    []string // podman save's flags before -o; nil: ctr images export
		refs    []string // the names of imgs[0] and imgs[1] in it ("": not there)
		listed  []string // images --format '{{.Repository}}:{{.Tag}}', sorted
		members []string // the archive's members (files of a directory), each run of 64 hex digits as <id>, sorted
		oci     *layout
	}{
		{name: "podman docker-archive", save: []string{"save"}, refs: []string{podA, ""},
			listed:  []string{podA},
			members: []string{"<id>.json", "<id>.tar", "<id>/VERSION", "<id>/json", "<id>/layer.tar", "manifest.json", "repositories"}},
		{name: "podman docker-archive -m", save: []string{"save", "-m"}, refs: []string{podA, podB},
			listed:  []string{podA, podB},
			members: []string{"<id>.json", "<id>.tar", "<id>/VERSION", "<id>/json", "<id>/layer.tar", "manifest.json", "repositories"}},
		{name: "podman oci-archive", save: []string{"save", "--format", "oci-archive"}, refs: []string{podA, ""},
			listed:  []string{podA},
			members: []string{"blobs/", "blobs/sha256/", "blobs/sha256/<id>", "index.json", "oci-layout"},
			oci:     &layout{refName: podA, layerType: "application/vnd.oci.image.layer.v1.tar+gzip", magic: []byte{0x1f, 0x8b}}},
		{name: "podman oci-dir", save: []string{"save", "--format", "oci-dir"}, refs: []string{"", podB},
			listed:  []string{podB},
			members: []string{"blobs/", "blobs/sha256/", "blobs/sha256/<id>", "index.json", "oci-layout"},
			oci:     &layout{refName: podB, layerType: "application/vnd.oci.image.layer.v1.tar+gzip", magic: []byte{0x1f, 0x8b}}},
		// ctr names the images in index.json twice: in full, and the tag
		// alone as the OCI ref name; manifest.json has the short name.
		{name: "ctr images export", refs: []string{ctrA, ctrB},
			listed:  []string{"test/rules:a", "test/rules:b"},
			members: []string{"blobs/", "blobs/sha256/", "blobs/sha256/<id>", "index.json", "manifest.json", "oci-layout"},
			oci:     &layout{refName: "a", layerType: "application/vnd.oci.image.layer.v1.tar"}},
	}
	p := newPodmanStore(t, podman, "vfs")
	p.podman("load", "-i", saved)
	paths := map[string]string{}
	for _, a := range archives {
		paths[a.name] = filepath.Join(dir, strings.ReplaceAll(a.name, " ", "_"))
		if a.save == nil {
			continue
		}
		args := slices.Concat(a.save, []string{"-o", paths[a.name]})
		for _, r := range a.refs {
			if r != "" {
				args = append(args, r)
			}
		}
		p.podman(args...)
	}
	e := startContainerd(t)
	e.ctr("default", "images", "import", saved)
	ctrTar := paths["ctr images export"]
	e.ctr("default", "images", "export", ctrTar, ctrA, ctrB)
	e.stop()

	trees := toolStoreTrees(t, store, imgs)
	for _, a := range archives {
		t.Run(a.name, func(t *testing.T) {
			root := paths[a.name]
			if got := archiveMembers(t, root); !slices.Equal(got, a.members) {
				t.Errorf("%s wrote\n  %s\nwant\n  %s", a.name, strings.Join(got, " "), strings.Join(a.members, " "))
			}
			if a.oci != nil {
				layoutDir := root
				if !isDir(root) {
					layoutDir = untar(t, root)
				}
				checkLayoutLayers(t, layoutDir, a.oci.refName, a.oci.layerType, a.oci.magic)
			}
			stdout, stderr, code := run(t, "--root", root, "images", "--format", "{{.Repository}}:{{.Tag}}")
			listed := strings.Fields(stdout)
			slices.Sort(listed)
			if code != 0 || stderr != "" || !slices.Equal(listed, a.listed) {
				t.Errorf("images: exit %d, stderr %q, listed %q; want %q", code, stderr, listed, a.listed)
			}
			for i, ref := range a.refs {
				if ref != "" {
					checkToolArchive(t, root, ref, a.name, store, imgs[i], trees[imgs[i]])
				}
			}
		})
	}
}

var hexRun = regexp.MustCompile(`[0-9a-f]{64}`)

// archiveMembers is the sorted set of the names of the tar at p, or of
// the files under the directory p (a directory's with a slash after
// it, as tar lists them), each run of 64 hex digits written <id>.
func archiveMembers(t *testing.T, p string) []string {
	t.Helper()
	var names []string
	if fi, err := os.Stat(p); err != nil {
		t.Fatal(err)
	} else if !fi.IsDir() {
		for n := range tarMembers(t, p) {
			names = append(names, n)
		}
	} else if err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil || q == p {
			return err
		}
		rel, _ := filepath.Rel(p, q)
		if d.IsDir() {
			rel += "/"
		}
		names = append(names, rel)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = hexRun.ReplaceAllString(n, "<id>")
	}
	slices.Sort(names)
	return slices.Compact(names)
}
