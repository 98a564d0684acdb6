package kernelview

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/internal/workpool"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// MaxLayers is how many lower layers overlayfs stacks (OVL_MAX_STACK):
// the view's layers and the shims together.
const MaxLayers = 500

// Plan is a view made ready for the kernel: its layers opened, scanned
// and checked, and the shims it needs worked out (not yet written).
type Plan struct {
	layers    []fs.Layer
	roots     []*beneath.Root
	view      *fs.View
	scans     []*layerScan
	userxattr bool
	raw       map[string]rawStack // the view's DirLayers, asked while the layers are walked
	stacks    map[string][]int    // DirLayers cut at opacity; nil: not a directory of the view
	shims     []*shim             // by gap, top first
	stats     Stats
}

// Stats says what a plan holds.
type Stats struct {
	Layers    int           // the view's layers
	Shims     int           // shim layers generated
	Whiteouts int           // whiteouts in the shims that stand for aufs whiteouts (and tar-split markers)
	Opaque    int           // opaque directories in the shims (and whiteouts standing for an opaque root)
	Merged    int           // directories in the shims that only make overlayfs merge a layer's directory holding 0/0 devices
	Hidden    int           // whiteouts in the shims that hide the .wh.* entries themselves
	Copied    []string      // view directories the kernel shows from a shim, with the view's mode, owner, times and xattrs copied onto them
	UserXattr bool          // overlayfs reads user.overlay.* (a rootless engine's layers), not trusted.overlay.*
	Prepare   time.Duration // opening, scanning and planning
}

// shim is one generated layer, sitting below layer gap (above layer 0
// for gap -1).
type shim struct {
	gap  int
	root *shimDir
}

// shimDir is a directory of a shim.
type shimDir struct {
	children  map[string]*shimDir
	whiteouts map[string]bool
	opaque    bool
	copyFrom  string // the view path whose attributes it carries, when the kernel shows it; "" otherwise
	copied    bool
}

func newShimDir() *shimDir {
	return &shimDir{children: map[string]*shimDir{}, whiteouts: map[string]bool{}}
}

// itemKind is what a shim entry does.
type itemKind int

const (
	itemWhiteout   itemKind = iota // a whiteout standing for a layer's aufs whiteout
	itemOpaque                     // an opaque directory: a layer's opaque marker, or a whiteout of a directory the layer above holds
	itemOpaqueRoot                 // a whiteout standing for a layer's opaque root (overlayfs merges every root)
	itemHide                       // a whiteout hiding a .wh.* entry itself
	itemMerge                      // an empty opaque directory below a layer's directory nothing else merges with: overlayfs then leaves out the 0/0 devices it holds
	itemMergeAbove                 // the same as a plain directory above it, where the layer stops overlayfs itself
)

// item is one entry some shim must hold: at path (a view path), in any
// shim between gap lo and gap hi (lo <= hi; gap g is directly below
// layer g, gap -1 above layer 0).
type item struct {
	kind   itemKind
	path   string
	lo, hi int
}

// Check tells whether the kernel path can show the view of layers (top
// first) exactly; if not, it returns a *RefusedError saying why. It
// reads every layer (see Prepare); Mount checks the same.
func Check(layers []fs.Layer) error {
	p, err := Prepare(layers)
	if err != nil {
		return err
	}
	p.Close()
	return nil
}

// Prepare opens, scans and checks the layers (top first) and works out
// the shims, without mounting. A *RefusedError says why the kernel path
// cannot be exact; other errors are the layers' (unreadable, gone).
func Prepare(layers []fs.Layer) (*Plan, error) {
	start := time.Now()
	if len(layers) == 0 {
		return nil, errors.New("no layers to mount")
	}
	if err := checkKernel(); err != nil {
		return nil, err
	}
	for _, l := range layers {
		if l.Restore != nil {
			return nil, &RefusedError{Reason: Restored, Layer: l.ID, Dir: l.Dir, Detail: "the store was copied without owners, modes, times, xattrs or special files, which the layer's tar-split gives back"}
		}
	}
	if len(layers) > MaxLayers {
		return nil, &RefusedError{Reason: TooManyLayers, Detail: fmt.Sprintf("%d layers: overlayfs stacks at most %d", len(layers), MaxLayers)}
	}
	p := &Plan{layers: layers, raw: map[string]rawStack{}, stacks: map[string][]int{}}
	if err := p.prepare(); err != nil {
		p.Close()
		return nil, err
	}
	p.stats.Prepare = time.Since(start)
	return p, nil
}

