package layerstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/aufsmount/aufsmount/internal/chainid"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// An archive's images: a docker save's manifest.json lists them, each
// with its config and its layers as members, and its tags (RepoTags);
// an OCI layout's index.json lists manifests (or indexes, of which this
// platform's manifest is taken), each named by its annotations. Where a
// docker save of Docker 25 has both, manifest.json is read, as docker
// load does. An image's id is its config's digest, as Docker shows it.

// arcImage is where an archive's image is.
type arcImage struct {
	config   string              // the member or file of its config
	made     []byte              // its config where none is stored: made of config's v1 json (legacy save)
	blobs    []ArchiveBlob       // its layers' blobs, base first
	manifest imagetar.Descriptor // its manifest, where an index names one (save keeps it)
}

// maxArcNames bounds the names an archive may give.
const maxArcNames = 1 << 16

// loadArc reads the archive's images and their names. An image whose
// parts are missing or wrong is left out and recorded in Problems; an
// archive none of whose images can be read is an error, saying why.
func (s *store) loadArc() error {
	a := s.arc()
	s.arcImages = map[string]*arcImage{}
	s.tagFile = a.path // what a name's fault is reported against
	if a.dir {
		s.tagFile = a.path + "/index.json"
	}
	var err error
	switch {
	case a.legacy:
		err = s.loadArcLegacy()
	case a.kind == KindDockerArchive:
		err = s.loadArcManifest()
	default:
		err = s.loadArcIndex()
	}
	if err != nil {
		return err
	}
	for _, img := range s.images {
		sort.Strings(img.Names)
	}
	if len(s.images) == 0 {
		if len(s.problems) > 0 {
			return a.failure(s.problems)
		}
		return corrupt(s.tagFile, errors.New("the archive holds no images"))
	}
	return nil
}

// loadArcManifest reads a docker save's manifest.json.
func (s *store) loadArcManifest() error {
	a := s.arc()
	var items []imagetar.ManifestItem
	if err := a.readJSON("manifest.json", &items); err != nil {
		return err
	}
	for i, it := range items {
		id, err := s.addArcImage(it.Config, configClaim(it.Config), nil, it.Layers)
		if err != nil {
			s.problem(a.fault("manifest.json", fmt.Errorf("image %d: %w", i, err)))
			s.arcOrder = append(s.arcOrder, arcEntry{err: s.problems[len(s.problems)-1]})
			continue
		}
		s.arcOrder = append(s.arcOrder, arcEntry{id: id, names: it.RepoTags})
		for _, tag := range it.RepoTags {
			s.addArcName(tag, id)
		}
	}
	return nil
}

// loadArcIndex reads an OCI layout's index.json.
func (s *store) loadArcIndex() error {
	a := s.arc()
	var idx imagetar.Index
	if err := a.readJSON("index.json", &idx); err != nil {
		return err
	}
	for i, d := range idx.Manifests {
		m, md, err := s.arcManifestOf(d, 0)
		if err == nil && m.Config.Digest == "" {
			err = errors.New("its manifest has no config")
		}
		var id string
		if err == nil {
			config, cerr := blobMember(m.Config.Digest)
			blobs := make([]string, len(m.Layers))
			for j, l := range m.Layers {
				if blobs[j], err = blobMember(l.Digest); err != nil {
					break
				}
			}
			if err == nil {
				err = cerr
			}
			if err == nil {
				id, err = s.addArcImage(config, m.Config.Digest, m.Layers, blobs)
			}
			if err == nil && s.arcImages[id].manifest.Digest == "" {
				s.arcImages[id].manifest = md
			}
		}
		if err != nil {
			s.problem(a.fault("index.json", fmt.Errorf("manifests[%d] (%s): %w", i, clip(d.Digest), err)))
			s.arcOrder = append(s.arcOrder, arcEntry{err: s.problems[len(s.problems)-1]})
			continue
		}
		s.arcOrder = append(s.arcOrder, arcEntry{id: id, names: nonEmpty(d.Annotations[imagetar.AnnotationRefName])})
		name := d.Annotations[imagetar.AnnotationImageName]
		if name == "" {
			name = d.Annotations[imagetar.AnnotationRefName]
		}
		if name != "" {
			s.addArcName(name, id)
		}
	}
	return nil
}

// blobMember is the member of the blob of digest: blobs/sha256/<hex>.
func blobMember(digest string) (string, error) {
	h, err := parseDigest(digest)
	if err != nil {
		return "", err
	}
	return "blobs/sha256/" + h, nil
}

