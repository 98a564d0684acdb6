package imagetar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The pre-1.10 migration: what Docker 1.10 made of each image of a
// graph/ store (moby v1.10 migrate/v1 and image/v1). Each v1 image
// becomes a config holding its own json, less "id", "parent", "Size",
// "parent_id", "layer_id" and "throwaway", plus rootfs (the diff ids of
// the chain, base first: the digests of the layers' tar streams) and
// history (one entry per v1 image of the chain, from its json); its id
// is the config's sha256. The json is taken as it is, except from
// images Docker before 1.8.3 made (or with no docker_version), which
// went through Docker 1.10's V1Image struct first.

// noFallbackMinVersion is where the migration stops normalising a v1
// json through its struct.
const noFallbackMinVersion = "1.8.3"

// HistoryFromV1 is the history entry the migration made of one graph
// json: its created, author, comment, and container_config.Cmd joined.
func HistoryFromV1(graphJSON []byte) (History, error) {
	var v v1Image110
	if err := json.Unmarshal(graphJSON, &v); err != nil {
		return History{}, fmt.Errorf("graph json: %w", err)
	}
	return History{
		Author:    v.Author,
		Created:   v.Created,
		CreatedBy: strings.Join(v.ContainerConfig.Cmd.parts(), " "),
		Comment:   v.Comment,
	}, nil
}