// Stats says what the plan holds.
func (p *Plan) Stats() Stats { return p.stats }

// Close releases the layers.
func (p *Plan) Close() {
	if p.view != nil {
		p.view.Close()
		p.view = nil
	}
	for _, r := range p.roots {
		if r != nil {
			r.Close()
		}
	}
	p.roots = nil
}

func (p *Plan) prepare() error {
	p.roots = make([]*beneath.Root, len(p.layers))
	for i, ly := range p.layers {
		r, err := beneath.OpenRoot(ly.Dir)
		if err != nil {
			return fmt.Errorf("opening layer: %w", err)
		}
		p.roots[i] = r
	}
	var err error
	if p.view, err = fs.OpenView(p.layers); err != nil {
		return err
	}
	// While the layers are walked, the view merges the directories the
	// walks find marks in (the parents of each, for DirLayers): on
	// other cores, or while the walks wait on the disk.
	marked := make(chan string, 4096)
	viewDone := make(chan struct{})
	go func() {
		defer close(viewDone)
		for dir := range marked {
			if _, ok := p.raw[dir]; !ok {
				p.raw[dir] = p.dirLayers(dir)
			}
		}
	}()
	p.scans = make([]*layerScan, len(p.layers))
	errs := make([]error, len(p.layers))
	// More workers than cores: a cold walk waits on the disk.
	workpool.Each(len(p.layers), max(workpool.IO, runtime.NumCPU()), func(i int) {
		p.scans[i], errs[i] = scanLayer(p.layers[i], p.roots[i], marked)
	})
	close(marked)
	<-viewDone
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if p.userxattr, err = checkXattrs(p.layers, p.scans); err != nil {
		return err
	}
	p.stats.UserXattr = p.userxattr
	items, err := p.items()
	if err != nil {
		return err
	}
	if err := p.pack(items); err != nil {
		return err
	}
	p.stats.Layers, p.stats.Shims = len(p.layers), len(p.shims)
	if n := len(p.layers) + len(p.shims); n > MaxLayers {
		return &RefusedError{Reason: TooManyLayers, Detail: fmt.Sprintf("%d layers and %d shims: overlayfs stacks at most %d", len(p.layers), len(p.shims), MaxLayers)}
	}
	return nil
}

// rawStack is the view's DirLayers of one directory.
type rawStack struct {
	st  []int // nil: not a directory of the view
	err error
}

func (p *Plan) dirLayers(dir string) rawStack {
	st, err := p.view.DirLayers(dir)
	if err != nil && beneath.Gone(err) {
		return rawStack{}
	}
	return rawStack{st: st, err: err}
}

// stack returns the layers whose directory dir makes up the view's (top
// first), as the merge reads them: cut after the first that makes it
// opaque. nil: dir is not a directory of the view.
func (p *Plan) stack(dir string) ([]int, error) {
	if st, ok := p.stacks[dir]; ok {
		return st, nil
	}
	raw, ok := p.raw[dir]
	if !ok {
		raw = p.dirLayers(dir)
	}
	if raw.err != nil {
		return nil, raw.err
	}
	st := raw.st
	for i, k := range st {
		if m := p.scans[k].dirs[dir]; m != nil && m.opaque {
			st = st[:i+1]
			break
		}
	}
	p.stacks[dir] = st
	return st, nil
}

// event is what a layer has for one name of a directory, as the merge
// takes it.
type event int

const (
	evNone     event = iota // nothing: the merge looks further down
	evEntry                 // an entry, shown or merged or shadowing
	evWhiteout              // a whiteout: nothing below counts
)

