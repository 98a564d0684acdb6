package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestWhichCommand(t *testing.T) {
	for _, layout := range layouts {
		s := writeDiffStore(t, layout, layout == layouts[0])
		env := []string{"AUFSMOUNT_ROOT=" + s.Root}
		// Layer ids of test/b:1, base first: base, b1, b2.
		var id, dir [3]string
		index := map[string]int{}
		for i := range id {
			dir[i] = s.LayerDir(s.B, i)
			id[i] = filepath.Base(dir[i])
			index[id[i]] = i
		}
		tests := []struct {
			path string
			want string // "id:status:reason:by:at" items, top first
			code int
		}{
			{"/var/cache/c", "1:provides", 0},
			{"var/cache", "1:provides; 0:hidden:under opaque directory:1:/var/cache", 0},
			{"/var/cache/a", "0:hidden:under opaque directory:1:/var/cache", 1},
			{"/bin/busybox", "1:provides; 0:hidden:shadowed:1:/bin/busybox", 0},
			{"/bin/sh", "0:provides", 0},
			{"/x", "1:provides; 0:merged", 0},
			{"/", "2:provides; 1:merged; 0:merged", 0},
			{"/tmp/t1", "1:hidden:whited out:2:/tmp/t1", 1},
			{"/opt/app/bin/run", "0:hidden:whited out:1:/opt/app", 1},
			{"/data/new", "1:provides", 0},
			{"/data", "1:provides; 0:hidden:shadowed:1:/data", 0},
			{"/usr/share/doc/x", "0:hidden:shadowed:1:/usr/share/doc", 1},
			{"/odd/new\nline", "1:provides; 0:hidden:shadowed:1:/odd/new\nline", 0},
		}
		for _, tt := range tests {
			r := aufsmount(t, env, "which", "--json", "test/b:1", tt.path)
			if r.code != tt.code {
				t.Errorf("%v: which %q: exit %d, want %d; stderr %q", layout, tt.path, r.code, tt.code, r.stderr)
			}
			var ps []providerJSON
			if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
				t.Errorf("%v: which --json %q: %v in %q", layout, tt.path, err, r.stdout)
				continue
			}
			var got []string
			for _, p := range ps {
				n, ok := index[p.ID]
				if !ok || p.Dir != dir[n] {
					t.Errorf("%v: which %q: layer %s in %s is not one of the image's", layout, tt.path, p.ID, p.Dir)
				}
				s := fmt.Sprintf("%d:%s", n, p.Status)
				if p.Status == "hidden" {
					by, ok := index[p.By]
					if !ok {
						t.Errorf("%v: which %q: hidden by %q, not one of the image's layers", layout, tt.path, p.By)
					}
					s += fmt.Sprintf(":%s:%d:%s", p.Reason, by, p.At)
				}
				got = append(got, s)
			}
			if strings.Join(got, "; ") != tt.want {
				t.Errorf("%v: which %q = %q, want %q", layout, tt.path, strings.Join(got, "; "), tt.want)
			}
			if tt.code == 1 && !strings.Contains(r.stderr, "not in the view") {
				t.Errorf("%v: which %q: stderr %q", layout, tt.path, r.stderr)
			}
		}

		// DIR is cut as .../aufs/diff/<12 hex>... unless --no-trunc.
		out := mustSucceed(t, env, "which", "test/b:1", "/bin/busybox")
		want := fmt.Sprintf("LAYER ID +DIR +STATUS\n%s +.../aufs/diff/%s... +provides\n%s +.../aufs/diff/%s... +hidden: shadowed at /bin/busybox by %s\n",
			id[1][:12], id[1][:12], id[0][:12], id[0][:12], id[1][:12])
		if !matchLines(out, want) {
			t.Errorf("%v: which printed\n%s\nwant\n%s", layout, out, want)
		}
		out = mustSucceed(t, env, "which", "--no-trunc", "test/b:1", "/bin/busybox")
		want = fmt.Sprintf("LAYER ID +DIR +STATUS\n%s +%s +provides\n%s +%s +hidden: shadowed at /bin/busybox by %s\n",
			id[1], dir[1], id[0], dir[0], id[1])
		if !matchLines(out, want) {
			t.Errorf("%v: which --no-trunc printed\n%s\nwant\n%s", layout, out, want)
		}
		r := aufsmount(t, env, "which", "--no-trunc", "test/a:1", "/odd/bad\xff")
		if r.code != 1 || !strings.Contains(r.stdout, " whited out by ") || !strings.Contains(r.stdout, "/odd/bad\\377") ||
			!strings.Contains(r.stderr, `/odd/bad\377: not in the view (hidden in 1 layer)`) {
			t.Errorf("%v: which of a whited-out odd name: %+v", layout, r)
		}
		r = aufsmount(t, env, "which", "test/b:1", "/nothing/here")
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "test/b:1: /nothing/here: no layer has it") {
			t.Errorf("%v: which of a missing path: %+v", layout, r)
		}
		r = aufsmount(t, env, "which", "test/b:1", ".wh.etc")
		if r.code != 1 || r.stdout != "" {
			t.Errorf("%v: which of a whiteout name: %+v", layout, r)
		}
		mustFail(t, 1, []string{"nosuch: not found"}, "--root", s.Root, "which", "nosuch", "/x")
	}
	for _, args := range [][]string{{"which"}, {"which", "busybox"}, {"which", "a", "b", "c"}, {"which", "--bogus", "a", "b"}} {
		if r := aufsmount(t, nil, args...); r.code != 2 {
			t.Errorf("aufsmount %q: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

// matchLines compares a table with want, where " +" stands for a run of
// spaces.
func matchLines(got, want string) bool {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		return false
	}
	for i := range gl {
		if strings.Join(strings.Fields(gl[i]), " ") != strings.ReplaceAll(wl[i], " +", " ") {
			return false
		}
	}
	return true
}
