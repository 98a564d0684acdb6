package kernelview

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestPack: the greedy puts items into the fewest shims their windows
// allow, each within its window.
func TestPack(t *testing.T) {
	items := []item{
		{kind: itemWhiteout, path: "a", lo: 0, hi: 3},
		{kind: itemWhiteout, path: "b", lo: 2, hi: 5},
		{kind: itemWhiteout, path: "c", lo: 4, hi: 4},
		{kind: itemHide, path: ".wh.x", lo: -1, hi: 1},
		{kind: itemOpaque, path: "d/e", lo: 6, hi: 9},
		{kind: itemWhiteout, path: "d/e/f", lo: 0, hi: 2},
	}
	p := &Plan{}
	if err := p.packOnly(items); err != nil {
		t.Fatal(err)
	}
	var gaps []int
	for _, s := range p.shims {
		gaps = append(gaps, s.gap)
	}
	// [-1,1] [0,2] [0,3] stabbed at 1; [2,5] [4,4] at 4; [6,9] at 9.
	if want := []int{1, 4, 9}; !equal(gaps, want) {
		t.Errorf("shims at gaps %v, want %v", gaps, want)
	}
	for _, it := range items {
		found := false
		for _, s := range p.shims {
			if s.gap >= it.lo && s.gap <= it.hi && s.has(it.path) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s not in a shim within [%d,%d]", it.path, it.lo, it.hi)
		}
	}
}

// TestShimAdd: an opaque directory takes a whiteout's place at the same
// path; a whiteout where a plain directory must go is an error.
func TestShimAdd(t *testing.T) {
	s := &shim{root: newShimDir()}
	for _, it := range []item{{kind: itemWhiteout, path: "x"}, {kind: itemOpaque, path: "x"}, {kind: itemWhiteout, path: "x"}} {
		if err := s.add(it); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.root.children["x"]; c == nil || !c.opaque || s.root.whiteouts["x"] {
		t.Errorf("x: want one opaque directory, got %+v, whiteout %v", c, s.root.whiteouts["x"])
	}
	if err := s.add(item{kind: itemWhiteout, path: "y"}); err != nil {
		t.Fatal(err)
	}
	if err := s.add(item{kind: itemWhiteout, path: "y/z"}); err == nil {
		t.Error("a directory over a whiteout in one shim: no error")
	}
}

func (p *Plan) packOnly(items []item) error {
	sort.SliceStable(items, func(i, j int) bool { return items[i].hi < items[j].hi })
	var cur *shim
	for _, it := range items {
		if cur == nil || it.lo > cur.gap {
			cur = &shim{gap: it.hi, root: newShimDir()}
			p.shims = append(p.shims, cur)
		}
		if err := cur.add(it); err != nil {
			return err
		}
	}
	return nil
}

func (s *shim) has(path string) bool {
	d := s.root
	names := strings.Split(path, "/")
	for i, n := range names {
		if i == len(names)-1 {
			return d.whiteouts[n] || d.children[n] != nil
		}
		if d = d.children[n]; d == nil {
			return false
		}
	}
	return false
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRefusedError(t *testing.T) {
	err := error(&RefusedError{Reason: OverlayContent, Layer: "abc", Dir: "/s/aufs/diff/abc", Path: "etc/x", Detail: "attribute trusted.overlay.opaque", Err: unix.EPERM})
	want := `kernel overlayfs cannot show this view exactly (content overlayfs would interpret): layer /s/aufs/diff/abc, "etc/x": attribute trusted.overlay.opaque: operation not permitted`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if r, ok := IsRefused(errors.Join(errors.New("x"), err)); !ok || r.Reason != OverlayContent {
		t.Error("IsRefused misses a wrapped refusal")
	}
	if !errors.Is(err, unix.EPERM) {
		t.Error("Unwrap")
	}
}

// TestPrepareArchive: a layer of an image archive has no directory to
// stack, and the kernel path says so.
func TestPrepareArchive(t *testing.T) {
	_, err := Prepare([]fs.Layer{{ID: "top", Archive: &fs.ArchiveLayer{Archive: "/x/image.tar", Member: "blobs/sha256/ab"}}, {ID: "low", Dir: t.TempDir()}})
	want := "kernel overlayfs cannot show this view exactly (a layer of an image archive): its blob blobs/sha256/ab of /x/image.tar is read in place, not extracted to a directory"
	if r, ok := IsRefused(err); !ok || r.Reason != Archive || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestStaged mounts through the path of kernels that take no detached
// mounts as layers: the same view, and nothing left attached.
func TestStaged(t *testing.T) {
	err := Available()
	testenv.Require(t, err == nil, "no kernel path: %v", err)
	base := t.TempDir()
	low, top := filepath.Join(base, "low"), filepath.Join(base, "top")
	for _, f := range []string{"low/a", "low/d/x", "low/d/y", "top/.wh.a", "top/d/.wh.x", "top/d/z", "top/.wh..wh.aufs"} {
		p := filepath.Join(base, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	layers := []fs.Layer{{ID: "top", Dir: top}, {ID: "low", Dir: low}}
	before, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	forceStaging = true
	defer func() { forceStaging = false }()
	mnt := t.TempDir()
	m, err := Mount(mnt, layers, Options{Source: "staged"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmount()
	after, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("%d mounts before, %d after: the staging left mounts behind", len(before), len(after))
	}
	var got []string
	filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != mnt {
			rel, _ := filepath.Rel(mnt, p)
			got = append(got, rel)
		}
		return nil
	})
	if want := "d d/y d/z"; strings.Join(got, " ") != want {
		t.Errorf("view: %q, want %q", strings.Join(got, " "), want)
	}
	if ents, _ := filepath.Glob(filepath.Join(os.TempDir(), "aufsmount-kernel-*")); len(ents) > 0 {
		t.Errorf("staging directories left: %v", ents)
	}
}
