package integration

import (
	"path/filepath"
	"testing"
)

// TestTransportVerifySave: verify checks the blobs of an image a
// transport reference names, and save writes it with the tag it was
// named by.
func TestTransportVerifySave(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := newTransportFixture(t)
	stdout, stderr, code := run(t, "--root", f.store.Root, "verify", "docker-archive:"+f.ab25.Path+":@0")
	want := "OK|layer 244d428b857e: contents intact (sha256:70c54398caef, 7.17kB); blob blobs/sha256/70c54398caef0fca6c2382ab91d7304130c4898fb231e4e1766179366456bf46 intact (uncompressed, 7.17kB)\n" +
		"OK|layer ecea389318a3: contents intact (sha256:ecea389318a3, 36.9kB); blob blobs/sha256/ecea389318a3be20f59e80d8a1bf06f5ef1d546ab6cac571c19919abf3bf45d3 intact (uncompressed, 36.9kB)\n" +
		"OK|image test/a:1\n"
	if code != 0 || stderr != "" || columns(stdout) != want {
		t.Errorf("verify: exit %d, stderr %q, stdout:\n got %q\nwant %q", code, stderr, columns(stdout), want)
	}
	out := filepath.Join(t.TempDir(), "saved.tar")
	if _, stderr, code := run(t, "--root", filepath.Join(f.dir, "no-docker"), "save", "-o", out, "docker-archive:"+f.ab25.Path+":test/b:1"); code != 0 || stderr != "" {
		t.Fatalf("save: exit %d: %s", code, stderr)
	}
	if stdout, stderr, code := run(t, "--root", out, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"); code != 0 || stdout != "test/b:1 f4c878ff6b42\n" {
		t.Errorf("images of the saved archive: exit %d, %q, %s", code, stdout, stderr)
	}
}
