package layerstore

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// A copy of a store made without root or without -a loses metadata in
// known ways (docs/copies.md); an image layer's tar-split records all of
// it. Telling whether a layer lost any must be cheap, since an intact
// store must not pay for it: a layer's survey record, kept per user by
// diff id like the markers, holds the first entries of its tar and every
// entry a copy drops or alters apart (devices, fifos, hard links, entries
// with xattrs). Checking those against the directory decides. Only a
// layer that lost something has its whole index (every header) loaded,
// by the view, on first use.

// What a survey keeps of a layer's entries: the first few; a few of
// each class of mode bits a umask or a copy without root drops (setuid,
// setgid, sticky, group and other write); and a few of each kind a copy
// drops or alters apart (hard links, entries with xattrs, devices and
// fifos). A copy loses alike for every entry, so a few show it.
const (
	surveyFirst = 8
	surveyEach  = 4
)

// surveyVersion is the form of a survey record: a record of another is
// made anew.
const surveyVersion = 1

// surveyRecord is one layer's survey.
type surveyRecord struct {
	Version int               `json:"version"`
	Size    int64             `json:"tar_split_size"`
	Entries int               `json:"entries"`
	Sample  []layertar.Meta   `json:"sample"`          // Name is the path
	Links   map[string]string `json:"links,omitempty"` // a hard link's path -> its group's path
	// Kinds counts the entries of each kind a copy drops (devices,
	// fifos) in the whole tar, for what the view recreates.
	Kinds map[string]int `json:"kinds,omitempty"`
}

// CopyLoss is what an image layer's directory lost to a copy, as its
// survey finds it (Store.RecoverCopy).
type CopyLoss struct {
	Layer   Layer
	Entries int // entries the tar-split records, restored where they lost
	// Owners, Modes and Times say which of the entries' metadata the
	// surveyed entries lost.
	Owners, Modes, Times bool
	Xattrs               int            // extended attributes lost
	Kinds                map[string]int // entries dropped, by kind ("fifo", "character device" ...)
	Links                int            // hard links split into files
	copier               layertar.Copier
}

// Lost reports whether the directory lost anything.
func (c CopyLoss) Lost() bool {
	return c.Owners || c.Modes || c.Times || c.Xattrs > 0 || len(c.Kinds) > 0 || c.Links > 0
}

func (c CopyLoss) String() string {
	var parts []string
	var meta []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Owners, "owners"}, {c.Modes, "modes"}, {c.Times, "times"}} {
		if x.on {
			meta = append(meta, x.name)
		}
	}
	if len(meta) > 0 {
		parts = append(parts, fmt.Sprintf("%s of its %s entries restored from its tar-split", words.JoinAnd(meta), words.Thousands(c.Entries)))
	}
	kinds := make([]string, 0, len(c.Kinds))
	for k := range c.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %s recreated", words.Thousands(c.Kinds[k]), words.Plural(c.Kinds[k], k, k+"s")))
	}
	if c.Links > 0 {
		parts = append(parts, fmt.Sprintf("%s hard %s joined again", words.Thousands(c.Links), words.Plural(c.Links, "link", "links")))
	}
	if c.Xattrs > 0 {
		parts = append(parts, fmt.Sprintf("%s extended %s restored", words.Thousands(c.Xattrs), words.Plural(c.Xattrs, "attribute", "attributes")))
	}
	if len(meta) == 0 && len(parts) > 0 {
		parts[0] += " from its tar-split"
	}
	return fmt.Sprintf("layer %s (%s): %s (copied without root or -a?)", c.Layer.ID, c.Layer.Dir, strings.Join(parts, "; "))
}

