package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// Containerd describes a containerd root (docs/containerd.md) as
// containerd 1.6 and later write it: meta.db with its namespaces'
// images, containers and snapshot references; the content store's blobs
// (manifests, indexes, configs, and layers as the uncompressed tar
// streams of their descriptions); and the overlayfs snapshotter's
// metadata.db and snapshots/<id>/fs in the kernel's overlay form. Docker
// 29's containers are written into DockerRoot.
type Containerd struct {
	Namespaces []*CDNamespace
	// DockerRoot, when set, is a Docker 29 root to write the Docker
	// containers' config.v2.json into (its images are namespace moby's).
	DockerRoot string
}

// CDNamespace is one namespace.
type CDNamespace struct {
	Name       string
	Images     []*CDImage
	Containers []*CDContainer
}

// CDImage is an image: its names (as containerd stores them,
// "docker.io/library/busybox:latest"), its layers, base first.
type CDImage struct {
	Names  []string
	Layers []*Layer
	// Index makes its target an index with this platform's manifest and
	// one for another platform whose blobs are absent.
	Index bool
	// NoUnpack leaves its snapshots out, as ctr images import --no-unpack
	// does (or ctr snapshots rm after it unpacked).
	NoUnpack bool
	// Compression is how its layer blobs are kept: "" (plain tars),
	// "gzip" or "zstd".
	Compression string
}

// CDContainer is a container of one of the namespace's images.
type CDContainer struct {
	ID     string // containerd's: any name ctr takes; Docker's: 64 hex
	Image  *CDImage
	RW     *Layer // what its snapshot holds, written as the kernel writes; nil: empty
	Labels map[string]string
	// Docker makes it a Docker 29 container: config.v2.json in the
	// Docker root, an init snapshot <id>-init (Init, nil: empty), and no
	// meta.db entry (Docker removes it when the container stops).
	Docker bool
	Init   *Layer
}

// CDBuilt is what Write made.
type CDBuilt struct {
	Root    string              // the containerd root
	Targets map[*CDImage]string // each image's target digest ("sha256:<hex>")
	Configs map[*CDImage]string // each image's config digest
	// Chains are each unpacked image's snapshot directories, top first:
	// what containerd's overlay mount of it stacks.
	Chains map[*CDImage][]string
	// Blobs are each image's layer blob digests, base first.
	Blobs map[*CDImage][]string
}

// Media types containerd keeps.
const (
	cdManifestType = "application/vnd.oci.image.manifest.v1+json"
	cdIndexType    = "application/vnd.oci.image.index.v1+json"
	cdConfigType   = "application/vnd.oci.image.config.v1+json"
)

// cdWriter writes one root.
type cdWriter struct {
	c      *Containerd
	root   string
	snDir  string
	b      *CDBuilt
	nextID uint64
	jobs   []layerJob
	snaps  []cdSnapRec // for metadata.db
	enc    encoding
}

// cdSnapRec is one snapshot of the snapshotter's metadata.db.
type cdSnapRec struct {
	key, parent string
	id          uint64
	kind        byte
}

// cdNS is what meta.db gets of one namespace.
type cdNS struct {
	images     map[string][3]string // name -> digest, media type, size
	blobs      map[string]int64
	snaps      map[string][2]string // key -> backend name, parent key
	dirs       map[string]string    // key -> its directory of files
	containers []*CDContainer
	topOf      map[*CDImage]string // the image's top chain id
}

// Write writes the root into root (which must not exist or be empty).
func (c *Containerd) Write(root string) (*CDBuilt, error) {
	w := &cdWriter{c: c, root: root, snDir: filepath.Join(root, "io.containerd.snapshotter.v1.overlayfs"),
		b:   &CDBuilt{Root: root, Targets: map[*CDImage]string{}, Configs: map[*CDImage]string{}, Chains: map[*CDImage][]string{}, Blobs: map[*CDImage][]string{}},
		enc: encoding{devices: true, opaque: "trusted.overlay.opaque"}}
	for _, d := range []string{"io.containerd.metadata.v1.bolt", "io.containerd.content.v1.content/blobs/sha256", "io.containerd.snapshotter.v1.overlayfs/snapshots"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0700); err != nil {
			return nil, err
		}
	}
	nss := map[string]*cdNS{}
	for _, ns := range c.Namespaces {
		n, err := w.namespace(ns)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns.Name, err)
		}
		nss[ns.Name] = n
	}
	if err := writeLayers(w.jobs); err != nil {
		return nil, err
	}
	if err := w.metaDB(nss); err != nil {
		return nil, err
	}
	return w.b, w.snapshotterDB()
}

