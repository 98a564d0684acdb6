package layerstore

import (
	"path/filepath"
	"sort"
	"strings"
)

// resolve finds what ref names, the way docker does, in this order:
//
//  1. a full image or container id (64 hex), or sha256:<image id>;
//  2. a tag or digest reference (name, name:tag, name@sha256:<digest>, in
//     short or fully qualified form), compared after normalising both
//     ref and the stored names;
//  3. a container name, with or without its leading "/";
//  4. a prefix of one image or container id, of any length, as docker
//     takes one (or sha256:<prefix> for images only); more than one
//     match, images and containers together, is an *AmbiguousError.
//
// Otherwise it is a *NotFoundError with the nearest known names. What is
// found has its chain built from the metadata and checked against the
// rest of the store: any disagreement, missing directory, cycle or bad id
// is a *CorruptError, as is a tag that names a missing or broken image.
//
// With only (KindImage or KindContainer; 0 for both), the forms of the
// other kind are passed over, as docker inspect --type does: a container
// name is no image, and an id prefix counts the ids of that kind only.
func (s *store) resolve(ref string, only Kind) (*Target, error) {
	if kind, id := s.matchID(ref); kind != 0 && (only == 0 || kind == only) {
		return s.target(ref, "", kind, id)
	}
	if only != KindContainer {
		lookup := s.tagOf
		if s.layout == LayoutContainers {
			lookup = s.csLookup
		}
		if s.layout == LayoutContainerd {
			lookup = s.cdLookup
		}
		if s.layout == LayoutArchive {
			lookup = s.arcLookup
		}
		e, ok, err := lookup(ref)
		if err != nil {
			return nil, err
		}
		if ok {
			if e.err != nil {
				return nil, &CorruptError{File: s.tagFile, Err: e.err}
			}
			return s.imageTarget(ref, e.display, e.id)
		}
	}
	name := strings.TrimPrefix(ref, "/")
	if id, ok := s.names[name]; ok && only != KindImage {
		return s.containerTarget(ref, id)
	}
	if id, ok := s.brokenNames[name]; ok && only != KindImage {
		return nil, s.brokenContainers[id]
	}
	imgs, ctrs := s.matchPrefix(ref)
	switch only {
	case KindImage:
		ctrs = nil
	case KindContainer:
		imgs = nil
	}
	switch {
	case len(imgs) == 1 && len(ctrs) == 0:
		return s.imageTarget(ref, "", imgs[0])
	case len(imgs) == 0 && len(ctrs) == 1:
		return s.containerTarget(ref, ctrs[0])
	case len(imgs)+len(ctrs) > 1:
		return nil, s.ambiguous(ref, imgs, ctrs)
	}
	return nil, &NotFoundError{Ref: ref, Suggestions: s.suggest(ref)}
}

// matchID says what a full id names: an image (also as sha256:<id>), or
// a container; kind is 0 for nothing.
func (s *store) matchID(ref string) (Kind, string) {
	id, digest := strings.CutPrefix(ref, sha256Prefix)
	switch {
	case !isHexID(id):
	case s.images[id] != nil || s.brokenImages[id] != nil:
		return KindImage, id
	case digest:
	case s.containers[id] != nil || s.brokenContainers[id] != nil:
		return KindContainer, id
	}
	return 0, ""
}

// matchPrefix lists the images and containers whose id starts with ref,
// when ref is an id prefix (sha256:<prefix> for images only). Broken ones
// count: they are known ids, and naming one tells what is wrong with it.
func (s *store) matchPrefix(ref string) (imgs, ctrs []string) {
	prefix, digest := strings.CutPrefix(ref, sha256Prefix)
	if prefix == "" || len(prefix) > 64 || !isHex(prefix) {
		return nil, nil
	}
	imgs = appendMatches(imgs, prefix, s.images)
	imgs = appendMatches(imgs, prefix, s.brokenImages)
	if !digest {
		ctrs = appendMatches(ctrs, prefix, s.containers)
		ctrs = appendMatches(ctrs, prefix, s.brokenContainers)
	}
	return imgs, ctrs
}