// arcBlob reads the JSON blob d names, checked against its digest and
// size.
func (s *store) arcBlob(d imagetar.Descriptor) ([]byte, error) {
	m, err := blobMember(d.Digest)
	if err != nil {
		return nil, err
	}
	a := s.arc()
	data, err := a.read(m, maxJSON)
	if err != nil {
		return nil, err
	}
	if got := imagetar.Digest(data); got != d.Digest {
		return nil, a.errAt(m, fmt.Errorf("its digest is %s, not its name", got))
	}
	if d.Size != 0 && d.Size != int64(len(data)) {
		return nil, a.errAt(m, fmt.Errorf("it has %d bytes, its descriptor says %d", len(data), d.Size))
	}
	return data, nil
}

// configClaim is the digest a docker save's config member names it by
// ("<hex>.json" as Docker before 25 and skopeo, "blobs/sha256/<hex>" as
// Docker 25, "sha256:<hex>" as crane), which the image id must be; ""
// for a name that claims none.
func configClaim(member string) string {
	h := strings.TrimSuffix(path.Base(member), ".json")
	if hex, ok := strings.CutPrefix(member, "sha256:"); ok {
		h = hex
	} else if !strings.HasSuffix(member, ".json") && !strings.HasPrefix(member, "blobs/sha256/") {
		return ""
	}
	if !isHexID(h) {
		return ""
	}
	return sha256Prefix + h
}

// arcManifestOf is the manifest d is, or that it gives for the platform
// when it is an index, and the descriptor of that manifest.
func (s *store) arcManifestOf(d imagetar.Descriptor, depth int) (imagetar.Manifest, imagetar.Descriptor, error) {
	var m struct {
		imagetar.Manifest
		Manifests []imagetar.Descriptor `json:"manifests"`
	}
	data, err := s.arcBlob(d)
	if err != nil {
		return m.Manifest, d, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m.Manifest, d, fmt.Errorf("manifest %s: invalid JSON: %w", d.Digest, err)
	}
	if m.Manifests == nil {
		return m.Manifest, d, nil
	}
	if depth >= maxIndexDepth {
		return m.Manifest, d, fmt.Errorf("index %s: indexes nest too deep", d.Digest)
	}
	a := s.arc()
	ps := make([]*ociPlatform, len(m.Manifests))
	for i, e := range m.Manifests {
		if e.Platform != nil {
			ps[i] = &ociPlatform{OS: e.Platform.OS, Architecture: e.Platform.Architecture, Variant: e.Platform.Variant}
		}
	}
	i, offered := a.platform.choose(ps, func(i int) bool { // a platform that was not copied is not here
		mb, err := blobMember(m.Manifests[i].Digest)
		return err == nil && a.has(mb)
	})
	if i >= 0 {
		return s.arcManifestOf(m.Manifests[i], depth+1)
	}
	if len(offered) == 0 {
		return m.Manifest, d, fmt.Errorf("index %s has no manifest for %s whose blob is here, nor for any other platform", d.Digest, a.platform)
	}
	return m.Manifest, d, fmt.Errorf("index %s has no manifest for %s (it has %s: choose with --platform)", d.Digest, a.platform, strings.Join(offered, ", "))
}

// addArcImage reads the image whose config is the member config (of
// digest configDigest, where a manifest names it) and whose layers are
// the members layers (of descriptors descs, where a manifest gives them),
// and records it; id is its config's digest.
func (s *store) addArcImage(config, configDigest string, descs []imagetar.Descriptor, layers []string) (string, error) {
	a := s.arc()
	data, err := a.read(config, maxJSON)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	if configDigest != "" && configDigest != sha256Prefix+id {
		return "", a.errAt(config, fmt.Errorf("its digest is sha256:%s, not its name", id))
	}
	if s.images[id] != nil {
		return id, nil // a second name of the same image
	}
	cfg, err := parseImageConfig(data)
	if err != nil {
		return "", a.errAt(config, err)
	}
	if len(cfg.diffIDs) != len(layers) {
		return "", fmt.Errorf("%d layers, but its config %s has %d diff ids", len(layers), clip(config), len(cfg.diffIDs))
	}
	ai := &arcImage{config: config, blobs: make([]ArchiveBlob, len(layers))}
	for i, member := range layers {
		var d imagetar.Descriptor
		if descs != nil {
			d = descs[i]
		}
		if ai.blobs[i], err = a.layerBlob(member, d, cfg.diffIDs[i]); err != nil {
			return "", err
		}
	}
	s.recordArcImage(id, ai, cfg)
	return id, nil
}

// recordArcImage records the archive's image id, whose config is cfg and
// whose parts are where ai says.
func (s *store) recordArcImage(id string, ai *arcImage, cfg casMeta) {
	s.arcImages[id] = ai
	s.images[id] = &imageRec{
		Image:    Image{ID: id, Created: cfg.created, Layers: len(cfg.diffIDs)},
		diffIDs:  cfg.diffIDs,
		chainIDs: chainid.All(cfg.diffIDs),
		history:  cfg.createdBy,
		steps:    cfg.steps,
	}
}

