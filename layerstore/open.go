package layerstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// store is the images and containers of one storage driver of a Docker
// root directory: what image/<driver>/ (or, for aufs, the pre-1.10
// graph/) holds, and the containers whose config names the driver. It
// is safe for concurrent use once opened: opening reads the metadata of
// every image and container, and later calls only read.
type store struct {
	root   string
	layout Layout
	drv    driver
	// In a host's filesystem: the name of the store it is part of, and
	// its root relative to the host's (binds are relative to that).
	name, rel string

	images       map[string]*imageRec     // by id: images whose own metadata is sound
	brokenImages map[string]*CorruptError // by id: images left out, and why

	containers       map[string]*containerRec
	brokenContainers map[string]*CorruptError
	names            map[string]string // container name -> id
	brokenNames      map[string]string // name -> id of a broken container

	tags     map[string]tagEntry // by normalised reference
	tagFile  string
	problems []error

	// pre-1.10, for recovering chains (recover.go): every image whose
	// graph json could be read, sound or not, and those whose could not.
	graphRecs  map[string]*imageRec
	unreadable map[string]bool

	// containers/storage (cstore.go): layers.json, by layer id.
	csLayers   map[string]*csLayer
	layersFile string

	cdImages map[string]*cdImage // containerd (containerd_images.go): by image id

	arcImages map[string]*arcImage // an image archive (archive_images.go): by image id
	arcOrder  []arcEntry           // its manifest.json's or index.json's entries, in order (archive_ref.go)
}

// imageRec is an image and what is needed to build its chain.
type imageRec struct {
	Image

	// pre-1.10
	parent     string
	parentFile string // the file that names parent: graph json, or graph/<id>/parent
	createdBy  string

	// 1.10+
	diffIDs  []string
	chainIDs []string
	history  []string // created_by of each layer, base first

	// Both: what docker history shows; before 1.10 the image's one step.
	steps []historyStep

	// containers/storage: its top layer's id, and its manifest's digest.
	top, digest string
}

// openDriver reads the tag store and every image's and container's
// metadata of driver drv of the root abs, in the given layout. A tag store
// that cannot be parsed is a *CorruptError naming it. An image or
// container whose own metadata is broken does not fail it: it is left
// out of Images and Containers and recorded in Problems.
func openDriver(abs string, drv driver, layout Layout) (*store, error) {
	s := &store{
		root:             abs,
		layout:           layout,
		drv:              drv,
		images:           map[string]*imageRec{},
		brokenImages:     map[string]*CorruptError{},
		containers:       map[string]*containerRec{},
		brokenContainers: map[string]*CorruptError{},
		names:            map[string]string{},
		brokenNames:      map[string]string{},
		tags:             map[string]tagEntry{},
		graphRecs:        map[string]*imageRec{},
		unreadable:       map[string]bool{},
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *store) load() error {
	var err error
	switch s.layout {
	case LayoutContainers:
		err = s.loadCS() // its images' names and its containers too
	case LayoutContainerd:
		err = s.loadCD() // the same
	case LayoutArchive:
		err = s.loadArc() // its images' names too
	case LayoutCAS:
		s.tagFile = s.casPath("repositories.json")
		err = s.loadCAS()
	default:
		s.tagFile = filepath.Join(s.root, "repositories-aufs")
		err = s.loadGraph()
	}
	if err != nil {
		return err
	}
	for _, id := range sortedKeys(s.brokenImages) {
		s.problem(s.brokenImages[id])
	}
	if s.layout == LayoutGraph || s.layout == LayoutCAS {
		if err := s.loadTags(); err != nil {
			return err
		}
		if err := s.loadContainers(); err != nil {
			return err
		}
	}
	s.markIntermediate()
	for _, id := range sortedKeys(s.containers) {
		c := s.containers[id]
		c.Image = ShortID(c.ImageID)
		if img := s.images[c.ImageID]; img != nil && len(img.Names) > 0 {
			c.Image = img.Names[0]
		}
		if c.Name != "" {
			if _, dup := s.names[c.Name]; !dup {
				s.names[c.Name] = id
			}
		}
	}
	sort.SliceStable(s.problems, func(i, j int) bool {
		return problemFile(s.problems[i]) < problemFile(s.problems[j])
	})
	return nil
}

func problemFile(err error) string {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce.File
	}
	return ""
}

// loadTags reads the tag store; it is optional (a store with no tags has
// none), but one that cannot be parsed fails Open.
func (s *store) loadTags() error {
	data, err := readFile(s.tagFile, maxJSON)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return corrupt(s.tagFile, err)
	}
	parse := parseGraphTags
	if s.layout == LayoutCAS {
		parse = parseCASTags
	}
	entries, err := parse(data)
	if err != nil {
		return corrupt(s.tagFile, err)
	}
	for _, e := range entries {
		switch {
		case e.err != nil:
		case s.images[e.id] != nil:
		case s.brokenImages[e.id] != nil:
			// Resolve reports the image's own fault; Problems has it already.
		default:
			e.err = fmt.Errorf("tag %s: image %s is not in the store", e.display, e.id)
		}
		if e.err != nil {
			s.problem(&CorruptError{File: s.tagFile, Err: e.err})
		}
		if e.key == "" {
			continue
		}
		if prev, dup := s.tags[e.key]; dup {
			if prev.id != e.id {
				s.problem(&CorruptError{File: s.tagFile, Err: fmt.Errorf("tag %s is given twice, for images %s and %s", e.display, ShortID(prev.id), ShortID(e.id))})
			}
			continue
		}
		s.tags[e.key] = e
		if img := s.images[e.id]; img != nil && e.err == nil {
			img.Names = append(img.Names, e.display)
		}
	}
	for _, img := range s.images {
		sort.Strings(img.Names)
	}
	return nil
}

func (s *store) problem(err error) { s.problems = append(s.problems, err) }
