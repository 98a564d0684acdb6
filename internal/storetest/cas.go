package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
)

// casLayer is one layer of a 1.10+ store's layerdb.
type casLayer struct {
	chainID, parent, diffID, cacheID string
	l                                *Layer
	what                             string
}

// imageDir is, relative to the root, the driver's image/<driver>/.
func (w *storeWriter) imageDir() string { return "image/" + w.driver }

// cas writes the 1.10+ layout: image/<driver>/ (imagedb, layerdb,
// repositories.json) and the driver's layers named by cache id.
func (w *storeWriter) cas(dirs map[*Image][]string) error {
	if err := w.commonDirs(); err != nil {
		return err
	}
	if err := w.mkdirs(0700, "image", "network/files", "plugins"); err != nil {
		return err
	}
	casImage := w.imageDir()
	if err := w.mkdirs(0755, casImage+"/imagedb/content/sha256", casImage+"/imagedb/metadata/sha256",
		casImage+"/layerdb/sha256", casImage+"/layerdb/mounts", casImage+"/layerdb/tmp",
		casImage+"/distribution/diffid-by-digest/sha256", casImage+"/distribution/v2metadata-by-diffid/sha256"); err != nil {
		return err
	}
	var all []*Layer
	for _, img := range w.s.Images {
		all = append(all, slices.DeleteFunc(slices.Clone(img.Layers), func(l *Layer) bool { return l.Empty })...)
	}
	if err := w.tars(all, w.path(casImage, "layerdb", "tmp"), 0644); err != nil {
		return err
	}
	byChain := map[string]*casLayer{}
	var order []*casLayer
	for _, img := range w.s.Images {
		var diffIDs []digest.Digest
		var real []*Layer // the layers with a directory
		var where []int   // index in img.Layers of each of real
		hist, imgCreated := imageHistory(img)
		for i, l := range img.Layers {
			if l.Empty {
				continue
			}
			diffIDs = append(diffIDs, digest.Digest(w.tar[l].diffID))
			real = append(real, l)
			where = append(where, i)
		}
		chainIDs := identity.ChainIDs(slices.Clone(diffIDs))
		imgDirs := make([]string, len(img.Layers))
		var chainDirs, diffStrs, chainStrs []string
		var stack []stackLayer
		for k, c := range chainIDs {
			cl := byChain[c.String()]
			if cl == nil {
				// Docker's cache ids are random: ours are derived from the
				// chain id, and never equal to it.
				cl = &casLayer{chainID: c.String(), diffID: diffIDs[k].String(), l: real[k],
					cacheID: w.id("cache id", c.String()), what: fmt.Sprintf("%d of image %v", where[k], img.Names)}
				if k > 0 {
					cl.parent = chainIDs[k-1].String()
				}
				byChain[cl.chainID] = cl
				order = append(order, cl)
			} else if cl.l != real[k] && digestLayer(cl.l) != digestLayer(real[k]) {
				// One chain id is one layer to Docker.
				return fmt.Errorf("layer %d of image %v and layer %s make the same tar over the same layers, but differ (in what a tar does not keep: atimes, parts of seconds, sockets)",
					where[k], img.Names, cl.what)
			}
			d := w.path(w.drv.layerDir(cl.cacheID))
			imgDirs[where[k]] = d
			stack = append(stack, stackLayer{cl.cacheID, cl.l})
			chainDirs = append(chainDirs, d)
			diffStrs = append(diffStrs, cl.diffID)
			chainStrs = append(chainStrs, cl.chainID)
		}
		dirs[img] = imgDirs
		top := &Layer{}
		if len(img.Layers) > 0 {
			top = img.Layers[len(img.Layers)-1]
		}
		config, err := json.Marshal(imageConfig(imgCreated, top, hist, slices.Clone(diffStrs)))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(config)
		id := hex.EncodeToString(sum[:])
		p := filepath.Join(w.root, casImage, "imagedb/content/sha256", id)
		if err := writeFile(p, config, 0600); err != nil {
			return err
		}
		w.b.ImageID[img] = id
		w.b.Chain[img] = reversed(chainDirs)
		w.b.Stack[img] = w.drv.imageStack(w.b.Chain[img])
		w.stacks[img] = reversed(stack)
		w.b.ChainLayers[img] = reversed(real)
		w.b.DiffIDs[img] = reversed(diffStrs)
		w.b.ChainIDs[img] = reversed(chainStrs)
	}
	for _, cl := range order {
		s := []stackLayer{{cl.cacheID, cl.l}}
		for p := cl.parent; p != ""; p = byChain[p].parent {
			s = append(s, stackLayer{byChain[p].cacheID, byChain[p].l})
		}
		if err := w.drv.layer(w, s, cl.what, false); err != nil {
			return err
		}
		if err := w.layerdb(cl); err != nil {
			return err
		}
	}
	if err := w.casTags(); err != nil {
		return err
	}
	if err := w.casContainers(); err != nil {
		return err
	}
	if err := w.drv.finish(w); err != nil {
		return err
	}
	return writeLayers(w.jobs)
}