// blob puts data in the content store and returns its digest.
func (w *cdWriter) blob(n *cdNS, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	n.blobs["sha256:"+h] = int64(len(data))
	return "sha256:" + h, os.WriteFile(filepath.Join(w.root, "io.containerd.content.v1.content/blobs/sha256", h), data, 0444)
}

func (w *cdWriter) namespace(ns *CDNamespace) (*cdNS, error) {
	n := &cdNS{images: map[string][3]string{}, blobs: map[string]int64{}, snaps: map[string][2]string{}, dirs: map[string]string{}, topOf: map[*CDImage]string{}}
	for _, img := range ns.Images {
		if err := w.image(ns.Name, n, img); err != nil {
			return nil, err
		}
	}
	for _, ct := range ns.Containers {
		if err := w.container(ns.Name, n, ct); err != nil {
			return nil, fmt.Errorf("container %s: %w", ct.ID, err)
		}
	}
	return n, nil
}

// image writes an image's blobs, and unless NoUnpack its snapshots.
func (w *cdWriter) image(ns string, n *cdNS, img *CDImage) error {
	type desc struct {
		MediaType string            `json:"mediaType"`
		Digest    string            `json:"digest"`
		Size      int64             `json:"size"`
		Platform  map[string]string `json:"platform,omitempty"`
	}
	var diffIDs []string
	var layers []desc
	var history []map[string]any
	for _, l := range img.Layers {
		var tb bytes.Buffer
		if err := WriteTar(&tb, l); err != nil {
			return err
		}
		data, mt, err := compressLayer(img.Compression, tb.Bytes())
		if err != nil {
			return err
		}
		d, err := w.blob(n, data)
		if err != nil {
			return err
		}
		diffIDs = append(diffIDs, imagetar.Digest(tb.Bytes()))
		w.b.Blobs[img] = append(w.b.Blobs[img], d)
		layers = append(layers, desc{MediaType: mt, Digest: d, Size: int64(len(data))})
		history = append(history, map[string]any{"created": layerCreated(l).UTC().Format(time.RFC3339Nano), "created_by": "/bin/sh -c " + l.CreatedBy})
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": runtime.GOARCH, "os": "linux", "created": DefaultTime.UTC().Format(time.RFC3339Nano),
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}, "history": history, "config": map[string]any{"Cmd": []string{"sh"}}})
	cd, err := w.blob(n, cfg)
	if err != nil {
		return err
	}
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": cdManifestType,
		"config": desc{MediaType: cdConfigType, Digest: cd, Size: int64(len(cfg))}, "layers": layers})
	target, err := w.blob(n, man)
	if err != nil {
		return err
	}
	mediaType, size := cdManifestType, len(man)
	if img.Index {
		other := sha256.Sum256([]byte("absent arm64 manifest of " + target))
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": cdIndexType, "manifests": []desc{
			{MediaType: cdManifestType, Digest: "sha256:" + hex.EncodeToString(other[:]), Size: 500, Platform: map[string]string{"os": "linux", "architecture": otherArch()}},
			{MediaType: cdManifestType, Digest: target, Size: int64(len(man)), Platform: map[string]string{"os": "linux", "architecture": runtime.GOARCH}},
		}})
		if target, err = w.blob(n, idx); err != nil {
			return err
		}
		mediaType, size = cdIndexType, len(idx)
	}
	w.b.Targets[img], w.b.Configs[img] = target, cd
	for _, name := range img.Names {
		n.images[name] = [3]string{target, mediaType, fmt.Sprint(size)}
	}
	parent := ""
	for i, l := range img.Layers {
		chain := diffIDs[0]
		if i > 0 {
			sum := sha256.Sum256([]byte(parent + " " + diffIDs[i]))
			chain = "sha256:" + hex.EncodeToString(sum[:])
		}
		if _, done := n.snaps[chain]; !done && !img.NoUnpack {
			x, err := expand(l)
			if err != nil {
				return err
			}
			y, _ := overlayForm(x, w.enc, nil)
			w.snapshot(ns, n, chain, parent, y, cdCommittedKind, "layer "+chain)
		}
		if !img.NoUnpack {
			w.b.Chains[img] = append([]string{n.dirs[chain]}, w.b.Chains[img]...)
		}
		parent = chain
	}
	n.topOf[img] = parent
	return nil
}

// Snapshot kinds as metadata.db keeps them.
const (
	cdActiveKind    = 2
	cdCommittedKind = 3
)

