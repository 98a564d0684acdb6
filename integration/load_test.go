package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	afs "github.com/aufsmount/aufsmount/fs"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// loadReaders is how many goroutines read the view at once; the first
// loadWalkers of them walk the whole tree over and over, the others do
// random operations.
const (
	loadReaders = 16
	loadWalkers = 2
)

// loadDuration is how long TestLoad runs: AUFSMOUNT_LOAD_SECONDS
// (make stress sets 60), else 5 seconds.
func loadDuration(t testing.TB) time.Duration {
	v := os.Getenv("AUFSMOUNT_LOAD_SECONDS")
	if v == "" {
		return 5 * time.Second
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s <= 0 {
		t.Fatalf("AUFSMOUNT_LOAD_SECONDS=%q: want a number of seconds", v)
	}
	return time.Duration(s * float64(time.Second))
}

// loadTree is what the readers check the view against, computed from the
// layers themselves.
type loadTree struct {
	want     map[string]info
	digest   string
	paths    []string            // every path but the root
	files    []string            // regular files
	links    []string            // symlinks
	dirs     []string            // directories, the root ("") included
	children map[string][]string // directory -> its names, sorted
	source   map[string]string   // regular file -> the same file read from its layer
	layerID  map[string]string   // path -> the id of the layer that shows it
	hot      []string            // a few files opened over and over
}

func newLoadTree(t testing.TB, layers []*st.Layer, dirs []string) *loadTree {
	t.Helper()
	lt := &loadTree{
		want:     expect(t, layers, dirs),
		children: map[string][]string{},
		source:   map[string]string{},
		layerID:  map[string]string{},
	}
	lt.digest = treeDigest(lt.want)
	views := make([]string, len(dirs))
	for i, d := range dirs {
		views[i] = noatimeView(t, d)
	}
	for _, n := range st.Merge(layers) {
		lt.layerID[n.Path] = filepath.Base(dirs[n.Layer])
		if n.Path == "" {
			continue
		}
		lt.paths = append(lt.paths, n.Path)
		dir := path.Dir(n.Path)
		if dir == "." {
			dir = ""
		}
		lt.children[dir] = append(lt.children[dir], path.Base(n.Path))
		switch lt.want[n.Path].Mode & unix.S_IFMT {
		case unix.S_IFREG:
			lt.files = append(lt.files, n.Path)
			lt.source[n.Path] = views[n.Layer] + "/" + n.Path
		case unix.S_IFLNK:
			lt.links = append(lt.links, n.Path)
		case unix.S_IFDIR:
			if lt.children[n.Path] == nil {
				lt.children[n.Path] = []string{}
			}
		}
	}
	if lt.children[""] == nil {
		lt.children[""] = []string{}
	}
	for d, names := range lt.children {
		slices.Sort(names)
		lt.dirs = append(lt.dirs, d)
	}
	slices.Sort(lt.dirs)
	if len(lt.files) < 100 || len(lt.links) == 0 || len(lt.children) < 10 {
		t.Fatalf("the generated image is too small to load: %d files, %d links, %d directories", len(lt.files), len(lt.links), len(lt.children))
	}
	for i := 0; i < 8; i++ {
		lt.hot = append(lt.hot, lt.files[i*len(lt.files)/8])
	}
	return lt
}

// loadErrors keeps the first few errors the readers meet, and counts all.
type loadErrors struct {
	mu    sync.Mutex
	first []string
	n     int
}

func (e *loadErrors) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 20 {
		e.first = append(e.first, fmt.Sprintf(format, args...))
	}
}

// loadReader is one goroutine's view of the test.
type loadReader struct {
	lt   *loadTree
	mnt  string
	r    *rand.Rand
	errs *loadErrors
	ops  *[loadOps]atomic.Int64
}

const (
	opWalk = iota
	opStat
	opRead
	opPread
	opReaddir
	opReadlink
	opXattr
	opHot
	loadOps
)

var opNames = [loadOps]string{"walk", "stat", "read", "pread", "readdir", "readlink", "xattr", "hot"}

// walkAndHash walks the whole view, hashing every file, and compares the
// result with the layers'.
func (rd *loadReader) walkAndHash() {
	rd.ops[opWalk].Add(1)
	got, err := walkTree(rd.mnt)
	if err != nil {
		rd.errs.add("walk: %v", err)
		return
	}
	if d := treeDigest(got); d != rd.lt.digest {
		diffs := diffTrees(rd.lt.want, got, nil)
		rd.errs.add("walk: tree digest %s, want %s: %s", d[:12], rd.lt.digest[:12], strings.Join(head(diffs, 5), "; "))
	}
}

