package integration

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// archiveCase is an image archive of one kind, as storetest writes it,
// holding archiveImage; what verify says of its blobs is written out.
type archiveCase struct {
	name      string
	a         st.Archive
	transport string    // skopeo's for the archive
	comp      string    // the compression verify names
	sizes     [2]string // of the two blobs, base first, as verify says them
	// damage is the byte of the top layer's blob a test flips (from the
	// end where negative), and why what decompressing it says, where it
	// says anything.
	damage int
	why    string
}

func archiveCases() []archiveCase {
	return []archiveCase{
		{"docker save", st.Archive{Kind: st.DockerSave}, "docker-archive", "uncompressed", [2]string{"2.56kB", "3.07kB"}, 1100, ""},
		{"docker save 25", st.Archive{Kind: st.DockerSave25}, "docker-archive", "uncompressed", [2]string{"2.56kB", "3.07kB"}, 1100, ""},
		{"oci-archive", st.Archive{Kind: st.OCIArchive}, "oci-archive", "uncompressed", [2]string{"2.56kB", "3.07kB"}, 1100, ""},
		// A gzip header's MTIME: the stream decompresses as before.
		{"oci-archive gzip", st.Archive{Kind: st.OCIArchive, Compression: "gzip"}, "oci-archive", "gzip", [2]string{"136B", "168B"}, 4, ""},
		// A zstd frame's checksum: the stream does not decompress.
		{"oci-archive zstd", st.Archive{Kind: st.OCIArchive, Compression: "zstd"}, "oci-archive", "zstd", [2]string{"128B", "174B"}, -1,
			" (decompressing it: zstd frame at byte 0: CRC check failed: corrupt compressed data)"},
		{"oci layout gzip", st.Archive{Kind: st.OCILayout, Compression: "gzip"}, "oci", "gzip", [2]string{"136B", "168B"}, 4, ""},
	}
}

// archiveImage is the image of every archiveCase: a base layer and one
// that removes a file of it and adds another.
func archiveImage() *st.Image {
	return &st.Image{Names: []string{"test/app:1"}, Layers: []*st.Layer{
		l(st.F("etc/motd", "hello\n")),
		l(st.WH("etc/motd"), st.F("etc/app.conf", "debug = false\n")),
	}}
}

// archiveLayers are the layers of the image of an archive written by
// storetest, base first: chain id, diff id, blob digest and the member
// that holds the blob.
type archiveLayer struct{ chain, diffID, blob, member string }

