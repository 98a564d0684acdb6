package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestContainerdFromBlobs mounts every rule case as an image of a
// containerd root whose snapshots are gone (imported without unpacking),
// its layers served from their blobs in the content store (plain, gzip,
// zstd), and compares the whole tree with the model (but for trusted.*
// attributes, which containerd never applies); layers, which, diff,
// verify and save read such an image as an archive's, and an image one
// of whose blobs is gone too fails, naming the digest.
func TestContainerdFromBlobs(t *testing.T) {
	testenv.FUSE(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	compressions := []string{"", "gzip", "zstd"}
	ns := &st.CDNamespace{Name: "default"}
	var imgs []*st.CDImage
	for i, tc := range ruleCases() {
		img := &st.CDImage{Names: []string{fmt.Sprintf("docker.io/test/blob:%d", i)}, Layers: tc.layers, NoUnpack: true, Compression: compressions[i%3]}
		imgs = append(imgs, img)
		ns.Images = append(ns.Images, img)
	}
	// The base of rule 0 unpacked, to diff against: test/blob:0's base
	// snapshot is there, its top not, so it is served from its blobs
	// whole. And an image whose blob goes below.
	unpacked := &st.CDImage{Names: []string{"docker.io/test/unpacked:0"}, Layers: imgs[0].Layers[:1]}
	gone := &st.CDImage{Names: []string{"docker.io/test/gone:1"}, Layers: []*st.Layer{st.NewLayer("gone", st.F("g", "g"))}, NoUnpack: true}
	ns.Images = append(ns.Images, unpacked, gone)
	b, err := (&st.Containerd{Namespaces: []*st.CDNamespace{ns}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	content := filepath.Join(b.Root, "io.containerd.content.v1.content")
	goneBlob := b.Blobs[gone][0]
	if err := os.Remove(filepath.Join(content, "blobs", "sha256", goneBlob[len("sha256:"):])); err != nil {
		t.Fatal(err)
	}

	for i, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			mnt := mountRef(t, b.Root, fmt.Sprintf("test/blob:%d", i))
			if err := st.Compare(mnt, withoutTrusted(b.View(imgs[i])), archiveCompare); err != nil {
				t.Error(err)
			}
			// Each blob's indexes are cached by its digest, as an archive's.
			for _, d := range b.Blobs[imgs[i]] {
				if _, err := os.Stat(filepath.Join(cache, "aufsmount/archive", d[len("sha256:"):]+".tar")); err != nil {
					t.Errorf("blob %s: %v", d, err)
				}
			}
		})
	}

	_, stderr, code := run(t, "--root", b.Root, "images")
	if want := "not unpacked (no overlayfs snapshot holds its top layer: imported without unpacking, or its snapshots removed): served from its layer blobs\n"; code != 0 || strings.Count(stderr, want) != len(imgs) {
		t.Errorf("images: exit %d, notes:\n%s", code, stderr)
	}
	if want := "and its layer blob " + goneBlob + " is gone too: it cannot be mounted\n"; !strings.Contains(stderr, want) {
		t.Errorf("images: the note of test/gone:1 is not %q:\n%s", want, stderr)
	}
	_, stderr, code = run(t, "--root", b.Root, "mount", "test/gone:1", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "its layer blob "+goneBlob+" is gone too") {
		t.Errorf("mount test/gone:1: exit %d: %s", code, stderr)
	}

	// layers: each layer is its blob in the content store, top first.
	type layerRow struct {
		ID      string `json:"id"`
		Dir     string `json:"dir"`
		Archive struct {
			Archive, Member, Digest string
		} `json:"archive"`
	}
	layersOf := func(ref string, img *st.CDImage) []layerRow {
		stdout, stderr, code := run(t, "--root", b.Root, "layers", "--json", ref)
		var layers []layerRow
		if code != 0 || json.Unmarshal([]byte(stdout), &layers) != nil || len(layers) != len(img.Layers) {
			t.Fatalf("layers --json %s: exit %d: %s%s", ref, code, stdout, stderr)
		}
		for i, l := range layers {
			blob := b.Blobs[img][len(layers)-1-i]
			if l.Dir != "" || l.Archive.Archive != content || l.Archive.Member != "blobs/sha256/"+blob[len("sha256:"):] || l.Archive.Digest != blob {
				t.Errorf("%s: layer %d: %+v; want blob %s of %s", ref, i, l, blob, content)
			}
		}
		return layers
	}
	layers1 := layersOf("test/blob:1", imgs[1])
	layers := layersOf("test/blob:0", imgs[0])

	// which: /etc/group is the base layer's, /etc/passwd whited out by
	// the top one.
	for _, c := range []struct {
		path, id, status, reason, by string
		code                         int
	}{
		{"/etc/group", layers[1].ID, "provides", "", "", 0},
		{"/etc/passwd", layers[1].ID, "hidden", "whited out", layers[0].ID, 1},
	} {
		stdout, stderr, code := run(t, "--root", b.Root, "which", "--json", "--no-trunc", "test/blob:0", c.path)
		var ps []struct{ ID, Status, Reason, By string }
		if code != c.code || json.Unmarshal([]byte(stdout), &ps) != nil || len(ps) != 1 || ps[0].ID != c.id || ps[0].Status != c.status || ps[0].Reason != c.reason || ps[0].By != c.by {
			t.Errorf("which %s: exit %d: %s%s; want layer %s, %s %s %s", c.path, code, stdout, stderr, c.id, c.status, c.reason, c.by)
		}
	}

	// verify reads each blob whole, against its digest and its diff id;
	// save copies the blobs as they are, with the image's own manifest.
	stdout, stderr, code := run(t, "--root", b.Root, "verify", "test/blob:1")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != len(layers1)+1 || lines[len(layers1)] != "OK            image test/blob:1" {
		t.Errorf("verify: exit %d:\n%s%s", code, stdout, stderr)
	} else {
		for i, l := range layers1 {
			blob := b.Blobs[imgs[1]][len(layers1)-1-i]
			if !strings.HasPrefix(lines[i], "OK            layer "+l.ID[:12]+": contents intact (") || !strings.Contains(lines[i], "; blob blobs/sha256/"+blob[len("sha256:"):]+" intact (gzip, ") {
				t.Errorf("verify: layer %d: %s", i, lines[i])
			}
		}
	}
	out := filepath.Join(t.TempDir(), "saved.tar")
	if _, stderr, code := run(t, "--root", b.Root, "save", "-o", out, "test/blob:1"); code != 0 {
		t.Errorf("save: exit %d: %s", code, stderr)
	}
	list, err := exec.Command("tar", "-tf", out).Output()
	for _, d := range append([]string{b.Targets[imgs[1]]}, b.Blobs[imgs[1]]...) {
		if err != nil || !strings.Contains(string(list), "blobs/sha256/"+d[len("sha256:"):]+"\n") {
			t.Errorf("the saved archive lacks blob %s (%v):\n%s", d, err, list)
		}
	}

	// diff: from the base unpacked (a snapshot) to the image from its
	// blobs (the base's blob, and the top's whiteout), every path
	// compared: no layer is shared.
	stdout, stderr, code = run(t, "--root", b.Root, "diff", "--json", "test/unpacked:0", "test/blob:0")
	if code != 0 || stderr != "" {
		t.Fatalf("diff --json: exit %d: %s", code, stderr)
	}
	if got := diffLines(t, stdout); !slices.Equal(got, []string{"D /etc/passwd"}) {
		t.Errorf("diff test/unpacked:0 test/blob:0: %q, want [D /etc/passwd]", got)
	}
}

// withoutTrusted is the view without trusted.* attributes, which
// containerd never applies from a layer's tar: the fixture's snapshots
// keep them, a view from the blobs does not.
func withoutTrusted(nodes []st.Node) []st.Node {
	out := make([]st.Node, len(nodes))
	for i, n := range nodes {
		if len(n.Entry.Xattrs) > 0 {
			x := map[string]string{}
			for k, v := range n.Entry.Xattrs {
				if !strings.HasPrefix(k, "trusted.") {
					x[k] = v
				}
			}
			n.Entry.Xattrs = x
		}
		out[i] = n
	}
	return out
}