// RecoverCopy surveys each image layer of t's Stack that has a tar-split
// against its directory, and marks those that lost metadata to a copy
// (Layer.Restore): a view of them serves what the tar-split records
// where a copy explains the difference. What each lost is returned.
func (s *Store) RecoverCopy(t *Target) ([]CopyLoss, error) {
	found := make([]CopyLoss, len(t.Stack))
	errs := make([]error, len(t.Stack))
	from := make([][]Layer, len(t.Stack))
	forEach(len(t.Stack), func(i int) {
		l := t.Stack[i]
		var rec *surveyRecord
		var err error
		if from[i] = wholeChain(t, l); from[i] != nil {
			rec, err = chainSurvey(from[i])
		} else if l.TarSplit != "" && l.DiffID != "" {
			from[i] = []Layer{l}
			rec, err = layerSurvey(l)
		}
		if err != nil || rec == nil {
			errs[i] = err
			return
		}
		found[i], errs[i] = surveyLayer(l, rec)
		keepIndex(l, found[i].Lost())
	})
	var out []CopyLoss
	for i, c := range found {
		if errors.Is(errs[i], layertar.ErrNoTarSplit) {
			continue // the store lost it: nothing to restore from
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		if c.Lost() {
			t.Stack[i].Restore = &Restore{From: from[i], Copier: c.copier}
			out = append(out, c)
		}
	}
	return out, nil
}

// wholeChain is, for a layer of t's Stack that is a whole tree (vfs, an
// overlay v1 image's root/), the image layers it holds, top first; nil
// for a layer of a stacking driver, or a chain not every layer of which
// has a tar-split.
func wholeChain(t *Target, l Layer) []Layer {
	if l.Encoding != whiteout.None {
		return nil
	}
	for j, c := range t.Layers {
		if c.Dir != l.Dir {
			continue
		}
		chain := t.Layers[j:]
		for _, c := range chain {
			if c.TarSplit == "" || c.DiffID == "" {
				return nil
			}
		}
		return chain
	}
	return nil
}

// chainSurvey is the survey of a whole tree: its chain's indexes merged.
// Whole trees are rare (vfs, overlay v1), and what a lower layer records
// can be undone above, so their survey reads every index.
func chainSurvey(chain []Layer) (*surveyRecord, error) {
	x, err := chainIndex(chain)
	if err != nil {
		return nil, err
	}
	return surveyOf(x, 0), nil
}

// chainIndex is the index of the tree chain's layers (top first) make,
// with what the driver keeps of what a layer copies from below.
func chainIndex(chain []Layer) (*layertar.Index, error) {
	xs := make([]*layertar.Index, len(chain))
	for i, l := range chain {
		x, err := LoadIndex(l)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	keep := func(string) bool { return true }
	if d := driverByName(chain[0].Driver); d != nil {
		keep = d.keepsXattr
	}
	return layertar.Merge(xs, keep), nil
}

// surveyLayer checks the entries of rec against l's directory.
func surveyLayer(l Layer, rec *surveyRecord) (CopyLoss, error) {
	c := CopyLoss{Layer: l, Entries: rec.Entries}
	r, err := beneath.OpenMeta(l.Dir)
	if err != nil {
		return c, &CorruptError{File: l.Dir, Err: err}
	}
	defer r.Close()
	profile, err := layertar.ProfileOf(r)
	if err != nil {
		return c, &CorruptError{File: l.Dir, Err: err}
	}
	paths := make([]string, 0, len(rec.Sample)+len(rec.Links))
	for _, m := range rec.Sample {
		paths = append(paths, m.Name)
	}
	for _, g := range rec.Links {
		paths = append(paths, g)
	}
	stats := statAll(r, paths)
	for _, m := range rec.Sample {
		if st := stats[m.Name]; st != nil {
			profile.See(st, &m)
		}
	}
	copier := profile.Copier()
	c.copier = copier
	missing := map[string]int{}
	for _, m := range rec.Sample {
		p := m.Name
		st := stats[p]
		if st == nil {
			if layertar.LostKind(m.Mode & unix.S_IFMT) {
				missing[layertar.TypeName(m.Mode)]++
			}
			continue
		}
		if st.Mode&unix.S_IFMT != m.Mode&unix.S_IFMT {
			continue
		}
		lost := copier.Loss(st, &m)
		c.Owners = c.Owners || lost.Owner
		c.Modes = c.Modes || lost.Mode
		c.Times = c.Times || lost.Mtime
		for name := range m.Xattrs {
			// A value that differs is a change, served as it is.
			if _, err := r.GetXattr(p, name); err != nil {
				c.Xattrs++
			}
		}
		if g, ok := rec.Links[p]; ok && g != p {
			if gst := stats[g]; gst != nil && (gst.Ino != st.Ino || gst.Dev != st.Dev) && gst.Size == st.Size {
				c.Links++
			}
		}
	}
	for k, n := range missing {
		if c.Kinds == nil {
			c.Kinds = map[string]int{}
		}
		// Every one of a kind the survey saw gone: the copy dropped the
		// kind, and the view recreates each of the tar's.
		if total := rec.Kinds[k]; n == min(total, surveyEach) {
			n = total
		}
		c.Kinds[k] = n
	}
	return c, nil
}

// statAll stats paths in r, a directory at a time; a path that cannot be
// stat'ed is left out.
func statAll(r *beneath.Root, paths []string) map[string]*unix.Stat_t {
	byDir := map[string][]string{}
	for _, p := range paths {
		d, name := path.Split(p)
		byDir[strings.TrimSuffix(d, "/")] = append(byDir[strings.TrimSuffix(d, "/")], name)
	}
	out := make(map[string]*unix.Stat_t, len(paths))
	for d, names := range byDir {
		fd, err := r.OpenDir(d)
		if err != nil {
			continue
		}
		for _, name := range names {
			var st unix.Stat_t
			if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				out[path.Join(d, name)] = &st
			}
		}
		unix.Close(fd)
	}
	return out
}

// surveyOf picks the entries a survey checks from x.
func surveyOf(x *layertar.Index, size int64) *surveyRecord {
	rec := &surveyRecord{Version: surveyVersion, Size: size, Entries: x.Len()}
	// Shallow directories first: the sample then shares few of them,
	// and the survey opens few.
	dirs := make([]string, 0, len(x.Dirs))
	for d := range x.Dirs {
		dirs = append(dirs, d)
	}
	depth := func(d string) int {
		if d == "" {
			return 0
		}
		return strings.Count(d, "/") + 1
	}
	sort.Slice(dirs, func(i, j int) bool {
		if a, b := depth(dirs[i]), depth(dirs[j]); a != b {
			return a < b
		}
		return dirs[i] < dirs[j]
	})
	taken := map[string]int{}
	for _, d := range dirs {
		for _, m := range x.Dirs[d] {
			p := path.Join(d, m.Name)
			class := "first"
			switch g, n := x.Group(p, &m); {
			case layertar.LostKind(m.Mode & unix.S_IFMT):
				class = layertar.TypeName(m.Mode)
				if rec.Kinds == nil {
					rec.Kinds = map[string]int{}
				}
				rec.Kinds[class]++
			case n > 1 && g != p:
				class = "link"
				if rec.Links == nil {
					rec.Links = map[string]string{}
				}
			case len(m.Xattrs) > 0:
				class = "xattrs"
			case m.Mode&0o7022 != 0:
				class = fmt.Sprintf("mode %o", m.Mode&0o7022)
			}
			limit := surveyEach
			if class == "first" {
				limit = surveyFirst
			}
			if taken[class] >= limit {
				continue
			}
			taken[class]++
			s := m
			s.Name = p
			rec.Sample = append(rec.Sample, s)
			if class == "link" {
				g, _ := x.Group(p, &m)
				rec.Links[p] = g
			}
		}
	}
	return rec
}
