package imagetar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The commit of a container (moby daemon.CreateImageFromContainer and
// image.NewChildImage): the image's config with the container's own
// Config as both config and container_config ("Labels" made {} where
// null, as merge does), "container" its id, "created" the commit's
// time, the layer's diff id added to rootfs (unless the layer is empty),
// and a history entry whose created_by is the container's Cmd.

// Commit is what CommitConfig needs.
type Commit struct {
	Base        []byte          // the image config the container was created from
	Config      json.RawMessage // the container's Config (containers/<id>/config.v2.json)
	ContainerID string
	OS          string // the container's OS; "" for linux
	Created     time.Time
	DiffID      string // of the new layer; EmptyLayerDiffID adds no layer
}

// CommitConfig is the config of the image Commit makes.
func CommitConfig(c Commit) ([]byte, error) {
	var base struct {
		Architecture string          `json:"architecture"`
		Variant      string          `json:"variant"`
		OSVersion    string          `json:"os.version"`
		OSFeatures   json.RawMessage `json:"os.features"`
		RootFS       *rootFS         `json:"rootfs"`
		History      json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(c.Base, &base); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if isNull(c.Config) {
		return nil, errors.New("the container has no Config")
	}
	var cmd struct {
		Cmd *strSlice
	}
	if err := json.Unmarshal(c.Config, &cmd); err != nil {
		return nil, fmt.Errorf("container Config: %w", err)
	}
	config, err := labelsNotNull(c.Config)
	if err != nil {
		return nil, err
	}
	rfs := rootFS{Type: "layers"}
	if base.RootFS != nil {
		rfs.DiffIDs = append(rfs.DiffIDs, base.RootFS.DiffIDs...)
	}
	empty := c.DiffID == EmptyLayerDiffID
	if !empty {
		rfs.DiffIDs = append(rfs.DiffIDs, c.DiffID)
	}
	var hist []json.RawMessage
	if !isNull(base.History) {
		if err := json.Unmarshal(base.History, &hist); err != nil {
			return nil, fmt.Errorf("image config history: %w", err)
		}
	}
	h := History{Created: c.Created, CreatedBy: strings.Join(cmd.Cmd.parts(), " "), EmptyLayer: empty}
	hist = append(hist, *raw(h))
	os := c.OS
	if os == "" {
		os = "linux"
	}
	out := map[string]*json.RawMessage{
		"architecture":     raw(base.Architecture),
		"config":           &config,
		"container":        raw(c.ContainerID),
		"container_config": &c.Config,
		"created":          raw(c.Created),
		"history":          raw(hist),
		"os":               raw(os),
		"rootfs":           raw(rfs),
	}
	if base.Variant != "" {
		out["variant"] = raw(base.Variant)
	}
	if base.OSVersion != "" {
		out["os.version"] = raw(base.OSVersion)
	}
	if !isNull(base.OSFeatures) {
		out["os.features"] = &base.OSFeatures
	}
	return json.Marshal(out)
}

// labelsNotNull is a container Config with "Labels": null made {}, its
// keys otherwise in their order.
func labelsNotNull(config json.RawMessage) (json.RawMessage, error) {
	fields, err := objectFields(config)
	if err != nil {
		return nil, fmt.Errorf("container Config: %w", err)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	found := false
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v := f.value
		if f.key == "Labels" {
			found = true
			if isNull(v) {
				v = json.RawMessage("{}")
			}
		}
		b.Write(v)
	}
	if !found {
		if len(fields) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"Labels":{}`)
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Compact(&out, b.Bytes()); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type field struct {
	key   string
	value json.RawMessage
}

// objectFields splits a JSON object into its members, in order.
func objectFields(data []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{key, v})
	}
	return out, nil
}