// snapshot queues a snapshot's directory and records it in both
// databases: its backend key is <ns>/<id>/<key>, as containerd's
// metadata snapshotter names them.
func (w *cdWriter) snapshot(ns string, n *cdNS, key, parent string, x *expanded, kind byte, what string) {
	w.nextID++
	id := w.nextID
	dir := filepath.Join(w.snDir, "snapshots", fmt.Sprint(id))
	w.jobs = append(w.jobs, layerJob{dir: filepath.Join(dir, "fs"), x: x, what: what})
	_ = os.MkdirAll(filepath.Join(dir, "work"), 0700)
	name := fmt.Sprintf("%s/%d/%s", ns, id, key)
	backendParent := ""
	if parent != "" {
		backendParent = n.snaps[parent][0]
	}
	n.snaps[key] = [2]string{name, parent}
	n.dirs[key] = filepath.Join(dir, "fs")
	w.snaps = append(w.snaps, cdSnapRec{key: name, parent: backendParent, id: id, kind: kind})
}

// container writes a container's snapshots (its init one first for
// Docker's) and, for Docker's, its config.
func (w *cdWriter) container(ns string, n *cdNS, ct *CDContainer) error {
	top, ok := n.topOf[ct.Image]
	if !ok {
		return fmt.Errorf("its image is not in namespace %s", ns)
	}
	below := make([]*expanded, 0, len(ct.Image.Layers)+1)
	for i := len(ct.Image.Layers) - 1; i >= 0; i-- {
		x, err := expand(ct.Image.Layers[i])
		if err != nil {
			return err
		}
		below = append(below, x)
	}
	parent := top
	if ct.Docker {
		x, err := expand(orEmpty(ct.Init))
		if err != nil {
			return err
		}
		y, _ := overlayForm(x, w.enc, mergeExpanded(below))
		w.snapshot(ns, n, ct.ID+"-init", parent, y, cdCommittedKind, "init of "+ct.ID)
		below = append([]*expanded{x}, below...)
		parent = ct.ID + "-init"
	}
	x, err := expand(orEmpty(ct.RW))
	if err != nil {
		return err
	}
	y, _ := overlayForm(x, w.enc, mergeExpanded(below))
	w.snapshot(ns, n, ct.ID, parent, y, cdActiveKind, "container "+ct.ID)
	if !ct.Docker {
		n.containers = append(n.containers, ct)
		return nil
	}
	if w.c.DockerRoot == "" {
		return fmt.Errorf("a Docker container, but no DockerRoot")
	}
	// Its /etc/hostname, /etc/hosts and /etc/resolv.conf, which Docker
	// bind-mounts from its directory, as before Docker 29.
	dir := filepath.Join(w.c.DockerRoot, "containers", ct.ID)
	if err := os.MkdirAll(dir, 0700); err != nil {
		return err
	}
	for name, data := range map[string]string{"hostname": ct.ID[:12] + "\n", "hosts": "127.0.0.1\tlocalhost\n", "resolv.conf": "nameserver 192.0.2.53\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0644); err != nil {
			return err
		}
	}
	cfg, _ := json.Marshal(map[string]any{"ID": ct.ID, "Created": DefaultTime.UTC().Format(time.RFC3339Nano), "Path": "sh", "Args": []string{},
		"Image": w.b.Targets[ct.Image], "Name": "/" + ct.ID[:12], "Driver": "overlayfs", "ImagePlatform": map[string]string{"os": "linux", "architecture": runtime.GOARCH},
		"HostnamePath": filepath.Join(dir, "hostname"), "HostsPath": filepath.Join(dir, "hosts"), "ResolvConfPath": filepath.Join(dir, "resolv.conf"),
		"State": map[string]any{"Running": false, "ExitCode": 0}, "Config": map[string]any{"Image": ct.Image.Names[0], "Cmd": []string{"sh"}, "Labels": ct.Labels}})
	return os.WriteFile(filepath.Join(dir, "config.v2.json"), cfg, 0600)
}

