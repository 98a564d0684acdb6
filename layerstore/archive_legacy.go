package layerstore

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/aufsmount/aufsmount/layerstore/imagetar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// A docker save of Docker before 1.10 (the legacy format) has no
// manifest.json: repositories names, for each tag, a v1 id, whose
// directory holds json (the v1 image, with its "parent") and layer.tar.
// It is read as docker load's legacy path reads it: the chain of parents
// down to the base, each layer's diff id the sha256 of its layer.tar
// stream (so each is read once at open), a history entry made of each
// json of the chain (base first), and the config made of the top json
// with those diff ids and that history, as Docker 1.10's migration made
// it (imagetar.MakeConfigFromV1); the image id is the config's sha256.
// Images no tag names are those whose v1 id is no other's parent, as
// docker load leaves them untagged.

// maxLegacyChain bounds a chain of parents: Docker never stacked more
// than 127 layers, and a chain this long is a loop or a hostile archive.
const maxLegacyChain = 1 << 12

// legacyLayer is one v1 image of a legacy save, as read.
type legacyLayer struct {
	json   []byte
	parent string // its parent's v1 id, "" for a base
	blob   ArchiveBlob
	diffID string
}

// legacyReader reads a legacy save's v1 images, each once however many
// chains hold it.
type legacyReader struct {
	a      *archive
	layers map[string]*legacyLayer
}

// isLegacySave says whether the tar's members are those of a legacy
// save: a <v1 id>/json (repositories alone names nothing that is here,
// and a tar of files that happens to hold one is no image archive).
func (a *archive) isLegacySave() bool {
	for name := range a.members {
		if dir, ok := strings.CutSuffix(name, "/json"); ok && isHexID(dir) {
			return true
		}
	}
	return false
}

// loadArcLegacy reads a legacy save's images: those repositories tags
// (in the order of their names), then the untagged heads.
func (s *store) loadArcLegacy() error {
	a := s.arc()
	repos := map[string]map[string]string{}
	if a.has("repositories") {
		if err := a.readJSON("repositories", &repos); err != nil {
			return err
		}
	}
	r := &legacyReader{a: a, layers: map[string]*legacyLayer{}}
	tagged := map[string]bool{}
	for _, repo := range sortedKeys(repos) {
		for _, tag := range sortedKeys(repos[repo]) {
			v1 := repos[repo][tag]
			name := repo + ":" + tag
			tagged[v1] = true
			id, err := s.addLegacyImage(r, v1)
			if err != nil {
				s.problem(a.fault("repositories", fmt.Errorf("%s: %w", clip(name), err)))
				s.arcOrder = append(s.arcOrder, arcEntry{err: s.problems[len(s.problems)-1]})
				continue
			}
			s.arcOrder = append(s.arcOrder, arcEntry{id: id, names: []string{name}})
			s.addArcName(name, id)
		}
	}
	heads, err := r.heads()
	if err != nil {
		return err
	}
	for _, v1 := range heads {
		if tagged[v1] {
			continue
		}
		id, err := s.addLegacyImage(r, v1)
		if err != nil {
			s.problem(a.named(err))
			s.arcOrder = append(s.arcOrder, arcEntry{err: s.problems[len(s.problems)-1]})
			continue
		}
		s.arcOrder = append(s.arcOrder, arcEntry{id: id})
	}
	return nil
}

