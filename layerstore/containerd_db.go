package layerstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// containerd's two bbolt databases (docs/containerd.md), as its source
// names their buckets (core/metadata/buckets.go,
// core/snapshots/storage/bolt.go). Both are opened read-only, without
// updating their atime, and read once, whole, at open.

// boltWait is how long to wait for a live engine's lock on a database.
const boltWait = 500 * time.Millisecond

// openBolt opens the bbolt database p read-only. bbolt would initialize
// a short file as a new database, i.e. write it: one that is not a
// regular file of at least a page is refused first. A live engine (who)
// holding the lock is reported as "in use".
func openBolt(p, who string) (*bolt.DB, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() < 4096 {
		return nil, fmt.Errorf("not a bbolt database (%s, %d bytes)", st.Mode().Type(), st.Size())
	}
	db, err := bolt.Open(p, 0, &bolt.Options{ReadOnly: true, Timeout: boltWait,
		OpenFile: func(name string, flag int, _ os.FileMode) (*os.File, error) {
			return openNoatime(name, flag&^(os.O_CREATE|os.O_RDWR|os.O_WRONLY)|os.O_RDONLY|syscall.O_NOFOLLOW)
		}})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("in use: a live %s holds it", who)
	}
	return db, err
}

// cdMeta is what meta.db says, by namespace.
type cdMeta map[string]*cdNamespace

// cdNamespace is one namespace of meta.db.
type cdNamespace struct {
	images     []cdImageEntry
	containers []cdContainerEntry
	// snapshots, by snapshotter, then by the namespace's key
	// ("sha256:<chain id>", a container's key).
	snapshots map[string]map[string]cdNsSnap
	blobs     map[string]bool // the content digests the namespace holds
}

// cdImageEntry is images/<name>.
type cdImageEntry struct {
	name, digest, mediaType string
	created, updated        time.Time
	labels                  map[string]string
}

// cdContainerEntry is containers/<id>.
type cdContainerEntry struct {
	id, image, snapshotter, snapshotKey string
	created                             time.Time
	labels                              map[string]string
	spec                                []byte // the OCI spec (JSON) inside its protobuf Any; nil when unreadable
}

// cdNsSnap is snapshots/<snapshotter>/<key>: its key in the
// snapshotter's own database, and its parent's key in the namespace.
type cdNsSnap struct{ name, parent string }

