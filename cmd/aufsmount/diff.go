package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"sort"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "list the paths that differ between two images or containers, or what a container changed",
		UsageText: "aufsmount [--root DIR] diff [--json] [--exit-code] REF1 REF2\n   aufsmount [--root DIR] diff [--json] [--exit-code] CONTAINER",
		Description: `With one CONTAINER, prints what docker diff prints: what the container
changed, its writable layer against its image and init layer, sorted by
path. A for a path it added, D for one it deleted, C for one it changed
as Docker 20.10 decides: for aufs, whatever the writable layer holds
that is below too, but a directory that kept its mode, size and
modification time, which is C only when it holds a path added or
deleted; for the other drivers, a path whose type, mode, owner, device
number or capability differ, or for anything but a directory its size
or modification time, and every directory above a change. The
files Docker writes for every container (/etc/hosts, /etc/hostname,
/.dockerenv ...) are not listed unless the container changed them.

With REF1 and REF2, compares the merged views of the two, without
mounting, and prints one line per path that differs, sorted by path:

   A /path   in REF2 only (added)
   D /path   in REF1 only (deleted)
   C /path   in both, changed: content, type, mode bits, owner, symlink
             target, device number or extended attributes (not times,
             not link counts)

A directory in one of them only is listed with everything below it.
Only the paths that the layers the two do not share touch are looked at,
so two images that differ by a small layer compare at once whatever
their size. In paths, a backslash prints as \\, a newline as \n, a tab
as \t, and other control characters, non-printable characters and bytes
that are not UTF-8 as \ooo (octal). --json prints an array of
{"op", "path"} with the path as it is, plus "path_base64" holding its
bytes when it is not valid UTF-8 (JSON strings cannot hold such bytes).

--exit-code makes the exit status 1 when there are differences (0 when
there are none, 2 or 1 on errors, as otherwise), for scripts.

Neither form looks at a container's volumes and other mounts: only at
its layers.

Examples:
   aufsmount diff busybox:latest user/app:v1
   aufsmount diff --json user/app:v1 my-container
   aufsmount diff --exit-code my-container || echo changed`,
		Flags: append(storeFlags(),
			&cli.BoolFlag{Name: "json", Usage: `print a JSON array of {"op", "path"} instead of lines`},
			&cli.BoolFlag{Name: "exit-code", Usage: "exit with status 1 when there are differences"}),
		Action: e.diffAction,
	}
}

func (e *env) diffAction(c *cli.Context) error {
	if c.NArg() != 1 && c.NArg() != 2 {
		return usageErrorf("diff: expected REF1 REF2 or a CONTAINER, got %s (see aufsmount diff --help)", nArgs(c.NArg()))
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	mw := newMarkerWarner(e.stderr)
	t1, err := mw.resolveView(s, c.Args().Get(0))
	if err != nil {
		return err
	}
	var changes []change
	if c.NArg() == 1 {
		if t1.Kind != layerstore.KindContainer {
			return usageErrorf("diff: %s is an image: one REF must be a container (what it changed); compare an image with another REF (see aufsmount diff --help)", c.Args().Get(0))
		}
		changes, err = containerChanges(t1)
	} else {
		var t2 *layerstore.Target
		if t2, err = mw.resolveView(s, c.Args().Get(1)); err != nil {
			return err
		}
		changes, err = diffTargets(t1, t2)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		err = writeJSON(e.stdout, diffJSON(changes))
	} else {
		var b strings.Builder
		for _, ch := range changes {
			fmt.Fprintf(&b, "%c %s\n", ch.op, quotePath(ch.path))
		}
		_, err = io.WriteString(e.stdout, b.String())
	}
	if err == nil && c.Bool("exit-code") && len(changes) > 0 {
		return errSilent
	}
	return err
}

// change is one line of diff: op is 'A', 'D' or 'C'; path has a leading "/".
type change struct {
	op   byte
	path string
}

type changeJSON struct {
	Op         string `json:"op"`
	Path       string `json:"path"`
	PathBase64 string `json:"path_base64,omitempty"`
}

func diffJSON(changes []change) []changeJSON {
	out := make([]changeJSON, 0, len(changes))
	for _, ch := range changes {
		j := changeJSON{Op: string(ch.op), Path: ch.path}
		if !utf8.ValidString(ch.path) {
			j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(ch.path))
		}
		out = append(out, j)
	}
	return out
}