// eventAt tells what layer k holds at name in directory dir (a directory
// k merges into the view's), and whether it is a directory.
func (p *Plan) eventAt(k int, dir, name string) (event, bool, error) {
	var st unix.Stat_t
	err := p.lstat(k, join(dir, name), &st)
	switch {
	case err == nil:
		enc := encodingOf(p.layers[k])
		mode := st.Mode & unix.S_IFMT
		switch kind, _ := enc.Classify(name, mode, st.Rdev); {
		case kind == whiteout.Plain:
			return evEntry, mode == unix.S_IFDIR, nil
		case kind == whiteout.Whiteout && !(enc.DotFiles && strings.HasPrefix(name, whiteout.Prefix)):
			return evWhiteout, false, nil // a 0/0 device
		}
		// a marker of k's own: nothing for name itself
	case !beneath.Gone(err) && err != unix.ENAMETOOLONG:
		return evNone, false, fmt.Errorf("reading %s/%s: %w", p.layers[k].Dir, join(dir, name), err)
	}
	if p.scans[k].dirs[dir].whitesOut(name) {
		return evWhiteout, false, nil
	}
	return evNone, false, nil
}

// lstat stats path in layer k without following it. It is only asked
// about names in directories the merge reached in layer k, through real
// directories (DirLayers lists no layer where a symlink stands on the
// way), and names hold no "/": one fstatat from the layer's root does
// what beneath's resolution would, in one call instead of three.
func (p *Plan) lstat(k int, path string, st *unix.Stat_t) error {
	return unix.Fstatat(p.roots[k].Fd(), path, st, unix.AT_SYMLINK_NOFOLLOW)
}