func appendMatches[V any](out []string, prefix string, m map[string]V) []string {
	for id := range m {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}

// ambiguous lists the matches of an id prefix: images by short id,
// containers by name where they have one.
func (s *store) ambiguous(ref string, imgs, ctrs []string) *AmbiguousError {
	prefix := strings.TrimPrefix(ref, sha256Prefix)
	// Short ids are lengthened past the prefix so that candidates that
	// share more than 12 digits can still be told apart.
	n := max(12, len(prefix)+4)
	short := func(id string) string { return id[:min(n, len(id))] }
	var cands []string
	for _, id := range imgs {
		cands = append(cands, short(id))
	}
	for _, id := range ctrs {
		if c := s.containers[id]; c != nil && c.Name != "" {
			cands = append(cands, c.Name)
		} else {
			cands = append(cands, short(id))
		}
	}
	sort.Strings(cands)
	return &AmbiguousError{Ref: ref, Candidates: cands}
}

func (s *store) target(ref, name string, kind Kind, id string) (*Target, error) {
	if kind == KindContainer {
		return s.containerTarget(ref, id)
	}
	return s.imageTarget(ref, name, id)
}

// imageTarget builds and checks the chain of image id; name is the
// reference it was found by, or "".
func (s *store) imageTarget(ref, name, id string) (*Target, error) {
	img := s.images[id]
	if img == nil {
		e, ok := s.brokenImages[id]
		if !ok {
			return nil, &NotFoundError{Ref: ref}
		}
		layers, warning, ok := s.recoverImage(id, e)
		if !ok {
			return nil, e
		}
		if err := s.drv.check(s, layers, nil); err != nil {
			return nil, e // the driver's files do not bear it out either
		}
		rec := &imageRec{Image: Image{ID: id, Names: s.tagNames(id), Layers: len(layers)}}
		if name == "" {
			name = displayName(rec)
		}
		t := &Target{Kind: KindImage, Ref: ref, Name: name, Image: copyImage(rec), Layers: layers, Warnings: []string{warning}}
		return s.newTarget(t, nil), nil
	}
	layers, err := s.imageChain(img)
	if err != nil {
		return nil, err
	}
	if err := s.drv.check(s, layers, nil); err != nil {
		return nil, err
	}
	if name == "" {
		name = displayName(img)
	}
	return s.newTarget(&Target{Kind: KindImage, Ref: ref, Name: name, Image: copyImage(img), Layers: layers}, nil), nil
}

// containerTarget builds and checks the chain of container id.
func (s *store) containerTarget(ref, id string) (*Target, error) {
	c := s.containers[id]
	if c == nil {
		if e, ok := s.brokenContainers[id]; ok {
			return nil, e
		}
		return nil, &NotFoundError{Ref: ref}
	}
	layers, warning, err := s.containerLayers(c)
	if err != nil {
		return nil, err
	}
	if err := s.drv.check(s, layers, c); err != nil {
		return nil, err
	}
	name := c.Name
	if name == "" {
		name = ShortID(c.ID)
	}
	ctr := c.Container
	ctr.Driver, ctr.Store = s.drv.name(), s.name
	t := &Target{Kind: KindContainer, Ref: ref, Name: name, Container: &ctr, Layers: layers}
	if img := s.images[c.ImageID]; img != nil {
		t.Image = copyImage(img)
	}
	if warning != "" {
		t.Warnings = append(t.Warnings, warning)
	}
	t.Binds, t.Unshown = s.binds(c)
	for i := range t.Binds { // relative to the host's root, in a host
		t.Binds[i].Source = filepath.Join(s.rel, t.Binds[i].Source)
	}
	return s.newTarget(t, c), nil
}

// newTarget fills in what every target of the store has: its driver,
// and its view's stack.
func (s *store) newTarget(t *Target, c *containerRec) *Target {
	t.Driver, t.drv, t.Store = s.drv.name(), s.drv, s.name
	if t.Image != nil {
		t.Image.Driver, t.Image.Store = t.Driver, s.name
	}
	own := 0
	if c != nil {
		own = len(t.Layers) - imageLen(t.Layers, c)
	}
	for i := range t.Layers {
		t.Layers[i].Driver = t.Driver
		t.Layers[i].Encoding = s.drv.encoding(i < own)
	}
	t.Stack = s.drv.stack(s, t.Layers, c)
	if c != nil {
		// Its view without the writable layer: the stack of the chain
		// below it, whose own layer is the init layer where there is one.
		var below *containerRec
		if c.initID != "" {
			below = &containerRec{}
		}
		t.Below = s.drv.stack(s, t.Layers[1:], below)
	}
	return t
}

func displayName(img *imageRec) string {
	if len(img.Names) > 0 {
		return img.Names[0]
	}
	return ShortID(img.ID)
}

func copyImage(r *imageRec) *Image {
	img := r.Image
	img.Names = append([]string(nil), r.Names...)
	return &img
}
