package imagetar

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The media types of the OCI image layout Docker 25 writes.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"

	// AnnotationImageName is containerd's annotation for the full name
	// of the image a manifest is ("docker.io/library/busybox:latest").
	AnnotationImageName = "io.containerd.image.name"
	// AnnotationRefName is the OCI annotation for its tag ("latest").
	AnnotationRefName = "org.opencontainers.image.ref.name"

	// OCILayout is the content of the oci-layout file, as Docker writes it.
	OCILayout = `{"imageLayoutVersion": "1.0.0"}`
)

// Platform is the platform of an image, from its config.
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Index is an OCI image index (index.json).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []Descriptor `json:"manifests"`
}

// ManifestItem is one image of manifest.json.
type ManifestItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Digest is "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// BlobPath is where blob digest ("sha256:<hex>") is in the layout.
func BlobPath(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

// EmptyLayerDiffID is the diff id of a layer tar with no entries (1024
// zero bytes): Docker does not add such a layer to a committed image.
const EmptyLayerDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// PlatformOf reads the platform of an image config.
func PlatformOf(config []byte) (*Platform, error) {
	var p Platform
	if err := json.Unmarshal(config, &p); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if p.OS == "" {
		p.OS = "linux"
	}
	return &p, nil
}

// WithDiffIDs returns config with its rootfs.diff_ids replaced: the
// config of the same image whose layers are now those. Every other key
// is kept as it is; the keys come out sorted, as Docker marshals a config.
func WithDiffIDs(config []byte, diffIDs []string) ([]byte, error) {
	var c map[string]*json.RawMessage
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	c["rootfs"] = raw(rootFS{Type: "layers", DiffIDs: diffIDs})
	return json.Marshal(c)
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids,omitempty"`
}

// History is one entry of an image config's history.
type History struct {
	Created    time.Time `json:"created"`
	Author     string    `json:"author,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	EmptyLayer bool      `json:"empty_layer,omitempty"`
}

func raw(v any) *json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only values of this file's own types
	}
	m := json.RawMessage(b)
	return &m
}
