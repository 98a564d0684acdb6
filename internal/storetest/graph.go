package storetest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// graphLayer is one image (= layer) of a pre-1.10 store.
type graphLayer struct {
	id, parent string
	l          *Layer
	created    time.Time
	// imageCreated says created is an Image.Created, which another
	// image on the same top layer must agree with.
	imageCreated bool
	what         string
}

// graphKey names a pre-1.10 layer: a description over a given parent.
type graphKey struct {
	parent string
	l      *Layer
}

// graph writes the pre-1.10 layout: graph/, repositories-aufs, and aufs/
// named by image id.
func (w *storeWriter) graph(dirs map[*Image][]string) error {
	if err := w.commonDirs(); err != nil {
		return err
	}
	if err := w.mkdirs(0700, "graph/_tmp", "execdriver/native", "init"); err != nil {
		return err
	}
	var all []*Layer
	for _, img := range w.s.Images {
		all = append(all, img.Layers...)
	}
	if err := w.tars(all, filepath.Join(w.root, "graph", "_tmp"), 0600); err != nil {
		return err
	}
	ids := map[graphKey]*graphLayer{}
	taken := map[string]bool{}
	var layers []*graphLayer
	for _, img := range w.s.Images {
		parent := ""
		var chain []string // base first
		for i, l := range img.Layers {
			g := ids[graphKey{parent, l}]
			if g == nil {
				// Docker's ids are random; these depend on the parent and
				// the description, and differ for different *Layer values.
				d := digestLayer(l)
				id := hexID("graph layer", parent, d, l.CreatedBy, layerCreated(l).String(), strconv.FormatBool(l.Empty))
				for n := 1; taken[id]; n++ {
					id = hexID("graph layer", parent, d, strconv.Itoa(n))
				}
				taken[id] = true
				g = &graphLayer{id: id, parent: parent, l: l, created: layerCreated(l), what: fmt.Sprintf("%d of image %v", i, img.Names)}
				ids[graphKey{parent, l}] = g
				layers = append(layers, g)
			}
			parent = g.id
			chain = append(chain, g.id)
		}
		// An image is its top layer; its time is that layer's.
		top := ids[graphKey{chainParent(chain), img.Layers[len(img.Layers)-1]}]
		if !img.Created.IsZero() {
			if top.imageCreated && !top.created.Equal(img.Created) {
				return fmt.Errorf("images %v: the same pre-1.10 image %s with two creation times", img.Names, top.id)
			}
			top.created, top.imageCreated = img.Created, true
		}
		w.b.ImageID[img] = top.id
		for i, id := range chain {
			dirs[img] = append(dirs[img], w.path(w.drv.layerDir(id)))
			w.stacks[img] = append(w.stacks[img], stackLayer{id, img.Layers[i]})
		}
		w.stacks[img] = reversed(w.stacks[img])
		w.b.Chain[img] = reversed(dirs[img])
		w.b.Stack[img] = w.drv.imageStack(w.b.Chain[img])
		w.b.ChainLayers[img] = reversed(img.Layers)
	}
	byID := map[string]*graphLayer{}
	for _, g := range layers {
		byID[g.id] = g
		s := []stackLayer{{g.id, g.l}}
		for p := g.parent; p != ""; p = byID[p].parent {
			s = append(s, stackLayer{p, byID[p].l})
		}
		if err := w.drv.layer(w, s, g.what, false); err != nil {
			return err
		}
		if err := w.graphMeta(g); err != nil {
			return err
		}
	}
	if err := w.graphTags(); err != nil {
		return err
	}
	if err := w.graphContainers(); err != nil {
		return err
	}
	if err := w.drv.finish(w); err != nil {
		return err
	}
	return writeLayers(w.jobs)
}

func chainParent(chain []string) string {
	if len(chain) < 2 {
		return ""
	}
	return chain[len(chain)-2]
}

