package layerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// graphJSON is the part of a pre-1.10 graph/<id>/json that is used.
type graphJSON struct {
	ID              string `json:"id"`
	Parent          string `json:"parent"`
	Created         string `json:"created"`
	Comment         string `json:"comment"`
	ContainerConfig struct {
		Cmd json.RawMessage `json:"Cmd"`
	} `json:"container_config"`
}

// errOwnParent is an image whose parent is itself: readable metadata that
// contradicts itself, which no other file can settle (recover.go).
var errOwnParent = errors.New("image is its own parent (cycle)")

// graphMeta is a checked graph/<id>/json.
type graphMeta struct {
	id, parent string
	created    time.Time
	createdBy  string
	cmd        string // container_config.Cmd joined, as docker history shows it
	comment    string
}

// parseGraphJSON parses and checks a graph/<id>/json.
func parseGraphJSON(data []byte) (graphMeta, error) {
	var j graphJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return graphMeta{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if err := checkID("id", j.ID); err != nil {
		return graphMeta{}, err
	}
	if j.Parent != "" {
		if err := checkID("parent", j.Parent); err != nil {
			return graphMeta{}, err
		}
		if j.Parent == j.ID {
			return graphMeta{}, errOwnParent
		}
	}
	return graphMeta{
		id:        j.ID,
		parent:    j.Parent,
		created:   parseTime(j.Created),
		createdBy: cleanCreatedBy(joinCmd(j.ContainerConfig.Cmd)),
		cmd:       joinCmd(j.ContainerConfig.Cmd),
		comment:   j.Comment,
	}, nil
}

// joinCmd renders container_config.Cmd the way docker history does. Old
// images have it null or a plain string; it is only shown, so anything
// else is dropped rather than failing the image.
func joinCmd(raw json.RawMessage) string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, " ")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// cleanCreatedBy drops the shell wrapper Docker put around build steps.
func cleanCreatedBy(s string) string {
	s = strings.TrimPrefix(s, "/bin/sh -c ")
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "#(nop)")
	return strings.TrimSpace(s)
}

// parseTime reads the RFC 3339 times Docker writes; a time is only shown,
// so a bad one is zero rather than an error.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (s *store) graphPath(id, file string) string {
	return filepath.Join(s.root, "graph", id, file)
}

// loadGraph reads every graph/<id> of a pre-1.10 store: each one is an
// image, tagged or not.
func (s *store) loadGraph() error {
	dir := filepath.Join(s.root, "graph")
	entries, err := readDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue // graph/_tmp and the like: Docker's scratch space
		}
		if !isHexID(name) {
			s.problem(&CorruptError{File: filepath.Join(dir, name), Err: errors.New("not an image id (64 hex)")})
			continue
		}
		rec, err := s.readGraphImage(name)
		if err != nil {
			s.brokenImages[name] = err
			s.unreadable[name] = !errors.Is(err, errOwnParent)
			continue
		}
		s.images[name] = rec
		s.graphRecs[name] = rec
	}
	s.graphDepths()
	return nil
}

func (s *store) readGraphImage(id string) (*imageRec, *CorruptError) {
	p := s.graphPath(id, "json")
	data, err := readFile(p, maxJSON)
	if err != nil {
		return nil, corrupt(p, err)
	}
	m, err := parseGraphJSON(data)
	if err != nil {
		return nil, corrupt(p, err)
	}
	if m.id != id {
		return nil, corrupt(p, fmt.Errorf("id %s does not match its directory %s", m.id, id))
	}
	rec := &imageRec{
		Image:      Image{ID: id, Created: m.created},
		parent:     m.parent,
		parentFile: p,
		createdBy:  m.createdBy,
		steps:      []historyStep{{created: m.created, createdBy: m.cmd, comment: m.comment}},
	}
	// A graph/<id>/parent file, where present, overrides the json.
	pp := s.graphPath(id, "parent")
	parent, err := readSmallOptional(pp)
	if err != nil {
		return nil, corrupt(pp, err)
	}
	if parent != "" {
		if err := checkID("parent", parent); err != nil {
			return nil, corrupt(pp, err)
		}
		if parent == id {
			return nil, corrupt(pp, errOwnParent)
		}
		rec.parent, rec.parentFile = parent, pp
	}
	rec.Parent = rec.parent
	return rec, nil
}