// firstWalk describes every loadReaders-th entry from the k-th, and
// lists every such directory, comparing each with the layers.
func (rd *loadReader) firstWalk(k int) {
	for i := k; i < len(rd.lt.paths); i += loadReaders {
		p := rd.lt.paths[i]
		got, err := describe(rd.mnt + "/" + p)
		if err != nil {
			rd.errs.add("%q: %v", p, err)
			continue
		}
		want := rd.lt.want[p]
		got.Ino, want.Ino = 0, 0
		if got != want {
			rd.errs.add("%q: %+v, want %+v", p, got, want)
		}
	}
	for i := k; i < len(rd.lt.dirs); i += loadReaders {
		d := rd.lt.dirs[i]
		ents, err := os.ReadDir(rd.mnt + "/" + d)
		if err != nil {
			rd.errs.add("readdir %q: %v", d, err)
			continue
		}
		if len(ents) != len(rd.lt.children[d]) {
			rd.errs.add("readdir %q: %d entries, want %d", d, len(ents), len(rd.lt.children[d]))
		}
	}
}

func (rd *loadReader) pick(s []string) string { return s[rd.r.IntN(len(s))] }

// random does one random operation.
func (rd *loadReader) random() {
	lt := rd.lt
	switch op := 1 + rd.r.IntN(loadOps-1); op {
	case opStat:
		p := rd.pick(lt.paths)
		var sb unix.Stat_t
		if err := unix.Lstat(rd.mnt+"/"+p, &sb); err != nil {
			rd.errs.add("lstat %q: %v", p, err)
			break
		}
		w := lt.want[p]
		got := info{Mode: sb.Mode, UID: sb.Uid, GID: sb.Gid, Size: sb.Size, Blocks: sb.Blocks, Nlink: uint64(sb.Nlink),
			Rdev: sb.Rdev, Atime: sb.Atim, Mtime: sb.Mtim, Ctime: sb.Ctim}
		w.Target, w.Xattrs, w.Hash, w.Ino = "", "", "", 0
		if got != w {
			rd.errs.add("lstat %q: %+v, want %+v", p, got, w)
		}
		rd.ops[op].Add(1)
	case opRead:
		p := rd.pick(lt.files)
		if h, err := hashFile(rd.mnt + "/" + p); err != nil || h != lt.want[p].Hash {
			rd.errs.add("read %q: hash %.12s, %v; want %.12s", p, h, err, lt.want[p].Hash)
		}
		rd.ops[op].Add(1)
	case opPread:
		p := rd.pick(lt.files)
		size := lt.want[p].Size
		if size == 0 {
			break
		}
		off := rd.r.Int64N(size)
		n := 1 + rd.r.IntN(64<<10)
		got, err := preadAt(rd.mnt+"/"+p, off, n)
		if err != nil {
			rd.errs.add("pread %q at %d: %v", p, off, err)
			break
		}
		want, err := preadAt(lt.source[p], off, n)
		if err != nil {
			rd.errs.add("pread the layer's %q at %d: %v", p, off, err)
			break
		}
		if !bytes.Equal(got, want) {
			rd.errs.add("pread %q at %d: %d bytes differ from the layer's %d", p, off, len(got), len(want))
		}
		rd.ops[op].Add(1)
	case opReaddir:
		d := rd.pick(lt.dirs)
		ents, err := os.ReadDir(rd.mnt + "/" + d)
		if err != nil {
			rd.errs.add("readdir %q: %v", d, err)
			break
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
			if want := lt.want[path.Join(d, e.Name())].Mode & unix.S_IFMT; uint32(e.Type()) != 0 && fileTypeBits(e.Type()) != want {
				rd.errs.add("readdir %q: %q has type %v, want mode %o", d, e.Name(), e.Type(), want)
			}
		}
		if !slices.Equal(names, lt.children[d]) {
			rd.errs.add("readdir %q: %d names, want %d", d, len(names), len(lt.children[d]))
		}
		rd.ops[op].Add(1)
	case opReadlink:
		p := rd.pick(lt.links)
		if got, err := os.Readlink(rd.mnt + "/" + p); err != nil || got != lt.want[p].Target {
			rd.errs.add("readlink %q: %q, %v; want %q", p, got, err, lt.want[p].Target)
		}
		rd.ops[op].Add(1)
	case opXattr:
		p := rd.pick(lt.paths)
		if got, err := xattrs(rd.mnt + "/" + p); err != nil || got != lt.want[p].Xattrs {
			rd.errs.add("xattrs of %q: %q, %v; want %q", p, got, err, lt.want[p].Xattrs)
		}
		// The kernel keeps user.* xattrs off anything but files and
		// directories: only those answer the layer's.
		if m := lt.want[p].Mode & unix.S_IFMT; m == unix.S_IFREG || m == unix.S_IFDIR {
			buf := make([]byte, 128)
			n, err := unix.Lgetxattr(rd.mnt+"/"+p, afs.LayerXattr, buf)
			if err != nil || string(buf[:max(n, 0)]) != lt.layerID[p] {
				rd.errs.add("%s of %q: %q, %v; want %q", afs.LayerXattr, p, buf[:max(n, 0)], err, lt.layerID[p])
			}
		}
		rd.ops[op].Add(1)
	case opHot:
		p := rd.pick(lt.hot)
		for range 20 {
			if h, err := hashFile(rd.mnt + "/" + p); err != nil || h != lt.want[p].Hash {
				rd.errs.add("reopening %q: hash %.12s, %v; want %.12s", p, h, err, lt.want[p].Hash)
				break
			}
		}
		rd.ops[op].Add(1)
	}
}

