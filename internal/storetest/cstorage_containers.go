package storetest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// csContainerJSON is one container of containers.json (containers/
// storage's Container, containers.go).
type csContainerJSON struct {
	ID       string         `json:"id"`
	Names    []string       `json:"names,omitempty"`
	ImageID  string         `json:"image"`
	LayerID  string         `json:"layer"`
	Metadata string         `json:"metadata,omitempty"`
	Created  time.Time      `json:"created,omitempty"`
	Flags    map[string]any `json:"flags,omitempty"`
}

// csContainerMetadata is the metadata Podman gives a container: a JSON
// string in containers.json.
type csContainerMetadata struct {
	ImageName string `json:"image-name"`
	ImageID   string `json:"image-id"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created-at"`
}

// imageName is the name Podman records a container's image by: its
// first name, or "" for an image without one.
func (w *csWriter) imageName(img *Image) string {
	if len(img.Names) == 0 {
		return ""
	}
	n, _ := fullName(img.Names[0]) // checked
	return n
}

// containers writes each container's layer, its entry of
// containers.json and its userdata/, and the named volumes.
func (w *csWriter) containers() error {
	var out []csContainerJSON
	for _, c := range w.s.Containers {
		cid := w.id("container", c.Name)
		rw := c.RW
		if rw == nil {
			rw = &Layer{}
		}
		if err := w.expand(rw); err != nil {
			return err
		}
		cl := &csLayer{id: w.id("container layer", c.Name), parent: w.top[c.Image], names: []string{c.Name + "-layer"},
			l: rw, created: created(c.Created), what: fmt.Sprintf("of container %q", c.Name)}
		w.byID[cl.id] = cl
		w.layers = append(w.layers, cl)
		if err := w.layerDir(cl, true); err != nil {
			return err
		}
		b := w.b
		b.ContainerID[c], b.MountID[c] = cid, cl.id
		rwDir := w.path(w.csLayerDir(cl.id))
		b.ContainerChain[c] = append([]string{rwDir}, b.Chain[c.Image]...)
		b.ContainerLayers[c] = append([]*Layer{rw}, b.ChainLayers[c.Image]...)
		if w.driver == DriverVFS {
			b.ContainerStack[c] = []string{rwDir}
		} else {
			b.ContainerStack[c] = slices.Clone(b.ContainerChain[c])
		}
		meta, err := json.Marshal(csContainerMetadata{ImageName: w.imageName(c.Image), ImageID: b.ImageID[c.Image],
			Name: c.Name, CreatedAt: created(c.Created).Unix()})
		if err != nil {
			return err
		}
		out = append(out, csContainerJSON{ID: cid, Names: []string{c.Name}, ImageID: b.ImageID[c.Image], LayerID: cl.id,
			Metadata: string(meta), Created: created(c.Created), Flags: map[string]any{"MountLabel": "", "ProcessLabel": ""}})
		// What podman create makes; config.json (the OCI spec) and the
		// rest come when the container starts, and go when it exits.
		dir := w.path(w.driver+"-containers", cid)
		for _, d := range []struct {
			p    string
			mode os.FileMode
		}{{dir, 0700}, {dir + "/userdata", 0700}, {dir + "/userdata/artifacts", 0755}, {dir + "/userdata/secrets", 0755}, {dir + "/userdata/shm", 0700}} {
			if err := os.Mkdir(d.p, d.mode); err != nil {
				return err
			}
		}
		for _, v := range c.Volumes {
			w.volOwner[v.Name] = append(w.volOwner[v.Name], cid)
		}
	}
	if err := writeJSON(w.path(w.driver+"-containers", "containers.json"), out, 0600); err != nil {
		return err
	}
	for _, name := range sortedVolumes(w.volumes) {
		if err := os.Mkdir(w.path("volumes", name), 0700); err != nil {
			return err
		}
		w.b.VolumeDir[name] = w.path("volumes", name, "_data")
		w.jobs = append(w.jobs, layerJob{dir: w.b.VolumeDir[name], x: w.expanded[w.volLayer[name]], what: "of volume " + name})
	}
	return nil
}

func sortedVolumes(m map[string]*Volume) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