func archiveLayersOf(t *testing.T, b *st.ArchiveBuilt, img *st.Image) []archiveLayer {
	t.Helper()
	var members []string
	if data := archiveMember(t, b.Path, "manifest.json"); data != nil {
		// A docker save: its layers are where manifest.json says.
		var items []struct{ Layers []string }
		if err := json.Unmarshal(data, &items); err != nil {
			t.Fatal(err)
		}
		members = items[0].Layers
	}
	var out []archiveLayer
	chain := ""
	for i, d := range b.DiffIDs[img] {
		if chain == "" {
			chain = d
		} else {
			sum := sha256.Sum256([]byte(chain + " " + d))
			chain = "sha256:" + hex.EncodeToString(sum[:])
		}
		member := imagetar.BlobPath(b.Blobs[img][i])
		if members != nil {
			member = members[i]
		}
		out = append(out, archiveLayer{chain: chain[7:], diffID: d, blob: b.Blobs[img][i], member: member})
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// archiveMember is the file name of an archive (a tar, or a layout
// directory), nil where it has none.
func archiveMember(t *testing.T, archive, name string) []byte {
	t.Helper()
	if isDir(archive) {
		data, err := os.ReadFile(filepath.Join(archive, name))
		if err != nil {
			return nil
		}
		return data
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		if hdr.Name == name && hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// editArchiveMember replaces the file name of an archive (a tar, or a
// layout directory) with what edit makes of it, and returns that.
func editArchiveMember(t *testing.T, archive, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	if isDir(archive) {
		p := filepath.Join(archive, name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data = edit(data)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return data
	}
	in, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(archive + ".new")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	var edited []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == name {
			data = edit(data)
			hdr.Size, edited = int64(len(data)), data
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if edited == nil {
		t.Fatalf("%s has no member %s", archive, name)
	}
	if err := os.Rename(archive+".new", archive); err != nil {
		t.Fatal(err)
	}
	return edited
}

// TestArchiveVerify verifies the image of an archive of every kind:
// each blob read whole against its digest and its stream against its
// diff id, with or without --verbose. A mount first caches each blob's
// index; verify reads the blobs all the same, so that a byte of the top
// layer's blob changed since is found, and named; so is a blob cut
// short (where the archive gives its size, when it is opened).
func TestArchiveVerify(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	for _, c := range archiveCases() {
		t.Run(c.name, func(t *testing.T) {
			img := archiveImage()
			c.a.Images = []*st.Image{img}
			b, err := c.a.Write(filepath.Join(t.TempDir(), "image"))
			if err != nil {
				t.Fatal(err)
			}
			ls := archiveLayersOf(t, b, img)
			base, top := ls[0], ls[1]
			// Each layer's tar: 2,560 bytes of the base, 3,072 of the top.
			line := func(l archiveLayer, stream, size string) string {
				return fmt.Sprintf("OK            layer %s: contents intact (%s, %s); blob %s intact (%s, %s)",
					l.chain[:12], l.diffID[:19], stream, l.member, c.comp, size)
			}
			baseLine := line(base, "2.56kB", c.sizes[0])
			want := line(top, "3.07kB", c.sizes[1]) + "\n" + baseLine + "\nOK            image test/app:1\n"
			for _, args := range [][]string{{"verify"}, {"verify", "--verbose"}, {"verify", "test/app:1"}} {
				stdout, stderr, code := run(t, append([]string{"--root", b.Path}, args...)...)
				if code != 0 || stdout != want || stderr != "" {
					t.Errorf("%q: exit %d, stderr %q, stdout\n%s\nwant\n%s", args, code, stderr, stdout, want)
				}
			}

			// A mount caches the blobs' indexes.
			umountNow(t, mountRef(t, b.Path, "test/app:1"))
			for _, l := range ls {
				if _, err := os.Stat(filepath.Join(cache, "aufsmount/archive", l.blob[7:]+".seekable")); err != nil {
					t.Fatalf("no cached index of %s: %v", l.blob, err)
				}
			}
			damaged := editArchiveMember(t, b.Path, top.member, func(data []byte) []byte {
				at := c.damage
				if at < 0 {
					at += len(data)
				}
				data[at] ^= 1
				return data
			})
			want = fmt.Sprintf("MODIFIED      layer %s: contents changed: blob %s: the blob's digest is %s, expected %s%s: digest mismatch\n",
				top.chain[:12], top.member, imagetar.Digest(damaged), top.blob, c.why) +
				baseLine + "\nMODIFIED      image test/app:1\n"
			stdout, stderr, code := run(t, "--root", b.Path, "verify")
			if code != 1 || stdout != want || stderr != "" {
				t.Errorf("a byte changed: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, stderr, stdout, want)
			}
			stdout, _, code = run(t, "--root", b.Path, "verify", "--json")
			var js struct {
				Layers []struct {
					Status, Contents string
					Archive          struct{ Member, Digest string }
				}
				Targets []struct{ Status string }
			}
			if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 1 {
				t.Fatalf("verify --json: exit %d, %v: %s", code, err, stdout)
			}
			if len(js.Layers) != 2 || js.Layers[0].Status != "MODIFIED" || js.Layers[0].Contents != "changed" ||
				js.Layers[0].Archive.Member != top.member || js.Layers[0].Archive.Digest != top.blob ||
				js.Layers[1].Status != "OK" || len(js.Targets) != 1 || js.Targets[0].Status != "MODIFIED" {
				t.Errorf("verify --json: %+v", js)
			}

			// Cut short: a docker save names no size, and the blob is
			// not its digest; an OCI descriptor's size is held against
			// it when the archive is opened.
			cut := editArchiveMember(t, b.Path, top.member, func(data []byte) []byte { return data[:len(data)/2] })
			stdout, stderr, code = run(t, "--root", b.Path, "verify")
			if c.a.Kind == st.DockerSave || c.a.Kind == st.DockerSave25 {
				want = fmt.Sprintf("MODIFIED      layer %s: contents changed: blob %s: the blob's digest is %s, expected %s: digest mismatch\n",
					top.chain[:12], top.member, imagetar.Digest(cut), top.blob) +
					baseLine + "\nMODIFIED      image test/app:1\n"
				if code != 1 || stdout != want || stderr != "" {
					t.Errorf("cut short: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, stderr, stdout, want)
				}
				return
			}
			where := "member " + top.member
			if c.a.Kind == st.OCILayout {
				where = filepath.Join(b.Path, top.member)
			}
			says := fmt.Sprintf("%s: it has %d bytes, its descriptor says %d", where, len(cut), len(damaged))
			if code != 1 || stdout != "" || !strings.Contains(stderr, says) {
				t.Errorf("cut short: exit %d, stdout %q, stderr %q, want it to say %q", code, stdout, stderr, says)
			}
		})
	}
}
