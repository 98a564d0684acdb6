package integration

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	afs "github.com/aufsmount/aufsmount/fs"
)

// requestLog collects go-fuse's debug lines, to count requests by kind.
type requestLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (r *requestLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

// take returns how many requests of each kind came since the last take.
func (r *requestLog) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[string]int{}
	for _, line := range strings.Split(r.buf.String(), "\n") {
		// "rx 20: READDIRPLUS n1 {...}"
		f := strings.Fields(line)
		for i := 0; i+2 < len(f); i++ {
			if f[i] == "rx" {
				counts[f[i+2]]++
				break
			}
		}
	}
	r.buf.Reset()
	return counts
}

// twoLayerTree writes a lower and an upper layer with n files in wide/
// and a few nested directories, and returns them top first.
func twoLayerTree(t *testing.T, n int) []string {
	lower, upper := t.TempDir(), t.TempDir()
	for i := 0; i < n; i++ {
		dir := lower
		if i%2 == 1 {
			dir = upper
		}
		p := filepath.Join(dir, "wide", fmt.Sprintf("entry-%05d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"a/b/c", "a/d", "e"} {
		for _, l := range []string{lower, upper} {
			if err := os.MkdirAll(filepath.Join(l, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []string{upper, lower}
}

// TestDirectoryRequests checks that directories cost no OPENDIR or
// RELEASEDIR round trips (the kernel is told once that opendir is not
// needed) and that a second walk is served from the kernel's cache.
func TestDirectoryRequests(t *testing.T) {
	reqs := &requestLog{}
	mnt := mountLayersWith(t, twoLayerTree(t, 500),
		afs.Options{FsName: "test", DefaultPermissions: true, Debug: true, Logger: log.New(reqs, "", 0)})
	walkCount := func() int {
		n := 0
		if err := filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
			n++
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	reqs.take()
	first := walkCount()
	got := reqs.take()
	if want := 1 + 1 + 500 + 4 + 1; first != want { // root, wide/, entries, a a/b a/b/c a/d, e
		t.Errorf("first walk saw %d entries, want %d", first, want)
	}
	if got["OPENDIR"] > 1 || got["RELEASEDIR"] > 0 {
		t.Errorf("first walk: %d OPENDIR and %d RELEASEDIR requests, want at most 1 and 0", got["OPENDIR"], got["RELEASEDIR"])
	}
	if got["READDIRPLUS"]+got["READDIR"] == 0 {
		t.Errorf("first walk: no READDIR(PLUS) requests logged: %v", got)
	}
	if second := walkCount(); second != first {
		t.Errorf("second walk saw %d entries, the first %d", second, first)
	}
	if got := reqs.take(); got["READDIRPLUS"]+got["READDIR"]+got["OPENDIR"]+got["LOOKUP"] != 0 {
		t.Errorf("second walk went to the server: %v", got)
	}
}

// TestInterleavedListings reads one directory through several open
// files at once, in small steps, on a fresh mount (so the server, not
// the kernel's cache, answers), with one reader giving up halfway and
// one rewinding: each complete pass must see every entry exactly once.
func TestInterleavedListings(t *testing.T) {
	const n = 3000
	mnt := mountLayers(t, twoLayerTree(t, n))
	dir := filepath.Join(mnt, "wide")
	open := func() int {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	type reader struct {
		fd    int
		names []string
		done  bool
	}
	// step reads one small buffer; false at the end of the listing.
	step := func(r *reader) bool {
		buf := make([]byte, 600)
		k, err := unix.Getdents(r.fd, buf)
		if err != nil {
			t.Fatalf("getdents: %v", err)
		}
		for _, e := range parseDirents(nil, buf[:k]) {
			if e.name != "." && e.name != ".." {
				r.names = append(r.names, e.name)
			}
		}
		return k > 0
	}
	check := func(what string, names []string) {
		t.Helper()
		sorted := append([]string(nil), names...)
		sort.Strings(sorted)
		if len(sorted) != n {
			t.Errorf("%s: %d entries, want %d", what, len(sorted), n)
			return
		}
		for i, name := range sorted {
			if want := fmt.Sprintf("entry-%05d", i); name != want {
				t.Errorf("%s: entry %d is %q, want %q", what, i, name, want)
				return
			}
		}
	}
	quitter := &reader{fd: open()}
	for i := 0; i < 5; i++ {
		step(quitter)
	}
	unix.Close(quitter.fd)
	readers := []*reader{{fd: open()}, {fd: open()}, {fd: open()}}
	for left := len(readers); left > 0; {
		for _, r := range readers {
			if !r.done && !step(r) {
				r.done = true
				left--
			}
		}
	}
	for i, r := range readers {
		check(fmt.Sprintf("reader %d", i), r.names)
	}
	// Rewind one and read it again, now from the kernel's cache.
	r := readers[0]
	if _, err := unix.Seek(r.fd, 0, 0); err != nil {
		t.Fatal(err)
	}
	r.names = nil
	for step(r) {
	}
	check("rewound reader", r.names)
	for _, r := range readers {
		unix.Close(r.fd)
	}
}