func reversed[T any](s []T) []T {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// graphMeta writes graph/<id>/.
func (w *storeWriter) graphMeta(g *graphLayer) error {
	dir := filepath.Join(w.root, "graph", g.id)
	if err := os.Mkdir(dir, 0700); err != nil {
		return err
	}
	size := layerSize(w.expanded[g.l])
	meta := v1Image{
		ID:              g.id,
		Parent:          g.parent,
		Created:         g.created,
		Container:       hexID("build container", g.id),
		ContainerConfig: buildRunConfig(g.l, g.parent),
		DockerVersion:   graphDockerVersion,
		Config:          imageRunConfig(),
		Architecture:    "amd64",
		OS:              "linux",
		Size:            size,
	}
	if err := writeJSON(filepath.Join(dir, "json"), meta, 0600); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "layersize"), []byte(strconv.FormatInt(size, 10)), 0600); err != nil {
		return err
	}
	return w.placeTarSplit(g.l, filepath.Join(dir, "tar-data.json.gz"))
}

// graphTags writes repositories-aufs: {"Repositories": {repo: {tag: id}}},
// a digest name under its "sha256:<hex>" key.
func (w *storeWriter) graphTags() error {
	repos := map[string]map[string]string{}
	for _, img := range w.s.Images {
		id := w.b.ImageID[img]
		for _, n := range w.names[img] {
			key := n.tag
			if n.digest != "" {
				key = n.digest
			}
			if repos[n.repo] == nil {
				repos[n.repo] = map[string]string{}
			}
			if old, ok := repos[n.repo][key]; ok && old != id {
				return fmt.Errorf("%s: %w", n.familiar, errNameTaken)
			}
			repos[n.repo][key] = id
		}
	}
	return writeJSON(filepath.Join(w.root, "repositories-aufs"), map[string]any{"Repositories": repos}, 0600)
}

// graphContainers writes each container: its config.json, and its init
// and writable layers named <cid>-init and <cid>.
func (w *storeWriter) graphContainers() error {
	for _, c := range w.s.Containers {
		cid := w.id("container", c.Name)
		w.b.ContainerID[c] = cid
		w.b.MountID[c] = cid
		if err := w.containerLayersOn(c, cid); err != nil {
			return err
		}
		cfg := w.containerConfig(c, cid, w.b.ImageID[c.Image])
		cfg.ExecDriver = "native-0.2"
		if err := w.containerFiles(cid, "config.json", cfg); err != nil {
			return err
		}
	}
	return nil
}

// containerLayersOn queues the init and writable layers of c, named
// mount+"-init" and mount, over its image's layers.
func (w *storeWriter) containerLayersOn(c *Container, mount string) error {
	init, rw := w.containerLayers(c)
	rwDir, initDir, stack, err := w.drv.container(w, mount, rw, init, w.stacks[c.Image], fmt.Sprintf("container %q", c.Name))
	if err != nil {
		return err
	}
	w.b.ContainerChain[c] = append([]string{rwDir, initDir}, w.b.Chain[c.Image]...)
	w.b.ContainerLayers[c] = append([]*Layer{rw, init}, w.b.ChainLayers[c.Image]...)
	w.b.ContainerStack[c] = stack
	return nil
}

func (w *storeWriter) containerConfig(c *Container, cid, image string) *containerConfig {
	dir := filepath.Join(w.root, "containers", cid)
	ref := image
	if len(c.Image.Names) > 0 {
		ref = c.Image.Names[0]
	}
	cfg := imageRunConfig()
	cfg.Hostname = cid[:12]
	cfg.Image = ref
	return &containerConfig{
		ID:              cid,
		Created:         created(c.Created),
		Path:            "sh",
		Args:            []string{},
		Config:          cfg,
		Image:           image,
		NetworkSettings: map[string]any{},
		LogPath:         filepath.Join(dir, cid+"-json.log"),
		Name:            "/" + c.Name,
		Driver:          w.driver,
		MountPoints:     map[string]any{},
		HostnamePath:    filepath.Join(dir, "hostname"),
		HostsPath:       filepath.Join(dir, "hosts"),
		ResolvConfPath:  filepath.Join(dir, "resolv.conf"),
		State:           containerState{StartedAt: created(c.Created), FinishedAt: created(c.Created)},
	}
}

// layerSize is what Docker counts as a layer's size: the bytes of its
// regular files.
func layerSize(x *expanded) int64 {
	var n int64
	for _, r := range x.order {
		if r.e.Kind == File {
			n += r.e.FileSize()
		}
	}
	return n
}