// readMeta reads every namespace of meta.db.
func readMeta(p string) (cdMeta, error) {
	db, err := openBolt(p, "containerd")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := cdMeta{}
	err = db.View(func(tx *bolt.Tx) error {
		v1 := tx.Bucket([]byte("v1"))
		if v1 == nil {
			return errors.New("no v1 bucket: not a containerd metadata database of schema v1")
		}
		return v1.ForEach(func(k, v []byte) error {
			if b := v1.Bucket(k); v == nil && b != nil {
				out[string(k)] = readNamespace(b)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func readNamespace(b *bolt.Bucket) *cdNamespace {
	ns := &cdNamespace{snapshots: map[string]map[string]cdNsSnap{}, blobs: map[string]bool{}}
	eachBucket(b.Bucket([]byte("images")), func(name string, ib *bolt.Bucket) {
		e := cdImageEntry{name: name, labels: readLabels(ib)}
		e.created, e.updated = readTime(ib, "createdat"), readTime(ib, "updatedat")
		if t := ib.Bucket([]byte("target")); t != nil {
			e.digest, e.mediaType = string(t.Get([]byte("digest"))), string(t.Get([]byte("mediatype")))
		}
		ns.images = append(ns.images, e)
	})
	eachBucket(b.Bucket([]byte("containers")), func(id string, cb *bolt.Bucket) {
		ns.containers = append(ns.containers, cdContainerEntry{
			id: id, image: string(cb.Get([]byte("image"))), snapshotter: string(cb.Get([]byte("snapshotter"))),
			snapshotKey: string(cb.Get([]byte("snapshotKey"))), created: readTime(cb, "createdat"),
			labels: readLabels(cb), spec: bytes.Clone(anyValue(cb.Get([]byte("spec")))), // bbolt's bytes live only as long as its transaction
		})
	})
	eachBucket(b.Bucket([]byte("snapshots")), func(sn string, sb *bolt.Bucket) {
		keys := map[string]cdNsSnap{}
		eachBucket(sb, func(key string, kb *bolt.Bucket) {
			keys[key] = cdNsSnap{name: string(kb.Get([]byte("name"))), parent: string(kb.Get([]byte("parent")))}
		})
		ns.snapshots[sn] = keys
	})
	if c := b.Bucket([]byte("content")); c != nil {
		eachBucket(c.Bucket([]byte("blob")), func(dgst string, _ *bolt.Bucket) { ns.blobs[dgst] = true })
	}
	return ns
}

// eachBucket calls f for every sub-bucket of b (nil: none), by key.
func eachBucket(b *bolt.Bucket, f func(key string, sub *bolt.Bucket)) {
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, v []byte) error {
		if sub := b.Bucket(k); v == nil && sub != nil {
			f(string(k), sub)
		}
		return nil
	})
}

// readLabels is the labels/ bucket of b.
func readLabels(b *bolt.Bucket) map[string]string {
	lb := b.Bucket([]byte("labels"))
	if lb == nil {
		return nil
	}
	out := map[string]string{}
	_ = lb.ForEach(func(k, v []byte) error {
		if v != nil {
			out[string(k)] = string(v)
		}
		return nil
	})
	return out
}

// readTime is a time.MarshalBinary value of b; zero when absent or bad.
func readTime(b *bolt.Bucket, key string) time.Time {
	var t time.Time
	if v := b.Get([]byte(key)); v != nil && t.UnmarshalBinary(v) != nil {
		return time.Time{}
	}
	return t
}

// anyValue is the value (field 2) of a protobuf google.protobuf.Any, as
// containerd stores a container's spec; nil when it does not parse.
func anyValue(b []byte) []byte {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag&7 != 2 { // only length-delimited fields are expected
			return nil
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil
		}
		field := b[n : n+int(l)]
		b = b[n+int(l):]
		if tag>>3 == 2 {
			return field
		}
	}
	return nil
}

// cdSnap is one snapshot of a snapshotter's metadata.db.
type cdSnap struct {
	id     string // its directory under snapshots/: a decimal number
	kind   byte   // cdView, cdActive, cdCommitted
	parent string // its parent's key in the same database
	size   int64  // -1 when not recorded
	err    error  // why the entry cannot be used
}

// Snapshot kinds (core/snapshots: KindView, KindActive, KindCommitted).
const (
	cdView      = 1
	cdActive    = 2
	cdCommitted = 3
)

// readSnapshotter reads v1/snapshots of a snapshotter's metadata.db, by
// key.
func readSnapshotter(p string) (map[string]cdSnap, error) {
	db, err := openBolt(p, "containerd")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[string]cdSnap{}
	err = db.View(func(tx *bolt.Tx) error {
		v1 := tx.Bucket([]byte("v1"))
		if v1 == nil {
			return errors.New("no v1 bucket: not a containerd snapshotter database")
		}
		eachBucket(v1.Bucket([]byte("snapshots")), func(key string, b *bolt.Bucket) {
			out[key] = readSnap(b)
		})
		return nil
	})
	return out, err
}

func readSnap(b *bolt.Bucket) cdSnap {
	sn := cdSnap{parent: string(b.Get([]byte("parent"))), size: -1}
	if k := b.Get([]byte("kind")); len(k) == 1 {
		sn.kind = k[0]
	}
	if v := b.Get([]byte("size")); v != nil {
		if n, l := binary.Varint(v); l == len(v) && n >= 0 {
			sn.size = n
		}
	}
	id, err := uvarint(b.Get([]byte("id")))
	if err != nil {
		sn.err = fmt.Errorf("id: %w", err)
		return sn
	}
	sn.id = strconv.FormatUint(id, 10)
	return sn
}

// uvarint decodes v, which must be one whole unsigned varint: an
// oversized, truncated or trailing one is an error.
func uvarint(v []byte) (uint64, error) {
	if len(v) == 0 {
		return 0, errors.New("missing")
	}
	n, l := binary.Uvarint(v)
	switch {
	case l < 0:
		return 0, fmt.Errorf("varint of %d bytes overflows 64 bits", len(v))
	case l == 0:
		return 0, fmt.Errorf("varint of %d bytes is truncated", len(v))
	case l != len(v):
		return 0, fmt.Errorf("%d bytes after the varint", len(v)-l)
	}
	return n, nil
}