// imageHistory is the history of an image's config, and its created
// time: the image's, or its newest layer's.
func imageHistory(img *Image) ([]history, time.Time) {
	var hist []history
	newest := DefaultTime
	for _, l := range img.Layers {
		hist = append(hist, history{Created: layerCreated(l), CreatedBy: shellForm(l), EmptyLayer: l.Empty})
		if layerCreated(l).After(newest) {
			newest = layerCreated(l)
		}
	}
	if !img.Created.IsZero() {
		return hist, img.Created
	}
	return hist, newest
}

// shellForm is a history's created_by for a layer.
func shellForm(l *Layer) string {
	if l.CreatedBy == "" {
		return ""
	}
	return "/bin/sh -c " + l.CreatedBy
}

// layerdb writes image/<driver>/layerdb/sha256/<chain hex>/; its small
// files have no trailing newline, as Docker writes them.
func (w *storeWriter) layerdb(cl *casLayer) error {
	dir := w.path(w.imageDir(), "layerdb", "sha256", digest.Digest(cl.chainID).Encoded())
	if err := os.Mkdir(dir, 0755); err != nil {
		return err
	}
	if err := w.placeTarSplit(cl.l, filepath.Join(dir, "tar-split.json.gz")); err != nil {
		return err
	}
	files := map[string][]byte{
		"cache-id": []byte(cl.cacheID),
		"diff":     []byte(cl.diffID),
		"size":     []byte(strconv.FormatInt(layerSize(w.expanded[cl.l]), 10)),
	}
	if cl.parent != "" {
		files["parent"] = []byte(cl.parent)
	}
	for name, data := range files {
		if err := writeFile(filepath.Join(dir, name), data, 0644); err != nil {
			return err
		}
	}
	return nil
}

// casTags writes repositories.json:
// {"Repositories": {repo: {"repo:tag" or "repo@sha256:<hex>": "sha256:<id>"}}}.
func (w *storeWriter) casTags() error {
	repos := map[string]map[string]string{}
	for _, img := range w.s.Images {
		id := "sha256:" + w.b.ImageID[img]
		for _, n := range w.names[img] {
			if repos[n.repo] == nil {
				repos[n.repo] = map[string]string{}
			}
			if old, ok := repos[n.repo][n.familiar]; ok && old != id {
				return fmt.Errorf("%s: %w", n.familiar, errNameTaken)
			}
			repos[n.repo][n.familiar] = id
		}
	}
	return writeJSON(w.path(w.imageDir(), "repositories.json"), map[string]any{"Repositories": repos}, 0600)
}

// casContainers writes each container: config.v2.json, its layerdb
// mount, and its layers named by a mount id.
func (w *storeWriter) casContainers() error {
	for _, c := range w.s.Containers {
		cid := w.id("container", c.Name)
		mount := hexID("mount id", cid)
		w.b.ContainerID[c] = cid
		w.b.MountID[c] = mount
		if err := w.containerLayersOn(c, mount); err != nil {
			return err
		}
		dir := w.path(w.imageDir(), "layerdb", "mounts", cid)
		if err := os.Mkdir(dir, 0755); err != nil {
			return err
		}
		files := map[string]string{"mount-id": mount, "init-id": mount + "-init"}
		if ch := w.b.ChainIDs[c.Image]; len(ch) > 0 {
			files["parent"] = ch[0]
		}
		for name, data := range files {
			if err := writeFile(filepath.Join(dir, name), []byte(data), 0644); err != nil {
				return err
			}
		}
		cfg := w.containerConfig(c, cid, "sha256:"+w.b.ImageID[c.Image])
		if err := w.containerFiles(cid, "config.v2.json", cfg); err != nil {
			return err
		}
	}
	return nil
}
