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
	for _, l := range layers {
		if a := l.Archive; a != nil {
			return nil, &RefusedError{Reason: Archive, Layer: l.ID, Detail: fmt.Sprintf("its blob %s of %s is read in place, not extracted to a directory", a.Member, a.Archive)}
		}
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
