package whiteout

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The aufs names, which Docker also writes into every layer tar (the OCI
// image spec took them over). aufs tells them by name alone: on a live
// branch a whiteout is a hard link of .wh..wh.aufs, in a layer unpacked
// from a tar a plain empty file; either way only the name counts.
const (
	// Prefix starts a whiteout: ".wh.<name>" hides <name>.
	Prefix = ".wh."
	// MetaPrefix starts aufs bookkeeping (.wh..wh.aufs, .wh..wh.plnk/,
	// .wh..wh.orph/): never shown, never merged, never descended into.
	MetaPrefix = ".wh..wh."
	// OpaqueName in a directory makes that directory opaque.
	OpaqueName = ".wh..wh..opq"
)

// Kind is what one name of a layer directory means to the union.
type Kind int

const (
	Plain    Kind = iota // an ordinary entry, shown
	Whiteout             // hides Target in the layers below
	Opaque               // marks its directory opaque (and is not shown)
	Meta                 // the filesystem's own bookkeeping: never shown
)

var kindNames = [...]string{"plain", "whiteout", "opaque", "meta"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Encoding is one way of marking whiteouts and opaque directories.
type Encoding struct {
	Name string
	// DotFiles: ".wh.<name>" is a whiteout of <name>, ".wh..wh..opq" makes
	// its directory opaque, any other ".wh..wh.*" is bookkeeping. Only the
	// name counts, whatever the entry's type.
	DotFiles bool
	// Devices: a character device numbered 0/0 is a whiteout of its own
	// name (overlayfs). Any other device is a device.
	Devices bool
	// OpaqueXattrs: a directory that has one of these attributes with the
	// value "y" is opaque. Other values ("x", which newer kernels use for
	// a directory holding xattr whiteouts, or garbage) are not.
	OpaqueXattrs []string
	// PrivateXattrs: prefixes of attribute names that belong to the
	// filesystem that wrote the layer, never to the image: not shown.
	PrivateXattrs []string
	// RootNotOpaque: a layer's root directory is never opaque, whatever
	// it is marked with. The kernel's overlayfs merges every layer's root
	// (a layer tar's ./.wh..wh..opq becomes an xattr it does not read);
	// aufs and fuse-overlayfs honour the marker.
	RootNotOpaque bool
}

// The encodings, by the drivers that use them (docs/whiteouts.md).
var (
	// Aufs is the aufs driver's.
	Aufs = &Encoding{Name: "aufs", DotFiles: true}
	// Overlay is overlay2's, and an overlay v1 container's upper
	// directory: what the kernel's overlayfs reads. Rootless engines
	// mount with userxattr, and so write user.overlay.*.
	Overlay = &Encoding{
		Name:          "overlay",
		Devices:       true,
		OpaqueXattrs:  []string{"trusted.overlay.opaque", "user.overlay.opaque"},
		PrivateXattrs: []string{"trusted.overlay.", "user.overlay."},
		RootNotOpaque: true,
	}
	// FuseOverlayfs is what fuse-overlayfs reads and writes: 0/0 devices
	// where it may create them, ".wh." files where it may not, and either
	// opaque form.
	FuseOverlayfs = &Encoding{
		Name:          "fuse-overlayfs",
		DotFiles:      true,
		Devices:       true,
		OpaqueXattrs:  []string{"trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"},
		PrivateXattrs: []string{"trusted.overlay.", "user.overlay.", "user.fuseoverlayfs."},
	}
	// None is a whole tree with nothing deleted in it (vfs, overlay v1's
	// root/): every name is plain.
	None = &Encoding{Name: "none"}
)

// All is every encoding, for tests and for ByName.
var All = []*Encoding{Aufs, Overlay, FuseOverlayfs, None}

// ByName returns the encoding called name, or nil.
func ByName(name string) *Encoding {
	for _, e := range All {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// The file types Classify is told, as the S_IFMT bits of st_mode.
const (
	modeType = 0o170000
	modeChr  = 0o020000
)

// NeedsRdev reports whether Classify needs the device number of an
// entry of this type (mode's S_IFMT bits) to tell what it is.
func (e *Encoding) NeedsRdev(mode uint32) bool {
	return e.Devices && mode&modeType == modeChr
}

// Classify tells what the entry name of type mode (S_IFMT bits; 0 when
// unknown) and device number rdev means. For a whiteout it also returns
// the name it hides, or "" when it hides nothing: ".", ".." or an empty
// name, which no directory lists.
func (e *Encoding) Classify(name string, mode uint32, rdev uint64) (Kind, string) {
	if e.DotFiles && strings.HasPrefix(name, Prefix) {
		switch {
		case name == OpaqueName:
			return Opaque, ""
		case strings.HasPrefix(name, MetaPrefix):
			return Meta, ""
		}
		target := name[len(Prefix):]
		if target == "" || target == "." || target == ".." || strings.Contains(target, "/") {
			return Whiteout, ""
		}
		return Whiteout, target
	}
	if e.Devices && mode&modeType == modeChr && rdev == 0 {
		return Whiteout, name
	}
	return Plain, ""
}

// CanBeOpaque reports whether directory dir ("" for the root) of a layer
// can be opaque.
func (e *Encoding) CanBeOpaque(dir string) bool { return dir != "" || !e.RootNotOpaque }

// OpaqueValue reports whether attribute name with value val makes a
// directory opaque.
func (e *Encoding) OpaqueValue(name string, val []byte) bool {
	for _, x := range e.OpaqueXattrs {
		if x == name {
			return string(val) == "y"
		}
	}
	return false
}

// Private reports whether the attribute name is the filesystem's own.
func (e *Encoding) Private(name string) bool {
	for _, p := range e.PrivateXattrs {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// MarshalJSON writes an encoding as its name, so that a layer handed to
// another process names one of the table's rows.
func (e *Encoding) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.Name)
}

// UnmarshalJSON reads an encoding's name back into the table's row.
func (e *Encoding) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	row := ByName(name)
	if row == nil {
		return fmt.Errorf("unknown whiteout encoding %q", name)
	}
	*e = *row
	return nil
}
