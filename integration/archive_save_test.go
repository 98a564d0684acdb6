package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// TestArchiveSave saves the image of an archive of every kind and holds
// what save wrote against what it read: the config byte for byte; each
// layer's blob as it was, compressed or not, under its digest; and the
// manifest the archive's index names, so that skopeo gives the same
// manifest digest for both (for a docker save, the manifest skopeo makes
// of manifest.json and the blobs). skopeo copies the saved image into an
// OCI layout, which umoci unpacks into the model's tree; the saved
// archive mounted is the model's view, and verifies.
func TestArchiveSave(t *testing.T) {
	testenv.FUSE(t)
	skopeo := testenv.Tool(t, "skopeo")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	img := archiveImage()
	store := archiveModel(t, img)
	for _, c := range archiveCases() {
		t.Run(c.name, func(t *testing.T) {
			c.a.Images = []*st.Image{img}
			b, err := c.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			file, stderr := saveTo(t, b.Path, "test/app:1")
			ls := archiveLayersOf(t, b, img)
			want := ""
			for _, l := range ls {
				if c.comp == "zstd" {
					want += "aufsmount: note: layer " + l.chain[:12] + " (" + b.Path + ":" + l.member + ") is kept zstd-compressed, as the archive has it: docker load before Docker 23 cannot read it\n"
				}
			}
			if stderr != want {
				t.Errorf("save said\n%s\nwant\n%s", stderr, want)
			}
			saved := readSaved(t, file)
			id := b.ImageID[img]
			config := "blobs/sha256/" + id
			if c.a.Kind == st.DockerSave {
				config = id + ".json"
			}
			if e := saved.entries["blobs/sha256/"+id]; e == nil || !bytes.Equal(e.data, archiveMember(t, b.Path, config)) {
				t.Errorf("the saved config is not the archive's %s", config)
			}
			var blobs []string
			for _, l := range ls {
				blobs = append(blobs, imagetar.BlobPath(l.blob))
				if e := saved.resolve(imagetar.BlobPath(l.blob)); e == nil || !bytes.Equal(e.data, archiveMember(t, b.Path, l.member)) {
					t.Errorf("the saved blob %s is not the archive's %s", l.blob, l.member)
				}
			}
			if it := saved.manifest; len(it) != 1 || it[0].Config != "blobs/sha256/"+id || !slices.Equal(it[0].RepoTags, []string{"test/app:1"}) || !slices.Equal(it[0].Layers, blobs) {
				t.Errorf("manifest.json: %+v, want config %s, layers %q", it, id, blobs)
			}
			out := "docker-archive:" + file
			if c.transport != "docker-archive" {
				out = "oci-archive:" + file
			}
			in, got := skopeoRaw(t, skopeo, c.transport+":"+b.Path), skopeoRaw(t, skopeo, out)
			if imagetar.Digest(in) != imagetar.Digest(got) {
				t.Errorf("skopeo inspect --raw: %s of the saved archive, %s of the archive read:\n%s\n%s", imagetar.Digest(got), imagetar.Digest(in), got, in)
			}

			// The saved image, as docker load and skopeo's docker-archive
			// read it; and as skopeo's OCI transport does.
			checkUnpackedModel(t, file, "test/app:1", reversed(img.Layers))
			if c.transport != "docker-archive" {
				dir := filepath.Join(t.TempDir(), "oci")
				args := []string{"copy", "--quiet"}
				if c.comp == "zstd" {
					// umoci reads no zstd layers: skopeo, having checked
					// them, writes them with gzip.
					args = append(args, "--dest-compress", "--dest-compress-format", "gzip")
				}
				args = append(args, out, "oci:"+dir+":img")
				if o, err := exec.Command(skopeo, args...).CombinedOutput(); err != nil {
					t.Fatalf("skopeo copy %s: %v\n%s", out, err, o)
				}
				want := st.Merge(reversed(img.Layers))
				if err := st.Compare(fixRoot(t, umociUnpack(t, dir, "img"), want), want, st.CompareOptions{SkipLinks: true}); err != nil {
					t.Errorf("%s: %v", out, err)
				}
			}
			if err := st.Compare(mountRef(t, file, "test/app:1"), store.View(img), archiveCompare); err != nil {
				t.Errorf("the saved archive mounted: %v", err)
			}
			if stdout, stderr, code := run(t, "--root", file, "verify"); code != 0 || strings.Count(stdout, "OK ") != 3 {
				t.Errorf("verify of the saved archive: exit %d: %s%s", code, stdout, stderr)
			}
		})
	}
}

// TestArchiveSaveDamaged: a blob that is not its digest stops a save of
// its image, naming the layer and its blob, and leaves no archive.
func TestArchiveSaveDamaged(t *testing.T) {
	img := archiveImage()
	b, err := (&st.Archive{Kind: st.OCIArchive, Compression: "gzip", Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	top := archiveLayersOf(t, b, img)[1]
	damaged := editArchiveMember(t, b.Path, top.member, func(data []byte) []byte {
		data[4] ^= 1 // the gzip header's MTIME
		return data
	})
	out := filepath.Join(t.TempDir(), "saved.tar")
	stdout, stderr, code := run(t, "--root", b.Path, "save", "-o", out, "test/app:1")
	want := "aufsmount: layer " + top.chain[:12] + " (" + b.Path + ":" + top.member + "): the blob's digest is " + imagetar.Digest(damaged) +
		", expected " + top.blob + ": digest mismatch\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr\n%s\nwant\n%s", code, stdout, stderr, want)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("%s was left behind (%v)", out, err)
	}
}

// skopeoRaw is skopeo inspect --raw of ref: its manifest, byte for byte.
func skopeoRaw(t *testing.T, skopeo, ref string) []byte {
	t.Helper()
	out, err := exec.Command(skopeo, "inspect", "--raw", ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v", ref, err)
	}
	return out
}

// TestArchiveSaveDockerLoad has a private Docker 20.10 load what save
// wrote of the image of an archive of every kind: docker load checks
// each layer's stream against its diff id as it unpacks it, compressed
// or not, and the image has the id the archive gives it. docker save of
// the loaded image, mounted, is the model's view.
func TestArchiveSaveDockerLoad(t *testing.T) {
	testenv.FUSE(t)
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	img := archiveImage()
	store := archiveModel(t, img)
	e := startEngine(t, dockerd, docker, "overlay2")
	for _, c := range archiveCases() {
		if c.comp == "zstd" {
			continue // Docker 20.10's docker load reads no zstd layer (save says so)
		}
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			c.a.Images = []*st.Image{img}
			b, err := c.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			file, _ := saveTo(t, b.Path, "test/app:1")
			e.docker("load", "-i", file)
			if got := strings.TrimSpace(e.docker("image", "inspect", "--format", "{{.Id}}", "test/app:1")); got != "sha256:"+b.ImageID[img] {
				t.Errorf("docker load: id %s, want sha256:%s", got, b.ImageID[img])
			}
			back := filepath.Join(t.TempDir(), "back.tar")
			e.dockerTo(back, "save", "test/app:1")
			if err := st.Compare(mountRef(t, back, "test/app:1"), store.View(img), archiveCompare); err != nil {
				t.Errorf("docker save of the loaded image: %v", err)
			}
			e.docker("rmi", "test/app:1")
		})
	}
	e.t = t
	e.stop()
}

// archiveModel is a store holding img, whose view is the model of the
// view of img from an archive.
func archiveModel(t *testing.T, img *st.Image) *st.Built {
	t.Helper()
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	return store
}
