package layerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aufsmount/aufsmount/internal/chainid"
)

// imageConfig is the part of a 1.10+ image config that is used.
type imageConfig struct {
	Created string `json:"created"`
	RootFS  *struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created    string `json:"created"`
		CreatedBy  string `json:"created_by"`
		Comment    string `json:"comment"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

// casMeta is a checked image config.
type casMeta struct {
	created   time.Time
	diffIDs   []string // "sha256:<hex>", base first
	createdBy []string // one per diff id: its history entry's created_by
	steps     []historyStep
}

// parseImageConfig parses and checks a 1.10+ image config.
func parseImageConfig(data []byte) (casMeta, error) {
	var c imageConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return casMeta{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if c.RootFS == nil {
		return casMeta{}, errors.New("image config has no rootfs")
	}
	m := casMeta{
		created:   parseTime(c.Created),
		diffIDs:   c.RootFS.DiffIDs,
		createdBy: make([]string, len(c.RootFS.DiffIDs)),
	}
	for i, d := range m.diffIDs {
		if _, err := parseDigest(d); err != nil {
			return casMeta{}, fmt.Errorf("rootfs.diff_ids[%d]: %w", i, err)
		}
	}
	// History entries that made no layer are skipped; the others match
	// the diff ids in order, as docker history pairs them.
	n := 0
	for _, h := range c.History {
		m.steps = append(m.steps, historyStep{created: parseTime(h.Created), createdBy: h.CreatedBy, comment: h.Comment, empty: h.EmptyLayer})
		if h.EmptyLayer {
			continue
		}
		if n == len(m.createdBy) {
			break
		}
		m.createdBy[n] = cleanCreatedBy(h.CreatedBy)
		n++
	}
	return m, nil
}

func (s *store) casPath(elem ...string) string {
	return filepath.Join(append([]string{s.root, "image", s.drv.name()}, elem...)...)
}

// loadCAS reads every image config of imagedb/content/sha256.
func (s *store) loadCAS() error {
	dir := s.casPath("imagedb", "content", "sha256")
	entries, err := readDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // Docker's atomic writes leave .tmp-* files behind
		}
		if !isHexID(name) {
			s.problem(&CorruptError{File: filepath.Join(dir, name), Err: errors.New("not an image id (64 hex)")})
			continue
		}
		rec, err := s.readCASImage(filepath.Join(dir, name), name)
		if err != nil {
			s.brokenImages[name] = err
			continue
		}
		s.images[name] = rec
	}
	return nil
}

func (s *store) readCASImage(p, id string) (*imageRec, *CorruptError) {
	data, err := readFile(p, maxJSON)
	if err != nil {
		return nil, corrupt(p, err)
	}
	// The id is the digest of the config: a file that does not hash to
	// its name is not the image it claims to be.
	if err := contentMismatch(data, id, "the image id"); err != nil {
		return nil, corrupt(p, err)
	}
	m, err := parseImageConfig(data)
	if err != nil {
		return nil, corrupt(p, err)
	}
	return &imageRec{
		Image:    Image{ID: id, Created: m.created, Layers: len(m.diffIDs), Parent: s.metadataParent(id)},
		diffIDs:  m.diffIDs,
		chainIDs: chainid.All(m.diffIDs),
		history:  m.createdBy,
		steps:    m.steps,
	}, nil
}

// layerdbEntry is one checked layerdb/sha256/<chain id>/.
type layerdbEntry struct {
	cacheID, diff, parent string
	size                  int64
}

// readLayerdb reads the small files of one layerdb entry; parent is "" for
// a base layer.
func (s *store) readLayerdb(chainHex string) (layerdbEntry, *CorruptError) {
	dir := s.casPath("layerdb", "sha256", chainHex)
	if _, err := os.Lstat(dir); err != nil {
		return layerdbEntry{}, corrupt(dir, fmt.Errorf("layer sha256:%s is not in the layer store: %w", chainHex, bare(err)))
	}
	var e layerdbEntry
	var err error
	p := filepath.Join(dir, "cache-id")
	if e.cacheID, err = readSmall(p); err != nil {
		return e, corrupt(p, err)
	}
	if err := checkLayerName("cache-id", e.cacheID); err != nil {
		return e, corrupt(p, err)
	}
	p = filepath.Join(dir, "diff")
	if e.diff, err = readSmall(p); err != nil {
		return e, corrupt(p, err)
	}
	if _, err := parseDigest(e.diff); err != nil {
		return e, corrupt(p, err)
	}
	p = filepath.Join(dir, "parent")
	if e.parent, err = readSmallOptional(p); err != nil {
		return e, corrupt(p, err)
	}
	if e.parent != "" {
		if _, err := parseDigest(e.parent); err != nil {
			return e, corrupt(p, err)
		}
	}
	e.size = readSize(filepath.Join(dir, "size"))
	return e, nil
}

// casChain is a 1.10+ image's layers, top first. It walks the layer store
// from the top chain id down its parent links and checks each step
// against the image config: the chain id, the diff id and the parent.
func (s *store) casChain(img *imageRec) ([]Layer, error) {
	n := len(img.diffIDs)
	layers := make([]Layer, 0, n)
	visited := make(map[string]bool, n)
	cacheIDs := make(map[string]bool, n)
	// Read every entry first, at once; check them top down after, so the
	// error reported is the same as reading one by one would find.
	entries := make([]layerdbEntry, n)
	errs := make([]*CorruptError, n)
	forEach(n, func(i int) {
		entries[i], errs[i] = s.readLayerdb(strings.TrimPrefix(img.chainIDs[i], sha256Prefix))
	})
	for i := n - 1; i >= 0; i-- {
		chain := img.chainIDs[i]
		chainHex := strings.TrimPrefix(chain, sha256Prefix)
		visited[chain] = true
		e, cerr := entries[i], errs[i]
		if cerr != nil {
			return nil, cerr
		}
		dir := s.casPath("layerdb", "sha256", chainHex)
		if cacheIDs[e.cacheID] {
			return nil, &CorruptError{File: filepath.Join(dir, "cache-id"), Err: fmt.Errorf("cache-id %s is used by another layer of the same chain", e.cacheID)}
		}
		cacheIDs[e.cacheID] = true
		if e.diff != img.diffIDs[i] {
			return nil, &CorruptError{File: filepath.Join(dir, "diff"),
				Err: fmt.Errorf("diff is %s, but image %s's config says layer %d is %s", e.diff, ShortID(img.ID), i, img.diffIDs[i])}
		}
		pfile := filepath.Join(dir, "parent")
		switch {
		case e.parent != "" && visited[e.parent]:
			return nil, &CorruptError{File: pfile, Err: fmt.Errorf("parent %s loops back up the chain", e.parent)}
		case i == 0 && e.parent != "":
			return nil, &CorruptError{File: pfile, Err: fmt.Errorf("parent is %s, but image %s's config says this is the base layer", e.parent, ShortID(img.ID))}
		case i > 0 && e.parent != img.chainIDs[i-1]:
			want := img.chainIDs[i-1]
			got := e.parent
			if got == "" {
				got = "missing"
			}
			return nil, &CorruptError{File: pfile, Err: fmt.Errorf("parent is %s, but image %s's config makes it %s", got, ShortID(img.ID), want)}
		}
		layers = append(layers, Layer{
			ID:        e.cacheID,
			Dir:       s.diffDir(e.cacheID),
			CreatedBy: img.history[i],
			Size:      e.size,
			DiffID:    img.diffIDs[i],
			ChainID:   chain,
			TarSplit:  filepath.Join(dir, "tar-split.json.gz"),
		})
	}
	return layers, nil
}