// layerBlob finds the blob of a layer, the member named, and tells its
// compression from its first bytes. A media type must be a layer's, but
// the compression it names need not be the blob's: containerd and
// docker load decompress what the bytes say, and skopeo 1.9 calls the
// uncompressed layers it copies from a docker-archive gzip. Nothing is
// misread for it: the blob is held to its digest and the stream to its
// diff id. A containerd content store's blobs are found the same way, as
// a layout's (cdBlobChain).
func (a *archive) layerBlob(member string, d imagetar.Descriptor, diffID string) (ArchiveBlob, error) {
	f, err := a.open(member)
	if err != nil {
		return ArchiveBlob{}, err
	}
	defer f.f.Close()
	if d.Size != 0 && d.Size != f.size {
		return ArchiveBlob{}, a.errAt(member, fmt.Errorf("it has %d bytes, its descriptor says %d", f.size, d.Size))
	}
	c, err := seekable.DetectCompression(f.reader(), f.size)
	if err != nil {
		return ArchiveBlob{}, a.errAt(member, err)
	}
	if d.MediaType != "" && !layerMediaType(d.MediaType) {
		return ArchiveBlob{}, a.errAt(member, fmt.Errorf("media type %q is not a layer read here (a tar, gzip or zstd)", clip(d.MediaType)))
	}
	b := ArchiveBlob{Archive: a.path, Member: member, File: f.file, Offset: f.off, Size: f.size, Sparse: f.frags,
		MediaType: d.MediaType, Compression: c, Digest: d.Digest}
	if b.Digest == "" && c == seekable.Uncompressed {
		b.Digest = diffID
	}
	if h, ok := strings.CutPrefix(member, "blobs/sha256/"); ok && b.Digest == "" && isHexID(h) {
		b.Digest = sha256Prefix + h
	}
	return b, nil
}

// layerMediaType says whether mt is a layer tar's media type, OCI's or
// Docker's, uncompressed, gzip or zstd.
func layerMediaType(mt string) bool {
	switch mt {
	case "application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd":
		return true
	}
	return false
}

// addArcName records name as a name of image id: a reference as Docker
// shows it, or an OCI ref name that is a bare tag ("latest", "v1") as
// it is.
func (s *store) addArcName(name, id string) {
	if len(s.tags) >= maxArcNames {
		return
	}
	e := makeTagEntry(name, sha256Prefix+id)
	if e.err != nil || !strings.ContainsAny(name, ":/@") {
		e = tagEntry{key: name, display: name, id: id}
	}
	if prev, dup := s.tags[e.key]; dup {
		if prev.id != id {
			s.problem(corrupt(s.tagFile, fmt.Errorf("name %s is given to images %s and %s", e.display, ShortID(prev.id), ShortID(id))))
		}
		return
	}
	s.tags[e.key] = e
	s.images[id].Names = append(s.images[id].Names, e.display)
}

// arcLookup finds the image ref names: a reference, or a name as the
// archive gives it.
func (s *store) arcLookup(ref string) (tagEntry, bool, error) {
	if e, ok, _ := s.tagOf(ref); ok {
		return e, true, nil
	}
	e, ok := s.tags[ref]
	return e, ok, nil
}

// arcChain is an image's layers, top first, each with its blob.
func (s *store) arcChain(img *imageRec) ([]Layer, error) {
	ai := s.arcImages[img.ID]
	if ai == nil {
		return nil, &NotFoundError{Ref: img.ID}
	}
	n := len(ai.blobs)
	layers := make([]Layer, n)
	for i := range ai.blobs {
		b := ai.blobs[i]
		l := Layer{ID: img.chainIDs[i][len(sha256Prefix):], DiffID: img.diffIDs[i], ChainID: img.chainIDs[i],
			CreatedBy: img.history[i], Size: -1, Archive: &b}
		layers[n-1-i] = l
	}
	return layers, nil
}

// arcConfig reads image id's config from the archive.
func (s *store) arcConfig(id string) ([]byte, error) {
	ai := s.arcImages[id]
	if ai == nil {
		return nil, &NotFoundError{Ref: id}
	}
	if ai.made != nil {
		return ai.made, nil
	}
	a := s.arc()
	data, err := a.read(ai.config, maxJSON)
	if err != nil {
		return nil, a.named(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != id {
		return nil, a.fault(ai.config, fmt.Errorf("its digest is sha256:%x, not the image id", sum))
	}
	return data, nil
}
