package whiteout

import (
	"path"
	"sort"
	"strings"
)

// Markers are the whiteouts and opaque directories of one layer as its
// tar-split records them, keyed by directory ("" for the layer root,
// slash-separated, no leading slash). They stand in for markers a copy of
// the store lost (xattrs or device nodes not copied): the union treats a
// layer's Markers as part of its directory listings.
type Markers struct {
	Opaque    map[string]bool     // directories made opaque
	Whiteouts map[string][]string // directory -> names whited out there, sorted
}

// Add records what the tar entry called name (a path as a layer tar has
// it: "./etc/.wh.motd", "etc/.wh..wh..opq", "/usr/") says, if anything.
// It reports whether name was a marker.
func (m *Markers) Add(name string) bool {
	p := cleanTarPath(name)
	if p == "" {
		return false
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch k, target := Aufs.Classify(base, 0, 0); {
	case k == Opaque:
		if m.Opaque == nil {
			m.Opaque = map[string]bool{}
		}
		m.Opaque[dir] = true
	case k == Whiteout && target != "":
		if m.Whiteouts == nil {
			m.Whiteouts = map[string][]string{}
		}
		ws := m.Whiteouts[dir]
		i := sort.SearchStrings(ws, target)
		if i == len(ws) || ws[i] != target {
			ws = append(ws, "")
			copy(ws[i+1:], ws[i:])
			ws[i] = target
		}
		m.Whiteouts[dir] = ws
	default:
		return false
	}
	return true
}

// Empty reports whether m records nothing.
func (m *Markers) Empty() bool {
	return m == nil || len(m.Opaque) == 0 && len(m.Whiteouts) == 0
}

// Len is the number of markers recorded.
func (m *Markers) Len() int {
	if m == nil {
		return 0
	}
	n := len(m.Opaque)
	for _, ws := range m.Whiteouts {
		n += len(ws)
	}
	return n
}

// IsOpaque reports whether directory dir is opaque in m.
func (m *Markers) IsOpaque(dir string) bool { return m != nil && m.Opaque[dir] }

// WhitedOut lists the names whited out in directory dir, sorted.
func (m *Markers) WhitedOut(dir string) []string {
	if m == nil {
		return nil
	}
	return m.Whiteouts[dir]
}

// Hides reports whether m whites out name in directory dir.
func (m *Markers) Hides(dir, name string) bool {
	ws := m.WhitedOut(dir)
	i := sort.SearchStrings(ws, name)
	return i < len(ws) && ws[i] == name
}

// cleanTarPath turns a tar entry name into a layer-relative path, or ""
// for one that names nothing inside the layer (the root, or a path that
// climbs out with ".."): such an entry marks nothing.
func cleanTarPath(name string) string {
	p := path.Clean("/" + name)
	if p == "/" {
		return ""
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return ""
		}
	}
	return p[1:]
}
