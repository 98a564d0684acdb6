package integration

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
)

// TestArchiveDiff diffs two images of a zstd oci-archive through the
// command: their views are read from the layers' tar streams (contents,
// xattrs, link targets), and the diff is DiffImages' own.
func TestArchiveDiff(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	d := st.NewDiffImages()
	b, err := (&st.Archive{Kind: st.OCIArchive, Compression: "zstd", Images: []*st.Image{d.Base, d.A, d.B}}).Write(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "--root", b.Path, "diff", "--json", "test/a:1", "test/b:1")
	if code != 0 || stderr != "" {
		t.Fatalf("diff --json: exit %d: %s", code, stderr)
	}
	if got := diffLines(t, stdout); !slices.Equal(got, st.DiffAB) {
		t.Errorf("diff test/a:1 test/b:1:\n got %q\nwant %q", got, st.DiffAB)
	}
}

// diffLines turns diff --json's output into "OP /path" lines, each path
// as its bytes are (path_base64 where it is not UTF-8).
func diffLines(t *testing.T, stdout string) []string {
	t.Helper()
	var js []struct {
		Op, Path   string
		PathBase64 string `json:"path_base64"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil {
		t.Fatalf("diff --json: %v: %s", err, stdout)
	}
	var got []string
	for _, j := range js {
		if j.PathBase64 != "" {
			raw, err := base64.StdEncoding.DecodeString(j.PathBase64)
			if err != nil {
				t.Fatal(err)
			}
			j.Path = string(raw)
		}
		got = append(got, j.Op+" "+j.Path)
	}
	return got
}
