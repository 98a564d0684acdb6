package layerstore

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"time"
)

// csManifest is image img's manifest as the store keeps it (big data
// "manifest"), checked to be the image's digest; nil when it has none.
func (s *store) csManifest(img *imageRec) ([]byte, error) {
	p, err := s.bigDataPath(img.ID, "manifest")
	if err != nil {
		return nil, corrupt(s.tagFile, err)
	}
	data, err := readFile(p, maxJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, corrupt(p, err)
	}
	if want := strings.TrimPrefix(img.digest, sha256Prefix); want != "" {
		if err := contentMismatch(data, want, "the image's digest "+img.digest); err != nil {
			return nil, corrupt(p, err)
		}
	}
	return data, nil
}

// csSpecDetails is what ps and inspect show of a container that Podman's
// state does not record (CRI-O's, Buildah's): its OCI spec,
// D-containers/<id>/userdata/config.json, where the engine wrote one. Its
// annotations are its labels: CRI-O's io.kubernetes.* name the pod, its
// namespace and the container. A spec that cannot be read gives nothing.
func (s *store) csSpecDetails(id string) details {
	var d details
	data, err := readFile(s.csPath("containers", id, "userdata", "config.json"), maxJSON)
	if err != nil {
		return d
	}
	var spec struct {
		Process *struct {
			Args []string `json:"args"`
		} `json:"process"`
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(data, &spec) != nil {
		return d
	}
	if spec.Process != nil && len(spec.Process.Args) > 0 {
		d.Path, d.Args = spec.Process.Args[0], spec.Process.Args[1:]
	}
	d.Labels = spec.Annotations
	return d
}

// csContainerConfig is the config of a containers/storage container in
// the shape of Docker's config.v2.json, for what reads one (inspect, a
// save of the container): made from containers.json and Podman's state,
// with only what those record.
func (s *store) csContainerConfig(c *containerRec) []byte {
	type state struct {
		Running, Paused       bool
		Pid, ExitCode         int
		StartedAt, FinishedAt string
	}
	type config struct {
		Image  string
		Cmd    []string          `json:",omitempty"`
		Labels map[string]string `json:",omitempty"`
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "0001-01-01T00:00:00Z"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	var cmd []string
	if c.Path != "" {
		cmd = append([]string{c.Path}, c.Args...)
	}
	image := ""
	if c.ImageID != "" {
		image = sha256Prefix + c.ImageID
	}
	doc := struct {
		ID, Created, Path string
		Args              []string
		State             state
		Image, Name       string
		Driver, OS        string
		Config            config
	}{
		ID: c.ID, Created: stamp(c.Created), Path: c.Path, Args: c.Args,
		State: state{Running: c.State.Running, Paused: c.State.Paused, Pid: c.State.Pid, ExitCode: c.State.ExitCode,
			StartedAt: stamp(c.State.StartedAt), FinishedAt: stamp(c.State.FinishedAt)},
		Image: image, Name: "/" + c.Name, Driver: s.drv.name(), OS: "linux",
		Config: config{Image: c.ConfigImage, Cmd: cmd, Labels: c.Labels},
	}
	if doc.Args == nil {
		doc.Args = []string{}
	}
	data, _ := json.Marshal(doc) // of plain strings, ints and maps: it cannot fail
	return data
}