// MakeConfigFromV1 is the image config the migration made of a graph
// json, given the diff ids of its chain and the history of its chain
// (both base first).
func MakeConfigFromV1(graphJSON []byte, diffIDs []string, history []History) ([]byte, error) {
	var dver struct {
		DockerVersion string `json:"docker_version"`
	}
	if err := json.Unmarshal(graphJSON, &dver); err != nil {
		return nil, fmt.Errorf("graph json: %w", err)
	}
	if versionLess(dver.DockerVersion, noFallbackMinVersion) {
		var v v1Image110
		if err := json.Unmarshal(graphJSON, &v); err != nil {
			return nil, fmt.Errorf("graph json: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		graphJSON = b
	}
	var c map[string]*json.RawMessage
	if err := json.Unmarshal(graphJSON, &c); err != nil {
		return nil, fmt.Errorf("graph json: %w", err)
	}
	for _, k := range []string{"id", "parent", "Size", "parent_id", "layer_id", "throwaway"} {
		delete(c, k)
	}
	c["rootfs"] = raw(rootFS{Type: "layers", DiffIDs: diffIDs})
	c["history"] = raw(history)
	return json.Marshal(c)
}

// versionLess compares dotted versions as Docker 1.10's pkg/version did:
// each part as a number, a part that is not one as 0.
func versionLess(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(at), len(bt)); i++ {
		var x, y int
		if i < len(at) {
			x, _ = strconv.Atoi(at[i])
		}
		if i < len(bt) {
			y, _ = strconv.Atoi(bt[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// v1Image110 is Docker 1.10's image.V1Image, with engine-api's
// container.Config of then, field for field: what the migration's
// fallback marshalled a v1 json through.
type v1Image110 struct {
	ID              string     `json:"id,omitempty"`
	Parent          string     `json:"parent,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	Created         time.Time  `json:"created"`
	Container       string     `json:"container,omitempty"`
	ContainerConfig config110  `json:"container_config,omitempty"`
	DockerVersion   string     `json:"docker_version,omitempty"`
	Author          string     `json:"author,omitempty"`
	Config          *config110 `json:"config,omitempty"`
	Architecture    string     `json:"architecture,omitempty"`
	OS              string     `json:"os,omitempty"`
	Size            int64      `json:",omitempty"`
}

type config110 struct {
	Hostname        string
	Domainname      string
	User            string
	AttachStdin     bool
	AttachStdout    bool
	AttachStderr    bool
	ExposedPorts    map[string]struct{} `json:",omitempty"`
	PublishService  string              `json:",omitempty"`
	Tty             bool
	OpenStdin       bool
	StdinOnce       bool
	Env             []string
	Cmd             *strSlice
	ArgsEscaped     bool `json:",omitempty"`
	Image           string
	Volumes         map[string]struct{}
	WorkingDir      string
	Entrypoint      *strSlice
	NetworkDisabled bool   `json:",omitempty"`
	MacAddress      string `json:",omitempty"`
	OnBuild         []string
	Labels          map[string]string
	StopSignal      string `json:",omitempty"`
}

// strSlice is engine-api's StrSlice: a string or a list of strings.
type strSlice struct{ p []string }

func (s *strSlice) parts() []string {
	if s == nil {
		return nil
	}
	return s.p
}

func (s *strSlice) MarshalJSON() ([]byte, error) { return json.Marshal(s.p) }

func (s *strSlice) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	p := make([]string, 0, 1)
	if err := json.Unmarshal(b, &p); err != nil {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		p = append(p, one)
	}
	s.p = p
	return nil
}

// The legacy <v1 id>/json of each layer: Docker's image.V1Image of the
// layer. Every layer but an image's top has only "created" (the epoch)
// and "os"; the top has the image config's V1Image fields. The v1 id is
// Docker's v1.CreateID: the sha256 of that json without its id, with
// "layer_id" (the chain id) and "parent" (the parent's v1 id as a
// digest) added.

// emptyContainerConfig is Docker's container.Config with nothing set, as
// a V1Image without container_config marshals it.
const emptyContainerConfig = `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}`

// V1Layer is the V1Image of one legacy layer directory.
type V1Layer struct {
	ID              string          `json:"id,omitempty"`
	Parent          string          `json:"parent,omitempty"`
	Comment         string          `json:"comment,omitempty"`
	Created         json.RawMessage `json:"created"`
	Container       string          `json:"container,omitempty"`
	ContainerConfig json.RawMessage `json:"container_config,omitempty"`
	DockerVersion   string          `json:"docker_version,omitempty"`
	Author          string          `json:"author,omitempty"`
	Config          json.RawMessage `json:"config,omitempty"`
	Architecture    string          `json:"architecture,omitempty"`
	Variant         string          `json:"variant,omitempty"`
	OS              string          `json:"os,omitempty"`
}

// LowerV1 is the V1Image of a layer below an image's top.
func LowerV1() V1Layer {
	return V1Layer{Created: json.RawMessage(`"1970-01-01T00:00:00Z"`), ContainerConfig: json.RawMessage(emptyContainerConfig)}
}

// TopV1 is the V1Image of an image's top layer, from its config.
func TopV1(config []byte) (V1Layer, error) {
	var v V1Layer
	if err := json.Unmarshal(config, &v); err != nil {
		return V1Layer{}, fmt.Errorf("image config: %w", err)
	}
	v.ID, v.Parent = "", ""
	if len(v.Created) == 0 {
		v.Created = json.RawMessage("null")
	}
	if isNull(v.ContainerConfig) {
		v.ContainerConfig = json.RawMessage(emptyContainerConfig)
	}
	if isNull(v.Config) {
		v.Config = nil
	}
	return v, nil
}

func isNull(m json.RawMessage) bool {
	return len(m) == 0 || bytes.Equal(bytes.TrimSpace(m), []byte("null"))
}

// V1ID is Docker's v1.CreateID of v (whose ID is ignored) for the layer
// with chain id layerID over the v1 image parent ("" for none).
func V1ID(v V1Layer, layerID, parent string) (string, error) {
	v.ID, v.Parent = "", ""
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var c map[string]*json.RawMessage
	if err := json.Unmarshal(b, &c); err != nil {
		return "", err
	}
	c["layer_id"] = raw(layerID)
	if parent != "" {
		c["parent"] = raw("sha256:" + parent)
	}
	b, err = json.Marshal(c)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(Digest(b), "sha256:"), nil
}
