package layerstore

import (
	"encoding/json"
	"fmt"
)

// containerd's own containers are in meta.db (containers/<id>: its image
// by name, its snapshotter and snapshot key, labels, its OCI spec).
// Docker 29's are in the Docker root, containers/<id>/config.v2.json as
// before, with "Driver": "overlayfs": their snapshot key is the
// container's id, and their init layer's <id>-init (moby's
// daemon/containerd/image_snapshot.go).

// CRI labels (containerd's internal/cri) and annotations of Kubernetes.
const (
	criKind    = "io.cri-containerd.kind"
	criSandbox = "sandbox"
)

// loadCDContainers reads the part's containers: for a Docker root's
// namespace, Docker's own first; then meta.db's of the namespace and the
// part's snapshotter, but for those Docker's are (a running Docker
// container is also one of containerd's while it runs).
func (s *store) loadCDContainers(ns *cdNamespace, byName map[string]string) error {
	d := s.cd()
	if d.root.docker != "" && d.ns == cdDockerNS {
		if err := s.loadContainers(); err != nil {
			return err
		}
	}
	first := d.root.snapshottersOf(ns)[0] == d.snapshotter
	for _, e := range ns.containers {
		if s.containers[e.id] != nil || s.brokenContainers[e.id] != nil {
			continue
		}
		sn := e.snapshotter
		if sn != d.snapshotter {
			if first && !isCDSnapshotter(sn) {
				s.problem(corrupt(d.root.metaFile, fmt.Errorf("namespace %s: container %s: snapshotter %q, which aufsmount does not read", d.ns, clip(e.id), clip(sn))))
			}
			continue
		}
		rec := s.cdContainer(e, byName)
		if e.snapshotKey == "" {
			err := corrupt(d.root.metaFile, fmt.Errorf("namespace %s: container %s has no snapshot key", d.ns, clip(e.id)))
			s.brokenContainers[e.id] = err
			s.problem(err)
			continue
		}
		s.containers[e.id] = rec
	}
	for _, c := range s.containers {
		c.Namespace = d.ns
	}
	return nil
}

// cdContainer is the record of a container of meta.db. Its name is its
// id where that is not hex (ctr run's), and a Kubernetes container's
// <pod namespace>/<pod>/<container> (a sandbox's <pod namespace>/<pod>).
func (s *store) cdContainer(e cdContainerEntry, byName map[string]string) *containerRec {
	d := s.cd()
	rec := &containerRec{configFile: d.root.metaFile, mountID: e.snapshotKey}
	rec.ID, rec.Created, rec.ConfigImage, rec.ImageID = e.id, e.created, e.image, byName[e.image]
	rec.Labels, rec.Sandbox = e.labels, e.labels[criKind] == criSandbox
	var spec struct {
		Process *struct {
			Args []string `json:"args"`
		} `json:"process"`
	}
	if json.Unmarshal(e.spec, &spec) == nil && spec.Process != nil && len(spec.Process.Args) > 0 {
		rec.Path, rec.Args = spec.Process.Args[0], spec.Process.Args[1:]
	}
	if rec.Name = kubeName(e.labels, rec.Sandbox); rec.Name == "" && !isHexID(e.id) {
		rec.Name = e.id
	}
	rec.details = details{Path: rec.Path, Args: rec.Args, ConfigImage: rec.ConfigImage, Labels: rec.Labels}
	return rec
}

// cdOwnConfig says c's config is made, not a file: a container of
// meta.db, or of containers/storage.
func (s *store) cdOwnConfig(c *containerRec) bool {
	return s.layout == LayoutContainers || s.layout == LayoutContainerd && c.configFile == s.cd().root.metaFile
}

// cdContainerLayers is a container's chain, top first: its snapshot, its
// init snapshot where it has one (Docker's), then its image's chain, each
// checked to be the parent of the one above. Without its image, the
// chain is its snapshot's parents', with a warning.
func (s *store) cdContainerLayers(c *containerRec) ([]Layer, string, error) {
	d := s.cd()
	keys := []string{c.mountID}
	if c.initID != "" {
		keys = append(keys, c.initID)
	}
	var own []Layer
	parent := ""
	for i, k := range keys {
		l, ref, err := s.cdSnapLayer(k, 0)
		if err != nil {
			return nil, "", err
		}
		if i+1 < len(keys) && ref.nsParent != keys[i+1] {
			return nil, "", corrupt(d.root.metaFile, fmt.Errorf("namespace %s: snapshot %s has parent %q, not its init layer %s", d.ns, clip(k), clip(ref.nsParent), keys[i+1]))
		}
		own = append(own, l)
		parent = ref.nsParent
	}
	img, err := s.imageOf(c)
	if err != nil || img == nil {
		if c.ImageID == "" {
			err = fmt.Errorf("its image %q is not in namespace %s", c.ConfigImage, d.ns)
		}
		chain, perr := s.cdParents(parent, map[string]bool{keys[0]: true})
		if perr != nil {
			return nil, "", perr
		}
		return append(own, chain...), fmt.Sprintf("container %s: %v; its layers are taken from its snapshot's parents in %s", ShortID(c.ID), err, d.root.metaFile), nil
	}
	want := ""
	if n := len(img.chainIDs); n > 0 {
		want = img.chainIDs[n-1]
	}
	if parent != want {
		return nil, "", corrupt(d.root.metaFile, fmt.Errorf("namespace %s: snapshot %s has parent %q, but the top layer of image %s is %q", d.ns, clip(keys[len(keys)-1]), clip(parent), ShortID(img.ID), want))
	}
	if ci := s.cdImages[img.ID]; ci != nil && !ci.unpacked {
		// Its image is served from blobs: its top layer is no snapshot.
		return nil, "", corrupt(d.root.metaFile, fmt.Errorf("namespace %s: snapshot %s has parent %q, which is no %s snapshot", d.ns, clip(keys[len(keys)-1]), clip(parent), d.snapshotter))
	}
	chain, err := s.cdChain(img)
	if err != nil {
		return nil, "", err
	}
	return append(own, chain...), "", nil
}

// cdParents is the chain from the namespace's snapshot key down its
// parents; seen are keys above it.
func (s *store) cdParents(key string, seen map[string]bool) ([]Layer, error) {
	d := s.cd()
	var out []Layer
	for key != "" {
		if seen[key] {
			return nil, corrupt(d.root.metaFile, fmt.Errorf("namespace %s: snapshot %s's parents loop back to it", d.ns, clip(key)))
		}
		seen[key] = true
		l, ref, err := s.cdSnapLayer(key, 0)
		if err != nil {
			return nil, err
		}
		if _, err := parseDigest(key); err == nil {
			l.ChainID = key
		}
		out = append(out, l)
		key = ref.nsParent
	}
	return out, nil
}