// graphDepths counts each image's layers along its parents, and moves
// every image whose ancestry is broken (a missing parent, a loop, a
// broken ancestor) to brokenImages. Each image is walked once: linear in
// the number of images however long the chains.
func (s *store) graphDepths() {
	for _, id := range sortedKeys(s.images) {
		if s.images[id] == nil || s.images[id].Layers > 0 {
			continue
		}
		var path []*imageRec
		onPath := map[string]int{}
		var fail *CorruptError
		culprits := 0 // path[len(path)-culprits:] are at fault themselves
		loop := false // the culprits are a loop
		below := 0    // layers under the last image of path
		for cur := id; ; {
			r := s.images[cur]
			if r == nil {
				if e, ok := s.brokenImages[cur]; ok {
					fail = e
				} else {
					last := path[len(path)-1]
					fail = &CorruptError{File: last.parentFile, Err: fmt.Errorf("parent %s is not in the store", cur)}
					culprits = 1
				}
				break
			}
			if i, ok := onPath[cur]; ok {
				last := path[len(path)-1]
				fail = &CorruptError{File: last.parentFile, Err: fmt.Errorf("parent chain loops back to %s", cur)}
				culprits = len(path) - i
				loop = true
				break
			}
			if r.Layers > 0 {
				below = r.Layers
				break
			}
			onPath[cur] = len(path)
			path = append(path, r)
			if r.parent == "" {
				break
			}
			cur = r.parent
		}
		for i := len(path) - 1; i >= 0; i-- {
			r := path[i]
			if fail == nil {
				below++
				r.Layers = below
				continue
			}
			delete(s.images, r.ID)
			switch {
			case loop && i >= len(path)-culprits:
				// Seen from an image of the loop, the fault is the link
				// that comes back to it: its predecessor's parent, which
				// for the image the walk entered by is fail itself. The
				// walk's start depends only on the order of the ids.
				pred := path[len(path)-1]
				if i > len(path)-culprits {
					pred = path[i-1]
				}
				s.brokenImages[r.ID] = &CorruptError{File: pred.parentFile, Err: fmt.Errorf("parent chain loops back to %s", r.ID)}
			case i >= len(path)-culprits:
				s.brokenImages[r.ID] = fail
			default:
				s.brokenImages[r.ID] = &CorruptError{File: fail.File, Err: fmt.Errorf("%w (in the chain of image %s)", fail.Err, ShortID(r.ID))}
			}
		}
	}
}

// graphChain is a pre-1.10 image's layers, top first: the image's own id
// and then its parents.
func (s *store) graphChain(img *imageRec) ([]Layer, error) {
	var layers []Layer
	seen := map[string]bool{}
	file := ""
	for cur := img.ID; cur != ""; {
		r := s.images[cur]
		if r == nil {
			if e, ok := s.brokenImages[cur]; ok {
				return nil, e
			}
			return nil, &CorruptError{File: file, Err: fmt.Errorf("parent %s is not in the store", cur)}
		}
		if seen[cur] {
			return nil, &CorruptError{File: file, Err: fmt.Errorf("parent chain loops back to %s", cur)}
		}
		seen[cur] = true
		layers = append(layers, Layer{
			ID:        cur,
			Dir:       s.diffDir(cur),
			CreatedBy: r.createdBy,
			Size:      readSize(s.graphPath(cur, "layersize")),
			TarSplit:  s.graphPath(cur, "tar-data.json.gz"),
		})
		file = r.parentFile
		cur = r.parent
	}
	return layers, nil
}
