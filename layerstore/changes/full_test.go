package changes

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestBetweenMatchesFull checks that looking only at what the unshared
// layers touch (BetweenTargets) gives what comparing every path (Full)
// gives, and the literal diff of test/a:1 and test/b:1.
func TestBetweenMatchesFull(t *testing.T) {
	for _, layout := range []layerstore.Layout{layerstore.LayoutGraph, layerstore.LayoutCAS} {
		for _, aufsLinks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/aufs-links=%v", layout, aufsLinks), func(t *testing.T) {
				b, err := st.NewDiffImages().Store(aufsLinks).Write(filepath.Join(t.TempDir(), "docker"), layout)
				if err != nil {
					t.Fatalf("writing the store: %v", err)
				}
				store, err := layerstore.Open(b.Root)
				if err != nil {
					t.Fatal(err)
				}
				pairs := [][2]string{
					{"test/a:1", "test/b:1"}, {"test/b:1", "test/a:1"}, {"test/a:1", "test/a:1"},
					{"test/base:1", "test/b:1"}, {"test/b:1", "ctr"}, {"ctr", "test/a:1"}, {"test/base:1", "ctr"},
					{"test/g:1", "test/g:2"}, {"test/g:2", "test/g:3"}, {"test/g:3", "test/g:1"}, {"test/a:1", "test/g:1"},
				}
				for _, pair := range pairs {
					t1, err1 := store.Resolve(pair[0])
					t2, err2 := store.Resolve(pair[1])
					if err1 != nil || err2 != nil {
						t.Fatal(err1, err2)
					}
					fast, err := BetweenTargets(t1, t2)
					if err != nil {
						t.Fatalf("diff %s %s: %v", pair[0], pair[1], err)
					}
					full := fullTargets(t, t1, t2)
					if !slices.Equal(show(fast), show(full)) {
						t.Errorf("diff %s %s:\n got %q\nfull %q", pair[0], pair[1], show(fast), show(full))
					}
					if !sort.SliceIsSorted(fast, func(i, j int) bool { return fast[i].Path < fast[j].Path }) {
						t.Errorf("diff %s %s: not sorted: %q", pair[0], pair[1], show(fast))
					}
					if pair[0] == pair[1] && len(fast) > 0 {
						t.Errorf("diff %s %s: %q", pair[0], pair[1], show(fast))
					}
					if len(full) == 0 && pair[0] != pair[1] {
						t.Errorf("diff %s %s: no difference found", pair[0], pair[1])
					}
				}
				t1, _ := store.Resolve("test/a:1")
				t2, _ := store.Resolve("test/b:1")
				got, _ := BetweenTargets(t1, t2)
				if !slices.Equal(show(got), st.DiffAB) {
					t.Errorf("diff test/a:1 test/b:1:\n got %q\nwant %q", show(got), st.DiffAB)
				}
			})
		}
	}
}

// fullTargets is Full of the views of t1 and t2.
func fullTargets(t *testing.T, t1, t2 *layerstore.Target) []Change {
	t.Helper()
	a, err := viewplan.Open(t1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := viewplan.Open(t2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cs, err := Full(a, b)
	if err != nil {
		t.Fatalf("full diff %s %s: %v", t1.Ref, t2.Ref, err)
	}
	return cs
}