// fileTypeBits is the S_IFMT of a directory entry's type.
func fileTypeBits(m os.FileMode) uint32 {
	switch {
	case m.IsDir():
		return unix.S_IFDIR
	case m&os.ModeSymlink != 0:
		return unix.S_IFLNK
	case m&os.ModeNamedPipe != 0:
		return unix.S_IFIFO
	case m&os.ModeSocket != 0:
		return unix.S_IFSOCK
	case m&os.ModeCharDevice != 0:
		return unix.S_IFCHR
	case m&os.ModeDevice != 0:
		return unix.S_IFBLK
	}
	return unix.S_IFREG
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func preadAt(p string, off int64, n int) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOATIME|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := unix.Pread(fd, buf[got:], off+int64(got))
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		got += m
	}
	return buf[:got], nil
}

// TestLoad runs 16 readers at once over one mount for loadDuration:
// whole-tree walks that hash every file, random stat, read, pread,
// readdir, readlink and getxattr, and the same files opened over and
// over. Nothing may fail, everything must match the layers, and the
// daemon's memory and descriptors must stay level.
func TestLoad(t *testing.T) {
	testenv.FUSE(t)
	dur := loadDuration(t)
	layers := st.Generate(st.GenOptions{Seed: 20150301, Layers: 8, Entries: 3000, MaxSize: 1 << 20})
	img := &st.Image{Names: []string{"load/generated:latest"}, Layers: layers}
	b := writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layerstore.LayoutCAS)
	lt := newLoadTree(t, b.ChainLayers[img], b.Chain[img])
	mnt := daemonMount(t, b.Root, "load/generated:latest")
	pid := daemonPID(t, mnt)

	errs := &loadErrors{}
	var ops [loadOps]atomic.Int64
	readers := make([]*loadReader, loadReaders)
	for i := range readers {
		readers[i] = &loadReader{lt: lt, mnt: mnt, r: rand.New(rand.NewPCG(uint64(i), 7)), errs: errs, ops: &ops}
	}
	// Warm-up: one walk of the whole tree, shared out among the readers
	// running at once, so that the daemon has met both every directory
	// and the concurrency it is measured under.
	var wg sync.WaitGroup
	start := time.Now()
	for i, rd := range readers {
		wg.Go(func() { rd.firstWalk(i) })
	}
	wg.Wait()
	warm := time.Since(start)
	if errs.n > 0 {
		t.Fatalf("%d errors in the first walk:\n%s", errs.n, strings.Join(errs.first, "\n"))
	}
	rss0, fds0 := procStatusKB(t, pid, "VmRSS"), openFDs(t, pid)

	stop := make(chan struct{})
	for i, rd := range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i < loadWalkers {
					rd.walkAndHash()
				} else {
					rd.random()
				}
			}
		})
	}
	var peak int64
	var samples []string // RSS every few seconds, for the log
	deadline := time.After(dur)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
sample:
	for n := 1; ; n++ {
		select {
		case <-deadline:
			break sample
		case <-tick.C:
			rss := procStatusKB(t, pid, "VmRSS")
			peak = max(peak, rss)
			if n%20 == 0 {
				samples = append(samples, strconv.FormatInt(rss, 10))
			}
		}
	}
	close(stop)
	wg.Wait()
	// Releases reach the daemon after close returns.
	pollUntil(promptly, func() bool { return openFDs(t, pid) <= fds0 })
	rss1, fds1 := procStatusKB(t, pid, "VmRSS"), openFDs(t, pid)

	var counts []string
	for i := range ops {
		counts = append(counts, fmt.Sprintf("%s %d", opNames[i], ops[i].Load()))
	}
	t.Logf("%d entries, %d readers, first walk %v, then %v: %s", len(lt.want), loadReaders, warm.Round(time.Millisecond), dur, strings.Join(counts, ", "))
	t.Logf("daemon RSS: %d kB after the first walk, %d kB at the end (peak %d kB; every 5 s: %s); descriptors %d then %d",
		rss0, rss1, peak, strings.Join(samples, " "), fds0, fds1)
	if errs.n > 0 {
		t.Errorf("%d errors under load:\n%s", errs.n, strings.Join(errs.first, "\n"))
	}
	for i := range ops {
		if ops[i].Load() == 0 {
			t.Errorf("no %s was done", opNames[i])
		}
	}
	if rss1 > rss0*3/2 {
		t.Errorf("the daemon's RSS grew from %d kB to %d kB", rss0, rss1)
	}
	if fds1 > fds0+8 {
		t.Errorf("the daemon holds %d descriptors, %d after the first walk", fds1, fds0)
	}
	if !procAlive(pid) || !isMounted(t, mnt) {
		t.Errorf("the daemon is gone")
	}
}
