package main

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// diffStore is storetest's DiffImages, written in one layout.
type diffStore struct {
	*st.Built
	*st.DiffImages
}

func writeDiffStore(t testing.TB, layout layerstore.Layout, aufsLinks bool) *diffStore {
	t.Helper()
	d := st.NewDiffImages()
	b, err := d.Store(aufsLinks).Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	return &diffStore{Built: b, DiffImages: d}
}

func TestDiffCommand(t *testing.T) {
	for _, layout := range layouts {
		s := writeDiffStore(t, layout, false)
		env := []string{"AUFSMOUNT_ROOT=" + s.Root}
		out := mustSucceed(t, env, "diff", "test/a:1", "test/b:1")
		// st.DiffAB as printed: sorted by path, odd bytes and line breaks escaped.
		want := []string{
			"A /bin/ls", "C /bin/tool", "C /bin/tool2", "C /data", "A /data/new", "A /etc/hosts", "C /lib",
			`A /odd/bad\377`, `C /odd/new\nline`, "D /only-in-a",
			"D /opt/app", "D /opt/app/bin", "D /opt/app/bin/run", "D /opt/app/lib", "D /opt/app/lib/a",
			"A /tmp", "C /usr/share/doc", "D /usr/share/doc/x",
			"C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c",
			"C /x/content", "C /x/dev", "C /x/link", "C /x/mode", "C /x/owner", "C /x/xattr",
		}
		if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, want) {
			t.Errorf("%v: diff printed\n%s\nwant\n%s", layout, out, strings.Join(want, "\n"))
		}

		var js []struct {
			Op, Path   string
			PathBase64 string `json:"path_base64"`
		}
		if err := json.Unmarshal([]byte(mustSucceed(t, env, "diff", "--json", "test/a:1", "test/b:1")), &js); err != nil {
			t.Fatalf("diff --json: %v", err)
		}
		var got []string
		for _, j := range js {
			p := j.Path
			if j.PathBase64 != "" {
				raw, err := base64.StdEncoding.DecodeString(j.PathBase64)
				if err != nil {
					t.Fatal(err)
				}
				p = string(raw)
			} else if !strings.Contains(p, "\n") && p == "/odd/new\nline" {
				t.Errorf("path %q lost its newline", p)
			}
			got = append(got, j.Op+" "+p)
		}
		want = st.DiffAB
		if !slices.Equal(got, want) {
			t.Errorf("%v: diff --json gave %q\nwant %q", layout, got, want)
		}

		if out := mustSucceed(t, env, "diff", "test/b:1", "test/b:1"); out != "" {
			t.Errorf("an image against itself: %q", out)
		}
		if out := mustSucceed(t, env, "diff", "--json", "test/b:1", "test/b:1"); strings.TrimSpace(out) != "[]" {
			t.Errorf("an image against itself, json: %q", out)
		}
		out = mustSucceed(t, env, "diff", "test/b:1", "ctr")
		for _, w := range []string{"A /.dockerenv\n", "D /etc/group\n", "A /tmp/new\n", "C /x/dev\n"} {
			if !strings.Contains(out, w) {
				t.Errorf("%v: diff of an image and its container does not say %q:\n%s", layout, w, out)
			}
		}
	}
	s := writeSample(t, layerstore.LayoutCAS)
	env := []string{"AUFSMOUNT_ROOT=" + s.Root}
	if out := mustSucceed(t, env, "diff", "busybox", "user/app:v1"); out != "D /bin/sh\nA /etc/motd\n" {
		t.Errorf("diff busybox user/app:v1 = %q", out)
	}
	r := aufsmount(t, env, "diff", "busybox", "nosuch")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch: not found") || r.stdout != "" {
		t.Errorf("diff with an unknown image: %+v", r)
	}
	for _, args := range [][]string{{"diff"}, {"diff", "busybox"}, {"diff", "a", "b", "c"}, {"diff", "--bogus", "a", "b"}} {
		if r := aufsmount(t, env, args...); r.code != 2 {
			t.Errorf("aufsmount %q: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}