// heads are the v1 ids of the save's directories that no other's json
// names as its parent, sorted; a json that cannot be read names no
// parent (its own image reports it).
func (r *legacyReader) heads() ([]string, error) {
	var dirs []string
	for name := range r.a.members {
		if dir, ok := strings.CutSuffix(name, "/json"); ok && isHexID(dir) {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) > maxArcNames {
		return nil, r.a.fault(dirs[0], fmt.Errorf("more than %d v1 images: not read", maxArcNames))
	}
	parents := map[string]bool{}
	for _, d := range dirs {
		if l, err := r.layer(d); err == nil && l.parent != "" {
			parents[l.parent] = true
		}
	}
	var heads []string
	for _, d := range dirs {
		if !parents[d] {
			heads = append(heads, d)
		}
	}
	sort.Strings(heads)
	return heads, nil
}

// layer reads the json of the v1 image v1, checked: its id is its
// directory's, its parent a v1 id.
func (r *legacyReader) layer(v1 string) (*legacyLayer, error) {
	if l := r.layers[v1]; l != nil {
		return l, nil
	}
	if !isHexID(v1) {
		return nil, fmt.Errorf("v1 id %q is not 64 lowercase hex digits", clip(v1))
	}
	member := v1 + "/json"
	data, err := r.a.read(member, maxJSON)
	if err != nil {
		return nil, err
	}
	var v struct {
		ID     string `json:"id"`
		Parent string `json:"parent"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, r.a.errAt(member, fmt.Errorf("invalid JSON: %w", err))
	}
	if v.ID != v1 {
		return nil, r.a.errAt(member, fmt.Errorf("its id is %q, not its directory's", clip(v.ID)))
	}
	if v.Parent != "" && !isHexID(v.Parent) {
		return nil, r.a.errAt(member, fmt.Errorf("its parent %q is not 64 lowercase hex digits", clip(v.Parent)))
	}
	l := &legacyLayer{json: data, parent: v.Parent}
	r.layers[v1] = l
	return l, nil
}

// chain is the v1 images from the base up to v1, each with its layer's
// blob and diff id.
func (r *legacyReader) chain(v1 string) ([]*legacyLayer, error) {
	var up []*legacyLayer
	seen := map[string]bool{}
	for id := v1; id != ""; {
		if seen[id] {
			return nil, r.a.errAt(id+"/json", errors.New("its chain of parents goes round"))
		}
		if len(up) >= maxLegacyChain {
			return nil, fmt.Errorf("v1 image %s: more than %d parents", ShortID(v1), maxLegacyChain)
		}
		seen[id] = true
		l, err := r.layer(id)
		if err != nil {
			return nil, err
		}
		if err := r.blobOf(id, l); err != nil {
			return nil, err
		}
		up = append(up, l)
		id = l.parent
	}
	for i, j := 0, len(up)-1; i < j; i, j = i+1, j-1 {
		up[i], up[j] = up[j], up[i]
	}
	return up, nil
}

// blobOf finds l's layer.tar and reads it once, for its diff id (the
// sha256 of its stream, as docker load registers it) and its blob's
// digest (the same for a plain tar).
func (r *legacyReader) blobOf(v1 string, l *legacyLayer) error {
	if l.diffID != "" {
		return nil
	}
	member := v1 + "/layer.tar"
	f, err := r.a.open(member)
	if err != nil {
		return err
	}
	defer f.f.Close()
	stamp := legacyStamp(f)
	if raw, diff, ok := cachedLegacyDigests(stamp); ok {
		l.diffID = diff
		l.blob, err = r.a.layerBlob(member, imagetar.Descriptor{Digest: raw}, diff)
		return err
	}
	c, err := seekable.DetectCompression(f.reader(), f.size)
	if err != nil {
		return r.a.errAt(member, err)
	}
	raw := sha256.New()
	var stream hash.Hash = raw
	in := io.TeeReader(f.reader(), raw)
	switch c {
	case seekable.Uncompressed:
		_, err = io.Copy(io.Discard, in)
	case seekable.Gzip:
		// Docker before 1.10 saved plain tars, but docker load takes a
		// gzip one as well: its diff id is that of the tar inside.
		stream = sha256.New()
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(in); err == nil {
			if _, err = io.Copy(stream, zr); err == nil {
				_, err = io.Copy(io.Discard, in) // the blob's digest is of all its bytes
			}
		}
	default:
		return r.a.errAt(member, fmt.Errorf("compressed as %s: not read here", c))
	}
	if err != nil {
		return r.a.errAt(member, fmt.Errorf("reading it for its diff id: %w", err))
	}
	l.diffID = sha256Prefix + hex.EncodeToString(stream.Sum(nil))
	d := imagetar.Descriptor{Digest: sha256Prefix + hex.EncodeToString(raw.Sum(nil))}
	if l.blob, err = r.a.layerBlob(member, d, l.diffID); err != nil {
		return err
	}
	cacheLegacyDigests(stamp, d.Digest, l.diffID)
	return nil
}

// A legacy save names no layer by digest, so every opening would hash
// every layer.tar again. What a member hashed to is cached under a
// stamp of the file that holds it, as it is now (device, inode, size,
// modification and change times, which no writer can keep) and the
// member's place in it: the .seen rule of a blob's indexes
// (docs/archives.md). "" where the file cannot be stamped: no cache.
func legacyStamp(f arcFile) string {
	stamp := fileStamp(f.f, f.off, f.size)
	if f.frags != nil || stamp == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("legacy layer.tar " + stamp))
	return hex.EncodeToString(sum[:])
}

// cachedLegacyDigests is the blob digest and diff id cached for stamp.
func cachedLegacyDigests(stamp string) (raw, diff string, ok bool) {
	dir := cacheRoot("archive")
	if stamp == "" || dir == "" {
		return "", "", false
	}
	data, err := readFile(filepath.Join(dir, "legacy-"+stamp), 1024)
	if err != nil {
		return "", "", false
	}
	raw, diff, ok = strings.Cut(strings.TrimSuffix(string(data), "\n"), "\n")
	if !ok || digest.Digest(raw).Validate() != nil || digest.Digest(diff).Validate() != nil {
		return "", "", false
	}
	return raw, diff, true
}

// cacheLegacyDigests keeps what the member of stamp hashed to.
func cacheLegacyDigests(stamp, raw, diff string) {
	if dir := cacheRoot("archive"); stamp != "" && dir != "" {
		writeCacheFile(dir, "legacy-"+stamp, []byte(raw+"\n"+diff+"\n"))
	}
}

// addLegacyImage records the image whose top v1 image is v1, its config
// made as docker load's legacy path makes it; id is its sha256.
func (s *store) addLegacyImage(r *legacyReader, v1 string) (string, error) {
	chain, err := r.chain(v1)
	if err != nil {
		return "", err
	}
	diffIDs := make([]string, len(chain))
	hist := make([]imagetar.History, len(chain))
	for i, l := range chain {
		diffIDs[i] = l.diffID
		if hist[i], err = imagetar.HistoryFromV1(l.json); err != nil {
			return "", fmt.Errorf("v1 image %s: %w", ShortID(v1), err)
		}
	}
	config, err := imagetar.MakeConfigFromV1(chain[len(chain)-1].json, diffIDs, hist)
	if err != nil {
		return "", r.a.errAt(v1+"/json", err)
	}
	sum := sha256.Sum256(config)
	id := hex.EncodeToString(sum[:])
	if s.images[id] != nil {
		return id, nil // a second tag of the same image
	}
	cfg, err := parseImageConfig(config)
	if err != nil {
		return "", r.a.errAt(v1+"/json", fmt.Errorf("the config made of it: %w", err))
	}
	ai := &arcImage{config: v1 + "/json", made: config, blobs: make([]ArchiveBlob, len(chain))}
	for i, l := range chain {
		ai.blobs[i] = l.blob
	}
	s.recordArcImage(id, ai, cfg)
	return id, nil
}
