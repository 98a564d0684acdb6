package storetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// The JSON of layers.json and images.json, field order and tags as
// containers/storage's Layer and Image have them (layers.go, images.go),
// trimmed to what Podman 4.3 writes for images it loads, imports or
// commits.

type csLayerJSON struct {
	ID               string    `json:"id"`
	Names            []string  `json:"names,omitempty"`
	Parent           string    `json:"parent,omitempty"`
	Created          time.Time `json:"created,omitempty"`
	CompressedDigest string    `json:"compressed-diff-digest,omitempty"`
	CompressedSize   int64     `json:"compressed-size,omitempty"`
	DiffDigest       string    `json:"diff-digest,omitempty"`
	DiffSize         int64     `json:"diff-size,omitempty"`
	UIDs             []uint32  `json:"uidset,omitempty"`
	GIDs             []uint32  `json:"gidset,omitempty"`
}

type csImageJSON struct {
	ID             string            `json:"id"`
	Digest         string            `json:"digest,omitempty"`
	Names          []string          `json:"names,omitempty"`
	NamesHistory   []string          `json:"names-history,omitempty"`
	TopLayer       string            `json:"layer,omitempty"`
	Metadata       string            `json:"metadata,omitempty"`
	BigDataNames   []string          `json:"big-data-names,omitempty"`
	BigDataSizes   map[string]int64  `json:"big-data-sizes,omitempty"`
	BigDataDigests map[string]string `json:"big-data-digests,omitempty"`
	Created        time.Time         `json:"created,omitempty"`
}

// ociDescriptor and ociManifest are an OCI image manifest as
// containers/image writes it for podman import and commit.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

// fullName is an image name as containers/storage keeps it: full
// ("localhost/app:1", "docker.io/library/busybox:latest"), ":latest"
// when it has neither tag nor digest. A name without a registry is what
// Podman 4's podman load makes of an archive's RepoTags: localhost's
// ("busybox:1" is localhost/busybox:1; seen with a real Podman 4.3).
func fullName(s string) (string, error) {
	first, _, ok := strings.Cut(s, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		s = "localhost/" + s
	}
	named, err := reference.ParseNamed(s)
	if err != nil {
		return "", fmt.Errorf("image name %q (containers/storage keeps full names, such as localhost/app:1 or docker.io/library/busybox:latest): %w", s, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

// makeBigDataBaseName is containers/storage's name for the file of a big
// data item (store.go): the key itself when it is made of [0-9a-z.]
// only, else "=" and its base64.
func makeBigDataBaseName(key string) string {
	for _, c := range []byte(key) {
		if c != '.' && (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return "=" + base64.StdEncoding.EncodeToString([]byte(key))
		}
	}
	return key
}

// idSets are the uidset and gidset of a layer: the owners its tar
// headers name, sorted, as containers/storage records them when it
// applies the layer.
func idSets(x *expanded) (uids, gids []uint32) {
	for _, r := range x.order {
		if hdr := tarHeader(x, r); hdr != nil {
			uids = append(uids, uint32(hdr.Uid))
			gids = append(gids, uint32(hdr.Gid))
		}
	}
	slices.Sort(uids)
	slices.Sort(gids)
	return slices.Compact(uids), slices.Compact(gids)
}

// writeLayersJSON writes layers.json: every layer, image layers with
// their digests (uncompressed, so the compressed digest is the diff id,
// as podman load and import record it), container layers without.
func (w *csWriter) writeLayersJSON() error {
	var out []csLayerJSON
	for _, cl := range w.layers {
		j := csLayerJSON{ID: cl.id, Names: cl.names, Parent: cl.parent, Created: cl.created}
		if cl.tar != nil {
			j.CompressedDigest, j.CompressedSize = cl.tar.diffID, cl.tar.size
			j.DiffDigest, j.DiffSize = cl.tar.diffID, cl.tar.size
			j.UIDs, j.GIDs = idSets(w.expanded[cl.l])
		}
		out = append(out, j)
	}
	return writeJSON(w.path(w.driver+"-layers", "layers.json"), out, 0600)
}

// images writes each image's config and manifest as big data, and
// images.json; the tar-split of each image layer goes beside
// layers.json.
func (w *csWriter) images() error {
	for _, cl := range w.layers {
		if cl.tar == nil {
			continue
		}
		if err := w.placeTarSplit(cl.l, w.path(w.driver+"-layers", cl.id+".tar-split.gz")); err != nil {
			return err
		}
	}
	var out []csImageJSON
	seen := map[string][]string{} // image id -> names
	taken := map[string]bool{}
	for _, img := range w.s.Images {
		hist, created := imageHistory(img)
		diffIDs := reversed(w.b.DiffIDs[img])
		top := &Layer{}
		if len(img.Layers) > 0 {
			top = img.Layers[len(img.Layers)-1]
		}
		config, err := json.Marshal(imageConfig(created, top, hist, slices.Clone(diffIDs)))
		if err != nil {
			return err
		}
		configDigest := digestBytes(config)
		id := configDigest[len("sha256:"):]
		if old, ok := seen[id]; ok {
			return fmt.Errorf("images %v and %v have the same config: to containers/storage they are one image, give it both names", old, img.Names)
		}
		seen[id] = img.Names
		w.b.ImageID[img] = id
		m := ociManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json",
			Config: ociDescriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: configDigest, Size: int64(len(config))},
			Layers: []ociDescriptor{}}
		for _, l := range reversed(w.b.ChainLayers[img]) {
			t := w.tar[l]
			m.Layers = append(m.Layers, ociDescriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: t.diffID, Size: t.size})
		}
		manifest, err := json.Marshal(m)
		if err != nil {
			return err
		}
		md := digestBytes(manifest)
		sig := "signature-" + md[len("sha256:"):]
		j := csImageJSON{ID: id, Digest: md, TopLayer: w.top[img], Created: created,
			Metadata:       fmt.Sprintf(`{"signatures-sizes":{%q:[]}}`, md),
			BigDataNames:   []string{configDigest, "manifest-" + md, "manifest", sig},
			BigDataSizes:   map[string]int64{},
			BigDataDigests: map[string]string{}}
		for _, n := range img.Names {
			full, _ := fullName(n) // checked
			if taken[full] {
				return fmt.Errorf("%s: %w", full, errNameTaken)
			}
			taken[full] = true
			j.Names = append(j.Names, full)
		}
		j.NamesHistory = slices.Clone(j.Names)
		dir := w.path(w.driver+"-images", id)
		if err := os.Mkdir(dir, 0700); err != nil {
			return err
		}
		data := map[string][]byte{configDigest: config, "manifest-" + md: manifest, "manifest": manifest, sig: nil}
		for _, key := range j.BigDataNames {
			j.BigDataSizes[key] = int64(len(data[key]))
			j.BigDataDigests[key] = digestBytes(data[key])
			if err := writeFile(filepath.Join(dir, makeBigDataBaseName(key)), data[key], 0600); err != nil {
				return err
			}
		}
		out = append(out, j)
	}
	return writeJSON(w.path(w.driver+"-images", "images.json"), out, 0600)
}

func digestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("sha256:%x", sum)
}
