package changes

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"sort"
	"strings"
	"syscall"

	"github.com/aufsmount/aufsmount/fs"
)

// Kind is what became of a path. The values are those of
// containers/storage's pkg/archive (ChangeModify, ChangeAdd,
// ChangeDelete).
type Kind int

const (
	Modified Kind = iota // in both, changed
	Added                // in the second only
	Deleted              // in the first only
)

// String is the letter docker diff prints: "C", "A" or "D".
func (k Kind) String() string {
	switch k {
	case Modified:
		return "C"
	case Added:
		return "A"
	case Deleted:
		return "D"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Change is one path that differs.
type Change struct {
	Path string // with a leading "/", as it is (not quoted)
	Kind Kind
}

// String is the change as docker diff prints it, the path unquoted.
func (c Change) String() string { return c.Kind.String() + " " + c.Path }

// sorted turns a set of changes by path (no leading slash) into the list
// sorted by path.
func sorted(set map[string]Kind) []Change {
	out := make([]Change, 0, len(set))
	for p, k := range set {
		out = append(out, Change{Path: "/" + p, Kind: k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// lookupIn returns the entry at p, or nil when the view has none (or
// has a non-directory on the way, or is nil).
func lookupIn(v *fs.View, p string) (*fs.Entry, error) {
	if v == nil {
		return nil, nil
	}
	e, err := v.Lookup(p)
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