func orEmpty(l *Layer) *Layer {
	if l == nil {
		return &Layer{}
	}
	return l
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// metaDB writes io.containerd.metadata.v1.bolt/meta.db.
func (w *cdWriter) metaDB(nss map[string]*cdNS) error {
	stamp, _ := DefaultTime.UTC().MarshalBinary()
	return writeBolt(filepath.Join(w.root, "io.containerd.metadata.v1.bolt/meta.db"), func(tx *bolt.Tx) error {
		v1, err := tx.CreateBucket([]byte("v1"))
		if err != nil {
			return err
		}
		if err := v1.Put([]byte("version"), uvarintBytes(3)); err != nil {
			return err
		}
		for name, n := range nss {
			nb, err := v1.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for img, t := range n.images {
				ib := bucketPath(nb, "images", img)
				ib.Put([]byte("createdat"), stamp)
				ib.Put([]byte("updatedat"), stamp)
				tb := bucketPath(ib, "target")
				tb.Put([]byte("digest"), []byte(t[0]))
				tb.Put([]byte("mediatype"), []byte(t[1]))
				var size int64
				fmt.Sscan(t[2], &size)
				tb.Put([]byte("size"), varintBytes(size))
			}
			for d, size := range n.blobs {
				bb := bucketPath(nb, "content", "blob", d)
				bb.Put([]byte("size"), varintBytes(size))
				bb.Put([]byte("createdat"), stamp)
			}
			for key, sn := range n.snaps {
				sb := bucketPath(nb, "snapshots", "overlayfs", key)
				sb.Put([]byte("name"), []byte(sn[0]))
				if sn[1] != "" {
					sb.Put([]byte("parent"), []byte(sn[1]))
				}
				sb.Put([]byte("createdat"), stamp)
			}
			for _, ct := range n.containers {
				cb := bucketPath(nb, "containers", ct.ID)
				cb.Put([]byte("image"), []byte(ct.Image.Names[0]))
				cb.Put([]byte("snapshotter"), []byte("overlayfs"))
				cb.Put([]byte("snapshotKey"), []byte(ct.ID))
				cb.Put([]byte("createdat"), stamp)
				cb.Put([]byte("spec"), anyProto("types.containerd.io/opencontainers/runtime-spec/1/Spec", []byte(`{"process":{"args":["sh","-c","true"]}}`)))
				for k, v := range ct.Labels {
					bucketPath(cb, "labels").Put([]byte(k), []byte(v))
				}
			}
		}
		return nil
	})
}

// snapshotterDB writes the overlayfs snapshotter's metadata.db.
func (w *cdWriter) snapshotterDB() error {
	return writeBolt(filepath.Join(w.snDir, "metadata.db"), func(tx *bolt.Tx) error {
		v1, err := tx.CreateBucket([]byte("v1"))
		if err != nil {
			return err
		}
		if _, err := v1.CreateBucket([]byte("parents")); err != nil {
			return err
		}
		for _, s := range w.snaps {
			sb := bucketPath(v1, "snapshots", s.key)
			sb.Put([]byte("id"), uvarintBytes(s.id))
			sb.Put([]byte("kind"), []byte{s.kind})
			if s.parent != "" {
				sb.Put([]byte("parent"), []byte(s.parent))
			}
		}
		return nil
	})
}

// writeBolt makes the bbolt database p with f.
func writeBolt(p string, f func(*bolt.Tx) error) error {
	db, err := bolt.Open(p, 0600, nil)
	if err != nil {
		return err
	}
	if err := db.Update(f); err != nil {
		db.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return db.Close()
}

// bucketPath is the bucket at path under b, made as needed.
func bucketPath(b *bolt.Bucket, path ...string) *bolt.Bucket {
	for _, p := range path {
		nb, err := b.CreateBucketIfNotExists([]byte(p))
		if err != nil {
			panic(fmt.Sprintf("bucket %q: %v", p, err)) // only for keys that cannot be (empty, or a value's)
		}
		b = nb
	}
	return b
}

func uvarintBytes(v uint64) []byte { return binary.AppendUvarint(nil, v) }
func varintBytes(v int64) []byte   { return binary.AppendVarint(nil, v) }

// anyProto is a protobuf google.protobuf.Any of typeURL and value.
func anyProto(typeURL string, value []byte) []byte {
	b := binary.AppendUvarint([]byte{0x0a}, uint64(len(typeURL)))
	b = append(b, typeURL...)
	b = append(b, 0x12)
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// View is the merged view of img: its layers in the kernel's overlay
// form, the roots merged (the kernel never makes a layer's root opaque).
func (b *CDBuilt) View(img *CDImage) []Node {
	return (&Built{Driver: DriverOverlay2}).view(reversed(img.Layers), 0)
}

// ContainerView is View for a container: its own snapshots over its
// image's.
func (b *CDBuilt) ContainerView(ct *CDContainer) []Node {
	own := []*Layer{orEmpty(ct.RW)}
	if ct.Docker {
		own = append(own, orEmpty(ct.Init))
	}
	return (&Built{Driver: DriverOverlay2}).view(append(own, reversed(ct.Image.Layers)...), len(own))
}

// PodLabels are the labels containerd's CRI gives a container of a
// Kubernetes pod, or with container "" the pod's sandbox (pause).
func PodLabels(namespace, pod, container string) map[string]string {
	l := map[string]string{"io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.name": pod, "io.cri-containerd.kind": "sandbox"}
	if container != "" {
		l["io.cri-containerd.kind"], l["io.kubernetes.container.name"] = "container", container
	}
	return l
}
