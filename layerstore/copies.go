package layerstore

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/beneath"
	"github.com/aufsmount/aufsmount/layertar"
	"github.com/aufsmount/aufsmount/whiteout"
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

// surveyFirst is how many of a tar's first entries the survey checks:
// a copy changes every entry's owner, mode or times alike.
const surveyFirst = 32

// surveyRare bounds the entries of each rare kind a survey keeps.
const surveyRare = 4096

// surveyRecord is one layer's survey.
type surveyRecord struct {
	Size    int64                    `json:"tar_split_size"`
	Entries int                      `json:"entries"`
	Sample  map[string]layertar.Meta `json:"sample"`
	Links   map[string]string        `json:"links,omitempty"` // a hard link's path -> its group's path
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
		parts = append(parts, fmt.Sprintf("%s of its %s entries restored from its tar-split", joinAnd(meta), thousands(c.Entries)))
	}
	kinds := make([]string, 0, len(c.Kinds))
	for k := range c.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %s recreated", thousands(c.Kinds[k]), plural(c.Kinds[k], k, k+"s")))
	}
	if c.Links > 0 {
		parts = append(parts, fmt.Sprintf("%s hard %s joined again", thousands(c.Links), plural(c.Links, "link", "links")))
	}
	if c.Xattrs > 0 {
		parts = append(parts, fmt.Sprintf("%s extended %s restored", thousands(c.Xattrs), plural(c.Xattrs, "attribute", "attributes")))
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

// chainIndex is the index of the tree chain's layers (top first) make.
func chainIndex(chain []Layer) (*layertar.Index, error) {
	xs := make([]*layertar.Index, len(chain))
	for i, l := range chain {
		x, err := LoadIndex(l)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	return layertar.Merge(xs), nil
}

// LoadRestore returns the index a view restores a layer's directory
// from: the index of each layer of from (Layer.Restore), merged.
func LoadRestore(from []Layer) (*layertar.Index, error) { return chainIndex(from) }

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
	stats := make(map[string]*unix.Stat_t, len(rec.Sample))
	gone := map[string]bool{}
	for p, m := range rec.Sample {
		var st unix.Stat_t
		if err := r.Lstat(p, &st); err != nil {
			gone[p] = beneath.Gone(err)
			continue
		}
		stats[p] = &st
		profile.See(&st, &m)
	}
	copier := profile.Copier()
	c.copier = copier
	for p, m := range rec.Sample {
		st := stats[p]
		if st == nil {
			if gone[p] && layertar.LostKind(m.Mode&unix.S_IFMT) {
				if c.Kinds == nil {
					c.Kinds = map[string]int{}
				}
				c.Kinds[layertar.TypeName(m.Mode)]++
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
			var gst unix.Stat_t
			if r.Lstat(g, &gst) == nil && (gst.Ino != st.Ino || gst.Dev != st.Dev) && gst.Size == st.Size {
				c.Links++
			}
		}
	}
	return c, nil
}

// layerSurvey returns l's survey record, from the cache when it has one
// for l's diff id; nil when l has no tar-split. Making one reads the
// whole tar-split, and keeps its index too (loadIndex).
func layerSurvey(l Layer) (*surveyRecord, error) {
	size := tarSplitSize(l)
	hex, err := parseDigest(l.DiffID)
	dir := cacheRoot("survey")
	if err == nil && dir != "" && size > 0 {
		var rec surveyRecord
		if data, err := readFile(filepath.Join(dir, hex), maxJSON); err == nil && json.Unmarshal(data, &rec) == nil && rec.Size == size {
			return &rec, nil
		}
	}
	x, err := layertar.ReadIndex(TarLayer(l))
	if errors.Is(err, layertar.ErrNoTarSplit) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the tar-split of layer %s: %w", l.ID, err)
	}
	rec := surveyOf(x, size)
	if hex != "" && dir != "" && size > 0 {
		if data, err := json.Marshal(rec); err == nil {
			writeCacheFile(dir, hex, data)
		}
		writeIndex(hex, size, x)
	}
	return rec, nil
}

// surveyOf picks the entries a survey checks from x.
func surveyOf(x *layertar.Index, size int64) *surveyRecord {
	rec := &surveyRecord{Size: size, Entries: x.Len(), Sample: map[string]layertar.Meta{}}
	dirs := make([]string, 0, len(x.Dirs))
	for d := range x.Dirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	first, rare := 0, 0
	for _, d := range dirs {
		for _, m := range x.Dirs[d] {
			p := path.Join(d, m.Name)
			// Rare: what a copy drops or alters apart, and the mode bits
			// a umask or a copy without root drops.
			isRare := layertar.LostKind(m.Mode&unix.S_IFMT) || len(m.Xattrs) > 0 || m.Link != "" || x.Links[p] > 0 || m.Mode&0o7022 != 0
			switch {
			case isRare && rare < surveyRare:
				rare++
			case !isRare && first < surveyFirst:
				first++
			default:
				continue
			}
			rec.Sample[p] = m
			if g, _ := x.Group(p, &m); g != p || x.Links[p] > 0 {
				if rec.Links == nil {
					rec.Links = map[string]string{}
				}
				rec.Links[p] = g
			}
		}
	}
	return rec
}

// LoadIndex returns the index of the tar-split at tarSplit, which
// records the layer of diff id diffID: from the cache where
// RecoverCopy left it, otherwise read again.
func LoadIndex(l Layer) (*layertar.Index, error) {
	size := tarSplitSize(l)
	hex, err := parseDigest(l.DiffID)
	if dir := cacheRoot("index"); err == nil && dir != "" {
		if data, err := readFile(filepath.Join(dir, hex), maxIndex); err == nil {
			var c indexFile
			if gob.NewDecoder(bytes.NewReader(data)).Decode(&c) == nil && c.Size == size && c.Index != nil {
				return c.Index, nil
			}
		}
	}
	x, err := layertar.ReadIndex(TarLayer(l))
	if err != nil {
		return nil, fmt.Errorf("reading the tar-split of layer %s: %w", l.ID, err)
	}
	if hex != "" {
		writeIndex(hex, size, x)
	}
	return x, nil
}

// maxIndex bounds a cached index: about 100 bytes an entry.
const maxIndex = 1 << 30

// indexFile is a cached index, with the size of the tar-split it came
// from.
type indexFile struct {
	Size  int64
	Index *layertar.Index
}

var indexWrites sync.Mutex

func writeIndex(hex string, size int64, x *layertar.Index) {
	dir := cacheRoot("index")
	if dir == "" || size == 0 {
		return
	}
	var buf bytes.Buffer
	if gob.NewEncoder(&buf).Encode(indexFile{Size: size, Index: x}) != nil {
		return
	}
	indexWrites.Lock()
	defer indexWrites.Unlock()
	writeCacheFile(dir, hex, buf.Bytes())
}

// tarSplitSize is the size of l's tar-split file, or 0.
func tarSplitSize(l Layer) int64 {
	var st unix.Stat_t
	if l.TarSplit == "" || unix.Lstat(l.TarSplit, &st) != nil {
		return 0
	}
	return st.Size
}

// cacheRoot is the per-user cache directory called name, or "" when
// caching is off.
func cacheRoot(name string) string {
	d := cacheDir()
	if d == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(d), name)
}

// writeCacheFile stores data at dir/name atomically; failing is no
// error: the cache only saves time.
func writeCacheFile(dir, name string, data []byte) {
	if err := os.MkdirAll(dir, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
		return
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(dir, name)) != nil {
		os.Remove(f.Name())
	}
}

// thousands writes n with commas: 2,413.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// joinAnd joins words as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
