package fs

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// The merge tests write listings to real layer directories in an
// encoding and merge them with union.mergeDir, the production path.
// Listings are written in aufs notation ("a b/ .wh.c .wh..wh..opq" per
// layer, "-" for a layer without the directory); materialize turns them
// into each encoding's form on disk.

// How a marker of an aufs-notation listing goes on disk.
const (
	asFile   = iota // as named: a .wh. file, a plain entry
	asMarker        // a 0/0 device for a whiteout, an xattr for opacity
	asNone          // the encoding cannot write it down
)

// form picks how enc writes entry d; dev asks for the device and xattr
// form where enc has both; clash says the layer also holds d's target.
func form(enc *whiteout.Encoding, d dirent, dev, clash bool) int {
	k, target := whiteout.Aufs.Classify(d.name, 0, 0)
	switch {
	case k == whiteout.Plain:
		return asFile
	case enc.DotFiles && !dev:
		return asFile
	case k == whiteout.Opaque && len(enc.OpaqueXattrs) > 0:
		return asMarker
	case k == whiteout.Whiteout && enc.Devices && target != "" && !clash:
		return asMarker
	case enc.DotFiles:
		return asFile
	}
	return asNone // bookkeeping, whiteouts of nothing, a device that would clash, or no markers at all
}

// canExpress drops from an aufs-notation listing what enc cannot write
// down, so that the reference model sees the layer the union does.
// useDevice(name) (nil: never) picks, for an encoding with both forms,
// the device and xattr form for the entry name.
func canExpress(enc *whiteout.Encoding, ls []dirent, useDevice func(name string) bool) []dirent {
	if ls == nil {
		return nil
	}
	out := []dirent{}
	for _, d := range ls {
		if form(enc, d, useDevice != nil && useDevice(d.name), clashes(ls, d)) != asNone {
			out = append(out, d)
		}
	}
	return out
}

// clashes says whether a whiteout d shares the name of its target with
// an entry of the same listing.
func clashes(ls []dirent, d dirent) bool {
	_, target := whiteout.Aufs.Classify(d.name, 0, 0)
	for _, e := range ls {
		if e.name == target {
			return true
		}
	}
	return false
}

// materialize writes listing ls (already cut by canExpress) as directory
// dir in enc's form.
func materialize(t testing.TB, enc *whiteout.Encoding, dir string, ls []dirent, useDevice func(name string) bool) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range ls {
		k, target := whiteout.Aufs.Classify(d.name, 0, 0)
		p := filepath.Join(dir, d.name)
		var err error
		switch f := form(enc, d, useDevice != nil && useDevice(d.name), clashes(ls, d)); {
		case f == asMarker && k == whiteout.Opaque:
			err = unix.Setxattr(dir, enc.OpaqueXattrs[0], []byte("y"), 0)
		case f == asMarker:
			err = unix.Mknod(filepath.Join(dir, target), unix.S_IFCHR|0o600, 0)
		case d.isDir:
			err = os.Mkdir(p, 0o755)
		default:
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			t.Fatalf("writing %s: %v", p, err)
		}
	}
}

// mergeOnDisk writes each listing as directory "d" of its own layer (no
// "d" for a nil listing), then merges "d" as a mount would: the root
// first, then d from the layers the root's entry names.
func mergeOnDisk(t testing.TB, enc *whiteout.Encoding, listings [][]dirent, useDevice func(name string) bool) ([]entry, error) {
	t.Helper()
	base := t.TempDir()
	var layers []Layer
	for i, ls := range listings {
		root := filepath.Join(base, fmt.Sprint(i))
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if ls != nil {
			materialize(t, enc, filepath.Join(root, "d"), ls, useDevice)
		}
		layers = append(layers, Layer{ID: fmt.Sprint(i), Dir: root, Encoding: enc})
	}
	u, err := newUnion(layers, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	root, err := u.rootEntry()
	if err != nil {
		t.Fatal(err)
	}
	top, err := u.mergeDir("", append([]int32{root.layer}, root.lowers...))
	if err != nil {
		return nil, err
	}
	d := find(top, "d")
	if d == nil {
		return nil, nil
	}
	if d.attr.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Fatalf("d is not a directory in the merge")
	}
	return u.mergeDir("d", append([]int32{d.layer}, d.lowers...))
}

// needDevices skips (or, under CI, fails) a test of an encoding whose
// markers only root can write: 0/0 devices and trusted.* xattrs.
func needDevices(t testing.TB, enc *whiteout.Encoding) {
	t.Helper()
	testenv.Require(t, !enc.Devices || os.Geteuid() == 0, "writing %s layers needs root", enc.Name)
}

// byLength alternates the two forms fuse-overlayfs reads.
func byLength(name string) bool { return len(name)%2 == 1 }