func indexOf(st []int, k int) int {
	for i, v := range st {
		if v == k {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func splitDir(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// items works out every entry the shims must hold (see doc.go).
func (p *Plan) items() ([]item, error) {
	var items []item
	markerDirs := map[string]bool{}
	for n, s := range p.scans {
		for _, dir := range sortedKeys(s.dirs) {
			m := s.dirs[dir]
			if len(m.dotNames) > 0 {
				markerDirs[dir] = true
			}
			st, err := p.stack(dir)
			if err != nil {
				return nil, err
			}
			pos := indexOf(st, n)
			if pos < 0 {
				continue // the view never reaches this directory of layer n
			}
			// Whiteouts: each hides its name below n, down to the first
			// layer that has an entry there; one that meets a whiteout
			// first, or nothing, hides nothing.
			for _, name := range m.whiteouts {
				for _, k := range st[pos+1:] {
					ev, _, err := p.eventAt(k, dir, name)
					if err != nil {
						return nil, err
					}
					if ev == evEntry {
						kind := itemWhiteout
						if sub, err := p.stack(join(dir, name)); err != nil {
							return nil, err
						} else if indexOf(sub, n) >= 0 {
							// n holds the directory too, and the view
							// shows it: an opaque directory below n hides
							// the same and keeps the directory merged.
							kind = itemOpaque
						}
						lo, err := p.whiteoutTop(st, pos, dir, name)
						if err != nil {
							return nil, err
						}
						items = append(items, item{kind: kind, path: join(dir, name), lo: lo, hi: k - 1})
					}
					if ev != evNone {
						break
					}
				}
			}
			if m.shimOpaque && pos == len(st)-1 {
				more, err := p.opaqueItems(n, dir)
				if err != nil {
					return nil, err
				}
				items = append(items, more...)
			}
			if m.devices && len(st) == 1 && dir != "" {
				items = append(items, p.mergeItem(n, dir))
			}
		}
	}
	// The .wh.* entries themselves: one whiteout for each name in each
	// directory, above the topmost layer of the directory's stack that
	// has it, and below the layer showing the directory where that is
	// another (then the shim's directory is not what the kernel shows).
	for _, dir := range sortedKeys(markerDirs) {
		st, err := p.stack(dir)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue
		}
		top := map[string]int{}
		for _, k := range st {
			if m := p.scans[k].dirs[dir]; m != nil {
				for _, name := range m.dotNames {
					if _, ok := top[name]; !ok {
						top[name] = k
					}
				}
			}
		}
		for _, name := range sortedKeys(top) {
			k, path := top[name], join(dir, name)
			e, err := p.shownAt(st, dir, name)
			switch {
			case err == nil:
				it, err := p.shownMarkerName(path, e, k)
				if err != nil {
					return nil, err
				}
				if it != nil {
					items = append(items, *it)
				}
				continue
			case !beneath.Gone(err):
				return nil, err
			}
			// Anywhere above k will do; above the directory's topmost
			// layer the shim's directory is what the kernel shows, with
			// the view's attributes copied onto it.
			items = append(items, item{kind: itemHide, path: path, lo: -1, hi: k - 1})
		}
	}
	return items, nil
}

// whiteoutTop is the highest gap a whiteout of name in dir, from layer
// st[pos], may take: below the nearest layer, that one or above, that
// has an entry there (the whiteout must not hide it), else below the
// directory's topmost layer (above it the shim's directory would show).
func (p *Plan) whiteoutTop(st []int, pos int, dir, name string) (int, error) {
	for j := pos; j >= 0; j-- {
		ev, _, err := p.eventAt(st[j], dir, name)
		if err != nil {
			return 0, err
		}
		if ev == evEntry {
			return st[j], nil
		}
	}
	return st[0], nil
}

// shownAt returns the view's entry name of directory dir (of stack st),
// failing with ENOENT without asking the view where only layers whose
// encoding takes every .wh.* name for a marker have it.
func (p *Plan) shownAt(st []int, dir, name string) (fs.Entry, error) {
	for _, k := range st {
		if encodingOf(p.layers[k]).DotFiles {
			continue
		}
		var s unix.Stat_t
		if err := p.lstat(k, join(dir, name), &s); err == nil {
			return p.view.Lookup(join(dir, name))
		}
	}
	return fs.Entry{}, unix.ENOENT
}

// shownMarkerName handles a .wh.* name that layer k (the topmost of its
// directory's stack to have it) holds as a marker, and that the view
// shows from a layer whose encoding has no markers (overlay, whole
// trees). A marker above that layer would show in its place: refused.
// A non-directory stops overlayfs as it stops the merge. A directory
// must not merge with the marker below it: an opaque directory in a
// shim between them stops overlayfs where the merge stops, unless the
// merge takes in more directories past a marker.
func (p *Plan) shownMarkerName(path string, e fs.Entry, k int) (*item, error) {
	conflict := func() error {
		return &RefusedError{Reason: NameConflict, Path: path,
			Detail: fmt.Sprintf("layer %s shows an entry of this name, which layer %s holds as an aufs marker", p.layers[e.Layer].Dir, p.layers[k].Dir)}
	}
	if k < e.Layer {
		return nil, conflict()
	}
	if !e.IsDir() {
		return nil, nil
	}
	st, err := p.stack(path)
	if err != nil {
		return nil, err
	}
	last := st[len(st)-1]
	if k < last {
		return nil, conflict()
	}
	return &item{kind: itemOpaque, path: path, lo: last, hi: k - 1}, nil
}

// mergeItem makes directory dir of layer n, which nothing merges with,
// a merged one for overlayfs, so that it leaves out the 0/0 devices it
// holds: an empty opaque directory just below n, or, where n stops
// overlayfs itself at dir or a directory above (an opaque attribute),
// a plain one just above n.
func (p *Plan) mergeItem(n int, dir string) item {
	for d := dir; d != ""; d, _ = splitDir(d) {
		if p.scans[n].dirs[d].nativeOpaque() {
			return item{kind: itemMergeAbove, path: dir, lo: n - 1, hi: n - 1}
		}
	}
	return item{kind: itemMerge, path: dir, lo: n, hi: n}
}

// opaqueItems stands for layer n's opaque marker on directory dir (n is
// the last of dir's stack). overlayfs honours opacity on directories
// below the root; a lower layer's root it always merges, so an opaque
// root becomes a whiteout of every name the roots below hold.
func (p *Plan) opaqueItems(n int, dir string) ([]item, error) {
	if dir == "" {
		var items []item
		seen := map[string]bool{}
		buf := make([]byte, 64<<10)
		for k := n + 1; k < len(p.layers); k++ {
			fd, err := p.roots[k].OpenDir("")
			if err != nil {
				return nil, fmt.Errorf("opening %s: %w", p.layers[k].Dir, err)
			}
			des, err := beneath.ReadDirents(fd, buf)
			unix.Close(fd)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", p.layers[k].Dir, err)
			}
			for _, de := range des {
				if !seen[de.Name] {
					seen[de.Name] = true
					items = append(items, item{kind: itemOpaqueRoot, path: de.Name, lo: n, hi: k - 1})
				}
			}
		}
		return items, nil
	}
	parent, name := splitDir(dir)
	if p.scans[n].dirs[parent].whitesOut(name) {
		return nil, nil // n whites the directory out below itself as well
	}
	st, err := p.stack(parent)
	if err != nil {
		return nil, err
	}
	pos := indexOf(st, n)
	if pos < 0 {
		return nil, fmt.Errorf("internal error: layer %d has /%s but not its parent", n, dir)
	}
	for _, k := range st[pos+1:] {
		ev, isDir, err := p.eventAt(k, parent, name)
		if err != nil {
			return nil, err
		}
		if ev == evEntry && isDir {
			return []item{{kind: itemOpaque, path: dir, lo: n, hi: k - 1}}, nil
		}
		if ev != evNone {
			break // a non-directory or a whiteout stops overlayfs as well
		}
	}
	return nil, nil
}

// pack puts the items into as few shims as their windows allow: sorted
// by the lowest gap each may take, each goes into the last shim opened
// if that one is within its window, else into a new shim at its lowest
// gap (the greedy that stabs intervals with the fewest points).
func (p *Plan) pack(items []item) error {
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].hi != items[j].hi {
			return items[i].hi < items[j].hi
		}
		return items[i].path < items[j].path
	})
	var cur *shim
	for _, it := range items {
		if cur == nil || it.lo > cur.gap {
			cur = &shim{gap: it.hi, root: newShimDir()}
			p.shims = append(p.shims, cur)
		}
		if err := cur.add(it); err != nil {
			return err
		}
		switch it.kind {
		case itemHide:
			p.stats.Hidden++
		case itemOpaque, itemOpaqueRoot:
			p.stats.Opaque++
		case itemMerge, itemMergeAbove:
			p.stats.Merged++
		default:
			p.stats.Whiteouts++
		}
	}
	// The shim directories the kernel shows are those no real layer
	// above their shim holds: they get the view's attributes.
	for _, s := range p.shims {
		if err := p.markCopies(s, s.root, ""); err != nil {
			return err
		}
	}
	sort.Strings(p.stats.Copied)
	return nil
}