// quotePath makes a path one printable line: \\, \n, \t, \r, and \ooo
// for every other byte of a control or non-printable character or of
// invalid UTF-8. Spaces and printable UTF-8 stay as they are.
func quotePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && size == 1, !unicode.IsPrint(r):
			for _, c := range []byte(p[i : i+size]) {
				fmt.Fprintf(&b, `\%03o`, c)
			}
		default:
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	return b.String()
}

// sharedLayers counts the layer directories at the bottom of both chains
// (top first): their longest common suffix.
func sharedLayers(a, b []layerstore.Layer) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n].Dir == b[len(b)-1-n].Dir {
		n++
	}
	return n
}

func openTargetView(t *layerstore.Target) (*fs.View, error) {
	v, err := fs.OpenView(viewLayers(t))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.Ref, err)
	}
	return v, nil
}

// diffTargets lists what differs from t1 to t2, sorted by path.
func diffTargets(t1, t2 *layerstore.Target) ([]change, error) {
	a, err := openTargetView(t1)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := openTargetView(t2)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	shared := sharedLayers(t1.Stack, t2.Stack)
	return diffViews(a, b, len(t1.Stack)-shared, len(t2.Stack)-shared)
}

// diffViews compares two views whose layers below the top unsharedA of a
// and unsharedB of b are the same directories. A path that no unshared
// layer touches shows the same in both, so only the touched ones are
// looked at: every path an unshared layer holds, and its parents; and
// below every path an unshared layer whites out or makes opaque, and
// below every directory that only one side has, the whole subtree.
func diffViews(a, b *fs.View, unsharedA, unsharedB int) ([]change, error) {
	touched := map[string]bool{} // path -> compare its whole subtree
	for _, s := range []struct {
		v *fs.View
		n int
	}{{a, unsharedA}, {b, unsharedB}} {
		for i := 0; i < s.n; i++ {
			// The parents of every path come too: a layer's directory
			// holds the directories its entries and whiteouts are in.
			err := s.v.WalkLayer(i, func(p string, kind fs.ChangeKind, isDir bool) error {
				touched[p] = touched[p] || kind != fs.Holds
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	paths := make([]string, 0, len(touched))
	for p := range touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	d := newDiffer(a, b)
	for _, p := range paths {
		if d.coveredBy(p) {
			continue
		}
		ea, err := lookupIn(a, p)
		if err != nil {
			return nil, err
		}
		eb, err := lookupIn(b, p)
		if err != nil {
			return nil, err
		}
		if err := d.path(p, ea, eb, touched[p]); err != nil {
			return nil, err
		}
	}
	return d.result(), nil
}

// fullDiff compares every path of the two views: what diffViews must
// give, at the cost of reading both trees.
func fullDiff(a, b *fs.View) ([]change, error) {
	d := newDiffer(a, b)
	ea, err := a.Lookup("")
	if err != nil {
		return nil, err
	}
	eb, err := b.Lookup("")
	if err != nil {
		return nil, err
	}
	if err := d.path("", &ea, &eb, true); err != nil {
		return nil, err
	}
	return d.result(), nil
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// lookupIn returns the entry at p, or nil when the view has none (or
// has a non-directory on the way).
func lookupIn(v *fs.View, p string) (*fs.Entry, error) {
	e, err := v.Lookup(p)
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// differ is one comparison of two views.
type differ struct {
	a, b       *fs.View
	dirA, dirB []string        // layer directories by index
	out        map[string]byte // path -> op
	covered    map[string]bool // paths whose whole subtree was compared
	buf        [2][]byte       // content comparison buffers
}

func newDiffer(a, b *fs.View) *differ {
	d := &differ{a: a, b: b, out: map[string]byte{}, covered: map[string]bool{}}
	for _, l := range a.Layers() {
		d.dirA = append(d.dirA, l.Dir)
	}
	for _, l := range b.Layers() {
		d.dirB = append(d.dirB, l.Dir)
	}
	return d
}

// coveredBy says whether p lies in a subtree already compared whole.
func (d *differ) coveredBy(p string) bool {
	for q := p; q != ""; {
		q = parentPath(q)
		if d.covered[q] {
			return true
		}
	}
	return false
}

func (d *differ) result() []change {
	out := make([]change, 0, len(d.out))
	for p, op := range d.out {
		out = append(out, change{op: op, path: "/" + p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// path compares p, shown as ea in a and eb in b (nil: absent); with
// subtree, everything below a directory both have too.
func (d *differ) path(p string, ea, eb *fs.Entry, subtree bool) error {
	switch {
	case ea == nil && eb == nil:
		return nil
	case ea == nil:
		return d.only(side{d.b, 'A'}, p, eb)
	case eb == nil:
		return d.only(side{d.a, 'D'}, p, ea)
	}
	same, err := d.same(p, ea, eb)
	if err != nil {
		return err
	}
	if !same {
		d.out[p] = 'C'
	}
	switch {
	case ea.IsDir() && eb.IsDir():
		if subtree {
			return d.dirs(p)
		}
	case ea.IsDir():
		return d.below(side{d.a, 'D'}, p)
	case eb.IsDir():
		return d.below(side{d.b, 'A'}, p)
	}
	return nil
}

// side is one view of the comparison and the op for what only it has.
type side struct {
	v  *fs.View
	op byte
}

// only records p, which one side only has, with everything below it.
func (d *differ) only(s side, p string, e *fs.Entry) error {
	d.out[p] = s.op
	if e.IsDir() {
		return d.below(s, p)
	}
	return nil
}

func (d *differ) below(s side, p string) error {
	d.covered[p] = true
	ents, err := s.v.ReadDir(p)
	if err != nil {
		return err
	}
	for i := range ents {
		if err := d.only(s, join(p, ents[i].Name), &ents[i]); err != nil {
			return err
		}
	}
	return nil
}

// dirs compares the entries of directory p, which both sides have, and
// everything below them.
func (d *differ) dirs(p string) error {
	d.covered[p] = true
	as, err := d.a.ReadDir(p)
	if err != nil {
		return err
	}
	bs, err := d.b.ReadDir(p)
	if err != nil {
		return err
	}
	for i, j := 0, 0; i < len(as) || j < len(bs); {
		var ea, eb *fs.Entry
		switch {
		case j == len(bs) || i < len(as) && as[i].Name < bs[j].Name:
			ea, i = &as[i], i+1
		case i == len(as) || bs[j].Name < as[i].Name:
			eb, j = &bs[j], j+1
		default:
			ea, eb, i, j = &as[i], &bs[j], i+1, j+1
		}
		name := ""
		if ea != nil {
			name = ea.Name
		} else {
			name = eb.Name
		}
		if err := d.path(join(p, name), ea, eb, true); err != nil {
			return err
		}
	}
	return nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// same says whether p shows the same in both: type, mode bits, owner,
// content, symlink target, device number and xattrs; not times, link
// counts or inode numbers.
func (d *differ) same(p string, ea, eb *fs.Entry) (bool, error) {
	if d.dirA[ea.Layer] == d.dirB[eb.Layer] && ea.Ino == eb.Ino {
		return true, nil // one inode of one layer directory
	}
	if ea.Mode != eb.Mode || ea.Uid != eb.Uid || ea.Gid != eb.Gid {
		return false, nil
	}
	switch ea.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		if ea.Size != eb.Size {
			return false, nil
		}
		if eq, err := d.sameContent(p); !eq || err != nil {
			return false, err
		}
	case syscall.S_IFLNK:
		ta, err := d.a.Readlink(p)
		if err != nil {
			return false, err
		}
		tb, err := d.b.Readlink(p)
		if err != nil || ta != tb {
			return false, err
		}
	case syscall.S_IFCHR, syscall.S_IFBLK:
		if ea.Rdev != eb.Rdev {
			return false, nil
		}
	}
	xa, err := d.a.Xattrs(p)
	if err != nil {
		return false, err
	}
	xb, err := d.b.Xattrs(p)
	if err != nil {
		return false, err
	}
	return maps.EqualFunc(xa, xb, bytes.Equal), nil
}

func (d *differ) sameContent(p string) (bool, error) {
	fa, err := d.a.Open(p)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := d.b.Open(p)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	if d.buf[0] == nil {
		d.buf = [2][]byte{make([]byte, 256<<10), make([]byte, 256<<10)}
	}
	for {
		na, errA := io.ReadFull(fa, d.buf[0])
		nb, errB := io.ReadFull(fb, d.buf[1])
		if !bytes.Equal(d.buf[0][:na], d.buf[1][:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		switch {
		case errA != nil && !endA:
			return false, fmt.Errorf("reading %s: %w", p, errA)
		case errB != nil && !endB:
			return false, fmt.Errorf("reading %s: %w", p, errB)
		case endA || endB:
			return endA == endB, nil
		}
	}
}
