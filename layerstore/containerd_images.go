package layerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aufsmount/aufsmount/internal/chainid"
)

// A containerd image is a name whose target is a manifest, or an index
// of manifests of which this platform's is taken; the manifest names the
// config, whose diff ids give the chain ids, each the key of a committed
// snapshot of the namespace (docs/containerd.md). Its id is the target's
// digest, as Docker 29 and nerdctl show it.

// cdImage is what a containerd image is made of, beyond imageRec.
type cdImage struct {
	manifest string // the digest of the manifest taken
	config   string // the digest of its config
	layers   []ociDescriptor
	unpacked bool // its top snapshot is in the part's snapshotter
}

// ociDescriptor is an OCI content descriptor.
type ociDescriptor struct {
	MediaType string       `json:"mediaType"`
	Digest    string       `json:"digest"`
	Size      int64        `json:"size"`
	Platform  *ociPlatform `json:"platform,omitempty"`
}

type ociPlatform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// ociManifest is an image manifest or an index, OCI's or Docker's.
type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Config    *ociDescriptor  `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
	Manifests []ociDescriptor `json:"manifests"`
}

// maxIndexDepth bounds indexes of indexes.
const maxIndexDepth = 4

// loadCD reads the part's namespace: its images with their names, and
// its containers (a Docker root's too).
func (s *store) loadCD() error {
	d := s.cd()
	ns := d.root.meta[d.ns]
	s.tagFile = d.root.metaFile
	s.cdImages = map[string]*cdImage{}
	first := d.root.snapshottersOf(ns)[0] == d.snapshotter
	byName := map[string]string{} // image name -> id, for containers
	for _, e := range ns.images {
		id, err := parseDigest(e.digest)
		if err != nil {
			s.problem(corrupt(s.tagFile, fmt.Errorf("namespace %s: image %q: target: %w", d.ns, clip(e.name), err)))
			continue
		}
		if _, seen := s.cdImages[id]; !seen && s.brokenImages[id] == nil {
			s.loadCDImage(ns, id, e, first)
		}
		if s.images[id] == nil && s.brokenImages[id] == nil {
			continue // another snapshotter's
		}
		byName[e.name] = id
		s.addCDName(e.name, id)
	}
	for _, img := range s.images {
		sort.Strings(img.Names)
	}
	return s.loadCDContainers(ns, byName)
}

// loadCDImage reads image id (the target of name e), and keeps it where
// it is unpacked in this part's snapshotter, or is unpacked nowhere and
// this is the namespace's first.
func (s *store) loadCDImage(ns *cdNamespace, id string, e cdImageEntry, first bool) {
	d := s.cd()
	ci, rec, cerr := s.readCDImage(ns, e.digest)
	if cerr != nil {
		s.brokenImages[id] = cerr
		return
	}
	if !ci.unpacked && (!first || s.unpackedElsewhere(ns, rec)) {
		return
	}
	rec.ID, rec.Namespace = id, d.ns
	if rec.Created.IsZero() {
		rec.Created = e.created
	}
	if !ci.unpacked {
		// Served from its blobs (cdBlobChain), unless one is gone too.
		rec.Note = fmt.Sprintf("not unpacked (no %s snapshot holds its top layer: imported without unpacking, or its snapshots removed): served from its layer blobs", d.snapshotter)
		if gone := s.cdMissingBlob(ns, ci); gone != "" {
			rec.Note = fmt.Sprintf("not unpacked (no %s snapshot holds its top layer), and its layer blob %s is gone too: it cannot be mounted", d.snapshotter, gone)
		}
	}
	s.cdImages[id] = ci
	s.images[id] = rec
}

// unpackedElsewhere says whether another snapshotter of the namespace
// holds rec's top layer.
func (s *store) unpackedElsewhere(ns *cdNamespace, rec *imageRec) bool {
	for _, sn := range s.cd().root.snapshottersOf(ns) {
		if _, ok := ns.snapshots[sn][rec.chainIDs[len(rec.chainIDs)-1]]; ok {
			return true
		}
	}
	return false
}

// readCDImage reads the manifest (through an index: this platform's),
// and the config, of the image whose target is digest.
func (s *store) readCDImage(ns *cdNamespace, digest string) (*cdImage, *imageRec, *CorruptError) {
	d := s.cd()
	m, mdgst, cerr := s.cdManifestOf(ns, digest, 0)
	if cerr != nil {
		return nil, nil, cerr
	}
	if m.Config == nil {
		return nil, nil, corrupt(s.cdBlobPath(mdgst), errors.New("manifest has no config"))
	}
	data, p, cerr := s.cdBlob(ns, m.Config.Digest)
	if cerr != nil {
		return nil, nil, cerr
	}
	cfg, err := parseImageConfig(data)
	if err != nil {
		return nil, nil, corrupt(p, err)
	}
	if len(cfg.diffIDs) != len(m.Layers) {
		return nil, nil, corrupt(s.cdBlobPath(mdgst), fmt.Errorf("manifest has %d layers, but its config %d diff ids", len(m.Layers), len(cfg.diffIDs)))
	}
	rec := &imageRec{
		Image:    Image{Created: cfg.created, Layers: len(cfg.diffIDs)},
		diffIDs:  cfg.diffIDs,
		chainIDs: chainid.All(cfg.diffIDs),
		history:  cfg.createdBy,
		steps:    cfg.steps,
		digest:   mdgst,
	}
	ci := &cdImage{manifest: mdgst, config: m.Config.Digest, layers: m.Layers, unpacked: true}
	if n := len(rec.chainIDs); n > 0 {
		_, ci.unpacked = ns.snapshots[d.snapshotter][rec.chainIDs[n-1]]
	}
	return ci, rec, nil
}

// cdManifestOf is the manifest the blob digest is, or that it gives for
// the platform when it is an index; mdgst is that manifest's digest.
func (s *store) cdManifestOf(ns *cdNamespace, digest string, depth int) (m ociManifest, mdgst string, _ *CorruptError) {
	data, p, cerr := s.cdBlob(ns, digest)
	if cerr != nil {
		return m, "", cerr
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, "", corrupt(p, fmt.Errorf("invalid JSON: %w", err))
	}
	if m.Manifests == nil || m.Config != nil {
		return m, digest, nil
	}
	if depth >= maxIndexDepth {
		return m, "", corrupt(p, errors.New("indexes nest too deep"))
	}
	want := s.cd().root.platform
	ps := make([]*ociPlatform, len(m.Manifests))
	for i, e := range m.Manifests {
		ps[i] = e.Platform
	}
	i, offered := want.choose(ps, func(i int) bool { // a platform that was not pulled is not here
		return ns.blobs[m.Manifests[i].Digest] && exists(s.cdBlobPath(m.Manifests[i].Digest))
	})
	if i >= 0 {
		return s.cdManifestOf(ns, m.Manifests[i].Digest, depth+1)
	}
	if len(offered) == 0 {
		return m, "", corrupt(p, fmt.Errorf("index has no manifest for %s whose blob is here, nor for any other platform", want))
	}
	return m, "", corrupt(p, fmt.Errorf("index has no manifest for %s whose blob is here (it has %s: choose with --platform)", want, strings.Join(offered, ", ")))
}

// cdBlobPath is the content store's file of digest, which must have been
// checked to be a sha256 digest; "" otherwise.
func (s *store) cdBlobPath(digest string) string {
	h, err := parseDigest(digest)
	if err != nil {
		return ""
	}
	return filepath.Join(s.cd().root.dir, cdContentDir, "blobs", "sha256", h)
}

// cdBlob reads the blob digest of the namespace's content, checked to be
// a sha256 digest before it becomes a path, and to hash to it.
func (s *store) cdBlob(ns *cdNamespace, digest string) ([]byte, string, *CorruptError) {
	h, err := parseDigest(digest)
	if err != nil {
		return nil, "", corrupt(s.tagFile, fmt.Errorf("namespace %s: blob %w", s.cd().ns, err))
	}
	p := s.cdBlobPath(digest)
	if ns != nil && !ns.blobs[digest] {
		return nil, p, corrupt(p, fmt.Errorf("blob %s is not in namespace %s's content", ShortID(h), s.cd().ns))
	}
	data, err := readFile(p, maxJSON)
	if err != nil {
		return nil, p, corrupt(p, err)
	}
	if err := contentMismatch(data, h, "its name"); err != nil {
		return nil, p, corrupt(p, err)
	}
	return data, p, nil
}

// addCDName records name as a name of image id. Docker 29's untagged
// images (moby-dangling@...) and the CRI's id names (sha256:...) are
// not names. Names are shown as Docker shows them; one that is not a
// reference is shown as stored.
func (s *store) addCDName(name, id string) {
	if strings.HasPrefix(name, "moby-dangling@") || strings.HasPrefix(name, sha256Prefix) {
		return
	}
	e := makeTagEntry(name, sha256Prefix+id)
	if e.err != nil {
		e = tagEntry{key: name, display: name, id: id}
	}
	if prev, dup := s.tags[e.key]; dup && prev.id != id {
		s.problem(corrupt(s.tagFile, fmt.Errorf("namespace %s: name %s is given to images %s and %s", s.cd().ns, e.display, ShortID(prev.id), ShortID(id))))
		return
	}
	s.tags[e.key] = e
	if img := s.images[id]; img != nil {
		img.Names = append(img.Names, e.display)
	}
}

// cdLookup finds the image ref names: a name, its config's digest (as
// containerd and the CRI know it), or its top layer's chain id; a digest
// as sha256:<hex> or the 64 hex alone.
func (s *store) cdLookup(ref string) (tagEntry, bool, error) {
	if e, ok, _ := s.tagOf(ref); ok {
		return e, true, nil
	}
	if e, ok := s.tags[ref]; ok {
		return e, true, nil
	}
	d := sha256Prefix + strings.TrimPrefix(ref, sha256Prefix)
	if !isHexID(d[len(sha256Prefix):]) {
		return tagEntry{}, false, nil
	}
	var found []string
	for _, id := range sortedKeys(s.cdImages) {
		img := s.images[id]
		if s.cdImages[id].config == d || len(img.chainIDs) > 0 && img.chainIDs[len(img.chainIDs)-1] == d {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return tagEntry{}, false, nil
	case 1:
		return tagEntry{key: ref, display: displayName(s.images[found[0]]), id: found[0]}, true, nil
	}
	for i, id := range found {
		found[i] = ShortID(id)
	}
	return tagEntry{}, false, &AmbiguousError{Ref: ref, Candidates: found}
}

// cdChain is an image's layers, top first: the namespace's committed
// snapshot of each chain id, through the snapshotter's database to its
// directory, each one's parent checked to be the layer below.
func (s *store) cdChain(img *imageRec) ([]Layer, error) {
	d := s.cd()
	if ci := s.cdImages[img.ID]; ci != nil && !ci.unpacked {
		return s.cdBlobChain(img, ci)
	}
	n := len(img.chainIDs)
	layers := make([]Layer, n)
	below := "" // the snapshotter's key of the layer below
	for i, chain := range img.chainIDs {
		want := ""
		if i > 0 {
			want = img.chainIDs[i-1]
		}
		l, e, err := s.cdSnapLayer(chain, cdCommitted)
		if err != nil {
			return nil, err
		}
		if e.nsParent != want {
			return nil, corrupt(d.root.metaFile, fmt.Errorf("namespace %s: snapshot %s has parent %q, but image %s's layer below it is %q", d.ns, chain, clip(e.nsParent), ShortID(img.ID), want))
		}
		if e.parent != below {
			return nil, corrupt(e.file, fmt.Errorf("snapshot %s has parent %q, not %q (the layer below it in image %s)", e.name, clip(e.parent), below, ShortID(img.ID)))
		}
		below = e.name
		l.DiffID, l.ChainID, l.CreatedBy = img.diffIDs[i], chain, img.history[i]
		if ci := s.cdImages[img.ID]; ci != nil {
			if p := s.cdBlobPath(ci.layers[i].Digest); p != "" {
				// Where it is gone, verify and save say so.
				l.Blob, l.BlobType = p, ci.layers[i].MediaType
			}
		}
		layers[n-1-i] = l
	}
	return layers, nil
}

// cdSnapRef is where a snapshot was found: its key in the snapshotter's
// database (name) and that database, and its parents there and in the
// namespace.
type cdSnapRef struct {
	name, file, parent, nsParent string
}

// cdSnapLayer is the layer of the namespace's snapshot key, which must be
// of kind want (0: any).
func (s *store) cdSnapLayer(key string, want byte) (Layer, cdSnapRef, error) {
	d := s.cd()
	e, ok := d.root.meta[d.ns].snapshots[d.snapshotter][key]
	if !ok {
		return Layer{}, cdSnapRef{}, corrupt(d.root.metaFile, fmt.Errorf("namespace %s has no %s snapshot %q", d.ns, d.snapshotter, clip(key)))
	}
	db := d.root.snapshotter(d.snapshotter)
	ref := cdSnapRef{name: e.name, file: db.file, nsParent: e.parent}
	if db.err != nil {
		return Layer{}, ref, corrupt(db.file, db.err)
	}
	sn, ok := db.byKey[e.name]
	switch {
	case !ok:
		return Layer{}, ref, corrupt(db.file, fmt.Errorf("snapshot %q (namespace %s's %q) is not in it", clip(e.name), d.ns, clip(key)))
	case sn.err != nil:
		return Layer{}, ref, corrupt(db.file, fmt.Errorf("snapshot %q: %w", clip(e.name), sn.err))
	case want != 0 && sn.kind != want:
		return Layer{}, ref, corrupt(db.file, fmt.Errorf("snapshot %q is of kind %d, not committed", clip(e.name), sn.kind))
	}
	ref.parent = sn.parent
	return Layer{ID: sn.id, Dir: s.diffDir(sn.id), Size: sn.size, EngineRoot: true}, ref, nil
}

// cdConfig reads image id's config from the content store.
func (s *store) cdConfig(id string) ([]byte, error) {
	ci := s.cdImages[id]
	if ci == nil {
		return nil, &NotFoundError{Ref: id}
	}
	data, _, cerr := s.cdBlob(s.cd().root.meta[s.cd().ns], ci.config)
	if cerr != nil {
		return nil, cerr
	}
	return data, nil
}

// cdManifest reads image img's manifest from the content store.
func (s *store) cdManifest(img *imageRec) ([]byte, error) {
	ci := s.cdImages[img.ID]
	if ci == nil {
		return nil, nil
	}
	data, _, cerr := s.cdBlob(s.cd().root.meta[s.cd().ns], ci.manifest)
	if cerr != nil {
		return nil, cerr
	}
	return data, nil
}

// cdLayerMeta is what is known of each snapshot of the part, by its
// directory name: its image layer where an image's chain has it.
func (s *store) cdLayerMeta() map[string]Layer {
	known := map[string]Layer{}
	for _, r := range s.images {
		if ci := s.cdImages[r.ID]; ci != nil && !ci.unpacked {
			continue // its layers are blobs, not snapshots
		}
		if layers, err := s.cdChain(r); err == nil {
			for _, l := range layers {
				known[l.ID] = l
			}
		}
	}
	return known
}
