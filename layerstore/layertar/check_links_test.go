package layertar

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"

	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// TestCheckLinkAttrs unpacks a tar as Docker does, applying a hard link
// entry's mode to the inode it shares with its target: Check knows why
// the target's mode is not its header's, and says nothing of it; a mode
// changed since is still a finding.
func TestCheckLinkAttrs(t *testing.T) {
	when := time.Unix(1500000000, 0)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, h := range []*tar.Header{
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0755},
		{Name: "usr/hl1", Typeflag: tar.TypeReg, Mode: 0755, Size: 2},
		{Name: "usr/hl2", Typeflag: tar.TypeLink, Linkname: "usr/hl1", Mode: 0},
		{Name: "usr/other", Typeflag: tar.TypeReg, Mode: 0644, Size: 2},
	} {
		h.ModTime, h.Format = when, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("x\n"))
		}
	}
	tw.Close()
	var ts bytes.Buffer
	r, err := asm.NewInputTarStream(&tb, storage.NewJSONPacker(&ts), storage.NewDiscardFilePutter())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "usr"), 0755)
	for _, f := range []string{"usr/hl1", "usr/other"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0644); err != nil {
			t.Fatal(err)
		}
	}
	os.Link(filepath.Join(dir, "usr/hl1"), filepath.Join(dir, "usr/hl2"))
	os.Chmod(filepath.Join(dir, "usr/hl1"), 0)      // what the link's header says
	os.Chmod(filepath.Join(dir, "usr/other"), 0600) // a change
	for _, f := range []string{"usr/hl1", "usr/other", "usr"} {
		os.Chtimes(filepath.Join(dir, f), when, when)
	}
	l := Layer{Dir: dir, Encoding: whiteout.Aufs, OpenTarSplit: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(ts.Bytes())), nil
	}}
	found, err := Check(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].String() != "/usr/other: mode 0600, was 0644" {
		t.Errorf("Check: %v, want only usr/other's mode", found)
	}
}
