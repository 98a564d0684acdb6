package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// TestArchiveSparse mounts images whose top layer GNU tar wrote with
// --sparse, in each of its formats, from a gzip oci-archive and from a
// containerd root's zstd blobs (the image not unpacked): each sparse
// file reads as the file tar was given, holes as zeros, with its size,
// taking only its data's blocks; the plain file after them and a hard
// link to one read right too.
func TestArchiveSparse(t *testing.T) {
	testenv.FUSE(t)
	testenv.Tool(t, "tar")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	base := st.NewLayer("base", st.F("etc/os-release", "ID=test\n"))
	var imgs []*st.Image
	ns := &st.CDNamespace{Name: "default"}
	for i, f := range st.SparseFormats {
		data, err := st.GNUSparseTar(t.TempDir(), st.SparseSpecs, f.Args...)
		if err != nil {
			t.Fatal(err)
		}
		top := &st.Layer{CreatedBy: "tar --sparse " + f.Name, Tar: data}
		imgs = append(imgs, &st.Image{Names: []string{fmt.Sprintf("test/sparse:%d", i)}, Layers: []*st.Layer{base, top}})
		ns.Images = append(ns.Images, &st.CDImage{Names: []string{fmt.Sprintf("docker.io/test/sparse:%d", i)}, Layers: []*st.Layer{base, top}, NoUnpack: true, Compression: "zstd"})
	}
	arc, err := (&st.Archive{Kind: st.OCIArchive, Compression: "gzip", Images: imgs}).Write(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := (&st.Containerd{Namespaces: []*st.CDNamespace{ns}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"plain": []byte("not sparse\n"), "link": st.SparseSpecs[0].Content(), "etc/os-release": []byte("ID=test\n")}
	for _, sf := range st.SparseSpecs {
		want[sf.Name] = sf.Content()
	}
	for i, f := range st.SparseFormats {
		for _, root := range []struct{ name, path string }{{"oci-archive", arc.Path}, {"containerd blobs", cd.Root}} {
			t.Run(f.Name+"/"+root.name, func(t *testing.T) {
				mnt := mountRef(t, root.path, fmt.Sprintf("test/sparse:%d", i))
				for name, content := range want {
					got, err := os.ReadFile(filepath.Join(mnt, name))
					if err != nil || !bytes.Equal(got, content) {
						t.Errorf("%s: %d bytes (%v), not the %d tar was given", name, len(got), err, len(content))
					}
				}
				var holes, link unix.Stat_t
				if err := unix.Stat(filepath.Join(mnt, "holes"), &holes); err != nil {
					t.Fatal(err)
				}
				if err := unix.Stat(filepath.Join(mnt, "link"), &link); err != nil {
					t.Fatal(err)
				}
				// 3 MiB, of which about 80 KB of data in GNU tar's blocks.
				if holes.Size != 3<<20 || holes.Blocks*512 > 100<<10 || holes.Blocks == 0 {
					t.Errorf("holes: size %d, %d blocks", holes.Size, holes.Blocks)
				}
				if link.Ino != holes.Ino || holes.Nlink != 2 {
					t.Errorf("link: inode %d, holes' %d, %d links", link.Ino, holes.Ino, holes.Nlink)
				}
			})
		}
	}
}

// TestArchiveSparseMember mounts the image of an oci-archive that GNU
// tar wrote with --sparse from an OCI layout, in each of its formats:
// the uncompressed layer blob, mostly zeros, is a sparse member of the
// archive's tar, read from its fragments; the view is the model's, and
// verify finds the blob its digest.
func TestArchiveSparseMember(t *testing.T) {
	testenv.FUSE(t)
	testenv.Tool(t, "tar")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	img := &st.Image{Names: []string{"test/zeros:1"}, Layers: []*st.Layer{
		st.NewLayer("zeros", st.F("etc/motd", "hi\n"), st.SparseFile("var/zeros", "start", 4<<20))}}
	store, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "store"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := (&st.Archive{Kind: st.OCILayout, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	// The layer blob, 4 MiB of zeros, made sparse on disk: GNU tar
	// writes a file sparse only where it takes fewer blocks than its size.
	for _, d := range layout.Blobs[img] {
		p := filepath.Join(layout.Path, "blobs", "sha256", d[len("sha256:"):])
		if out, err := exec.Command("sh", "-c", `cp --sparse=always "$1" "$1.sparse" && mv "$1.sparse" "$1"`, "sh", p).CombinedOutput(); err != nil {
			t.Fatalf("making %s sparse: %v: %s", p, err, out)
		}
	}
	for _, f := range st.SparseFormats {
		t.Run(f.Name, func(t *testing.T) {
			arc := filepath.Join(t.TempDir(), "image.tar")
			args := append([]string{"--sparse", "-C", layout.Path, "-cf", arc}, f.Args...)
			if out, err := exec.Command("tar", append(args, ".")...).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			if !hasSparseMember(t, arc) {
				t.Fatal("GNU tar wrote no sparse member")
			}
			mnt := mountRef(t, arc, "test/zeros:1")
			if err := st.Compare(mnt, store.View(img), archiveCompare); err != nil {
				t.Error(err)
			}
			if stdout, stderr, code := run(t, "--root", arc, "verify"); code != 0 || !strings.HasSuffix(stdout, "OK            image test/zeros:1\n") {
				t.Errorf("verify: exit %d:\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// hasSparseMember says whether the tar at p has a sparse member.
func hasSparseMember(t *testing.T, p string) bool {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if layertar.IsSparse(h) {
			return true
		}
	}
}
