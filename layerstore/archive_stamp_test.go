package layerstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// An index cached by a blob's digest serves that blob only in a file it
// was checked in: a copy of the archive, intact, is read again once and
// then served from the cache; a copy whose blob was damaged (same size,
// same claimed digest) is refused at opening, naming the digest, though
// the cache holds an index under that digest.
func TestArchiveIndexOnlyWhereChecked(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("AUFSMOUNT_NO_CACHE", "")
	busybox, _ := arcImages()
	b, err := (&storetest.Archive{Kind: storetest.OCIArchive, Compression: "gzip", Images: []*storetest.Image{busybox}}).Write(filepath.Join(t.TempDir(), "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	top := func(path string) *layerstore.ArchiveBlob {
		t.Helper()
		s, err := layerstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := s.Resolve("busybox:latest")
		if err != nil {
			t.Fatal(err)
		}
		return tg.Layers[len(tg.Layers)-1].Archive
	}
	open := func(path string) error {
		t.Helper()
		blob := top(path)
		s, err := layerstore.OpenArchiveLayer(blob, "")
		if err == nil {
			s.Close()
		}
		return err
	}
	blob := top(b.Path)
	seen := filepath.Join(cache, "aufsmount", "archive", strings.TrimPrefix(blob.Digest, "sha256:")+".seen")
	stamps := func() int {
		data, _ := os.ReadFile(seen)
		return strings.Count(string(data), "\n")
	}
	if err := open(b.Path); err != nil {
		t.Fatal(err)
	}
	if n := stamps(); n != 1 {
		t.Fatalf("after the first opening: %d files in %s, want 1", n, seen)
	}
	if err := open(b.Path); err != nil || stamps() != 1 {
		t.Fatalf("reopened: %v, %d files", err, stamps())
	}
	data, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	intact := filepath.Join(t.TempDir(), "copy.tar")
	if err := os.WriteFile(intact, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := open(intact); err != nil || stamps() != 2 {
		t.Fatalf("an intact copy: %v, %d files, want 2", err, stamps())
	}
	// The last byte of the blob's gzip trailer (its length) flipped.
	bad := append([]byte(nil), data...)
	bad[blob.Offset+blob.Size-1] ^= 0xff
	damaged := filepath.Join(t.TempDir(), "damaged.tar")
	if err := os.WriteFile(damaged, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	err = open(damaged)
	if !errors.Is(err, seekable.ErrDigest) || !strings.Contains(err.Error(), "expected "+blob.Digest) {
		t.Fatalf("a damaged copy: %v, want the digest mismatch of %s", err, blob.Digest)
	}
	if stamps() != 2 {
		t.Fatalf("a damaged copy was recorded as checked: %d files", stamps())
	}
}

// An archive or layout named through a symlink opens as itself: the
// user's path is theirs to link, as a Docker root's is.
func TestArchiveThroughSymlink(t *testing.T) {
	t.Setenv("AUFSMOUNT_NO_CACHE", "1")
	busybox, _ := arcImages()
	for _, a := range []storetest.Archive{
		{Kind: storetest.OCIArchive, Compression: "gzip"},
		{Kind: storetest.OCILayout},
	} {
		a.Images = []*storetest.Image{busybox}
		b, err := a.Write(filepath.Join(t.TempDir(), "image"))
		if err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(b.Path, link); err != nil {
			t.Fatal(err)
		}
		s, err := layerstore.Open(link)
		if err != nil {
			t.Fatalf("opening %s through a symlink: %v", b.Path, err)
		}
		if _, err := s.Resolve("busybox:latest"); err != nil {
			t.Errorf("%s: %v", b.Path, err)
		}
		if a.Kind != storetest.OCIArchive {
			continue
		}
		ref := "oci-archive:" + link
		s2, err := layerstore.OpenWith(filepath.Join(t.TempDir(), "none"), layerstore.Options{Refs: []string{ref}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err = s2.Resolve(ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
}
