package inspect

import (
	"encoding/json"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

// Image is an image as docker inspect prints it.
type Image struct {
	Id              string // sic: docker spells it so
	RepoTags        []string
	RepoDigests     []string
	Parent          string
	Comment         string
	Created         string
	Container       string
	ContainerConfig json.RawMessage
	DockerVersion   string
	Author          string
	Config          json.RawMessage
	Architecture    string
	Variant         string `json:",omitempty"`
	Os              string
	OsVersion       string `json:",omitempty"`
	Size            *int64
	VirtualSize     *int64
	GraphDriver     GraphDriver
	RootFS          *RootFS        `json:",omitempty"`
	Metadata        *ImageMetadata `json:",omitempty"`
	AufsMount       *View          `json:",omitempty"`
}

// RootFS is an image's layers by diff id, base first.
type RootFS struct {
	Type   string
	Layers []string
}

// ImageMetadata is what the engine keeps of an image besides its config.
type ImageMetadata struct {
	LastTagTime time.Time
}

// imageOf is t, an image of s, as docker inspect prints it: its names
// split into tags and digests, its config's fields (a graph/ store's
// json before Docker 1.10), its size, and where it is.
func imageOf(s layerstore.Source, t *layerstore.Target) (*Image, []error) {
	var warnings []error
	img := t.Image
	graph := s.LayoutOfDriver(t.Driver) == layerstore.LayoutGraph
	out := &Image{Id: layerstore.FormatImageID(s, t.Driver, img.ID, false), RepoTags: []string{}, RepoDigests: []string{},
		GraphDriver: graphDriver(t)}
	for _, n := range img.Names {
		if _, tag, _ := layerstore.SplitName(n); tag != "" {
			out.RepoTags = append(out.RepoTags, n)
		} else {
			out.RepoDigests = append(out.RepoDigests, n)
		}
	}
	if img.Parent != "" {
		out.Parent = layerstore.FormatImageID(s, t.Driver, img.Parent, false)
	}
	var data []byte
	var err error
	if graph {
		data, err = s.GraphJSON(t, img.ID)
	} else {
		data, err = s.ImageConfig(t)
	}
	if err == nil {
		var cfg struct {
			Comment         string          `json:"comment"`
			Created         string          `json:"created"`
			Container       string          `json:"container"`
			ContainerConfig json.RawMessage `json:"container_config"`
			DockerVersion   string          `json:"docker_version"`
			Author          string          `json:"author"`
			Config          json.RawMessage `json:"config"`
			Architecture    string          `json:"architecture"`
			Variant         string          `json:"variant"`
			OS              string          `json:"os"`
			OSVersion       string          `json:"os.version"`
		}
		if err = json.Unmarshal(data, &cfg); err == nil {
			out.Comment, out.Created, out.Container, out.ContainerConfig = cfg.Comment, cfg.Created, cfg.Container, cfg.ContainerConfig
			out.DockerVersion, out.Author, out.Config, out.Architecture = cfg.DockerVersion, cfg.Author, cfg.Config, cfg.Architecture
			out.Variant, out.Os, out.OsVersion = cfg.Variant, cfg.OS, cfg.OSVersion
		}
	}
	if err != nil {
		warnings = append(warnings, err)
	}
	if n := layerstore.NewSizes().Chain(t.Layers); n >= 0 {
		out.Size, out.VirtualSize = &n, &n
	}
	if !graph {
		out.RootFS = &RootFS{Type: "layers", Layers: []string{}}
		for i := len(t.Layers) - 1; i >= 0; i-- {
			out.RootFS.Layers = append(out.RootFS.Layers, t.Layers[i].DiffID)
		}
		tagged, err := s.ImageTagged(t)
		if err != nil {
			warnings = append(warnings, err)
		}
		out.Metadata = &ImageMetadata{LastTagTime: tagged}
	}
	if len(t.Warnings) > 0 {
		out.AufsMount = &View{Warnings: t.Warnings}
	}
	return out, warnings
}