func (p *Plan) markCopies(s *shim, d *shimDir, path string) error {
	st, err := p.stack(path)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("internal error: shim %d has /%s, which is not a directory of the view", s.gap, path)
	}
	if st[0] > s.gap {
		d.copyFrom, d.copied = path, true
		p.stats.Copied = append(p.stats.Copied, path)
	}
	for name, c := range d.children {
		if err := p.markCopies(s, c, join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// add puts one item into the shim: its directories on the way, then
// the whiteout or the directory. An opaque directory also does what a
// whiteout of the same path would (a layer above holds the directory,
// or the item would not be there): the one takes the other's place.
func (s *shim) add(it item) error {
	names := strings.Split(it.path, "/")
	d := s.root
	for i, name := range names {
		last := i == len(names)-1
		isWhiteout := it.kind == itemWhiteout || it.kind == itemOpaqueRoot || it.kind == itemHide
		opaque := it.kind == itemOpaque || it.kind == itemMerge
		if last && isWhiteout {
			if c := d.children[name]; c != nil {
				if c.opaque {
					return nil
				}
				return fmt.Errorf("internal error: shim at gap %d needs /%s as a whiteout and as a directory", s.gap, it.path)
			}
			d.whiteouts[name] = true
			return nil
		}
		if d.whiteouts[name] {
			if !(last && opaque) {
				return fmt.Errorf("internal error: shim at gap %d needs /%s as a whiteout and as a directory", s.gap, strings.Join(names[:i+1], "/"))
			}
			delete(d.whiteouts, name)
		}
		c := d.children[name]
		if c == nil {
			c = newShimDir()
			d.children[name] = c
		}
		if last && opaque {
			c.opaque = true
		}
		d = c
	}
	return nil
}
