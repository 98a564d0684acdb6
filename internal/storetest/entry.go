package storetest

import (
	"fmt"
	"maps"
	"time"
)

// Kind is what an Entry makes in its layer directory.
type Kind int

const (
	File     Kind = iota // a regular file (the zero Kind)
	Dir                  // a directory
	Symlink              // a symbolic link to Target, never followed
	Hardlink             // a second name for the earlier entry Target of the same layer
	CharDev              // a character device Major:Minor
	BlockDev             // a block device Major:Minor
	Fifo                 // a named pipe
	Socket               // a unix socket node
	Whiteout             // Path "dir/name" writes the aufs whiteout "dir/.wh.name"
	Opaque               // Path "dir" writes the aufs opaque marker "dir/.wh..wh..opq"
)

var kindNames = [...]string{"file", "dir", "symlink", "hardlink", "chardev", "blockdev", "fifo", "socket", "whiteout", "opaque"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ModeNone in Entry.Mode asks for permission bits 0000 (Mode 0 means the
// default for the kind).
const ModeNone uint32 = 1 << 31

// DefaultTime is the mtime and atime of every entry and directory that
// does not give its own, so that trees are reproducible.
var DefaultTime = time.Date(2016, 4, 21, 10, 42, 7, 0, time.UTC)

// Entry is one name in a layer directory.
type Entry struct {
	// Path is slash-separated, relative to the layer root, without a
	// leading slash. A name may hold any byte but NUL and "/" (spaces,
	// newlines, invalid UTF-8 ...). "" names the layer root itself
	// (for Dir and Opaque only).
	Path string
	Kind Kind
	// Mode holds the permission bits with setuid, setgid and sticky
	// (07777). 0 means 0644 for files and fifos, 0755 for directories and
	// sockets, 0660 for devices, 0444 for whiteouts and opaque markers (as
	// aufs makes them); ModeNone means 0000.
	// Symlinks are always 0777 on Linux; hard links share their target's.
	Mode     uint32
	UID, GID int
	// Data is a file's content. When Size > len(Data) the file is
	// extended to Size: with a hole when Sparse, otherwise with the
	// deterministic pseudo-random bytes of Content.
	Data   []byte
	Size   int64
	Sparse bool
	// Target is a symlink's target as written, or for a Hardlink the
	// Path of an earlier entry of the same layer.
	Target       string
	Major, Minor uint32
	// Xattrs are set with lsetxattr: user.*, trusted.*,
	// security.capability (which must be a valid vfs_cap_data) ...
	Xattrs map[string]string
	// Zero Mtime means DefaultTime; zero Atime means Mtime.
	Mtime, Atime time.Time
}

// F is a regular file holding data.
func F(path, data string) Entry { return Entry{Path: path, Kind: File, Data: []byte(data)} }

// D is a directory.
func D(path string) Entry { return Entry{Path: path, Kind: Dir} }

// L is a symlink to target, as written.
func L(path, target string) Entry { return Entry{Path: path, Kind: Symlink, Target: target} }

// H is a hard link to target, the Path of an earlier entry of the layer.
func H(path, target string) Entry { return Entry{Path: path, Kind: Hardlink, Target: target} }

// WH whites out path ("dir/name" writes "dir/.wh.name").
func WH(path string) Entry { return Entry{Path: path, Kind: Whiteout} }

// OPQ makes dir opaque ("dir" writes "dir/.wh..wh..opq"; "" the layer root).
func OPQ(dir string) Entry { return Entry{Path: dir, Kind: Opaque} }

// Mknod is a device, fifo or socket node: k is CharDev, BlockDev, Fifo or Socket.
func Mknod(path string, k Kind, major, minor uint32) Entry {
	return Entry{Path: path, Kind: k, Major: major, Minor: minor}
}

// Big is a regular file of size bytes of deterministic pseudo-random content.
func Big(path string, size int64) Entry { return Entry{Path: path, Kind: File, Size: size} }

// SparseFile is a regular file holding data followed by a hole up to size.
func SparseFile(path, data string, size int64) Entry {
	return Entry{Path: path, Kind: File, Data: []byte(data), Size: size, Sparse: true}
}

// WithMode returns e with permission bits mode (07777; ModeNone for 0000).
func (e Entry) WithMode(mode uint32) Entry { e.Mode = mode; return e }

// WithOwner returns e owned by uid:gid.
func (e Entry) WithOwner(uid, gid int) Entry { e.UID, e.GID = uid, gid; return e }

// WithXattr returns e with the extended attribute name set to value.
func (e Entry) WithXattr(name, value string) Entry {
	x := make(map[string]string, len(e.Xattrs)+1)
	maps.Copy(x, e.Xattrs)
	x[name] = value
	e.Xattrs = x
	return e
}

// WithTimes returns e with the given modification and access times.
func (e Entry) WithTimes(mtime, atime time.Time) Entry { e.Mtime, e.Atime = mtime, atime; return e }

// WithMtime returns e with the given modification time (atime follows it).
func (e Entry) WithMtime(mtime time.Time) Entry { e.Mtime = mtime; return e }

// FileSize is the size of a regular file entry: max(len(Data), Size).
func (e Entry) FileSize() int64 {
	return max(int64(len(e.Data)), e.Size)
}

// perm is the permission bits the entry gets on disk.
func (e Entry) perm() uint32 {
	if e.Mode&ModeNone != 0 {
		return 0
	}
	if m := e.Mode & 07777; m != 0 {
		return m
	}
	switch e.Kind {
	case Dir, Socket:
		return 0755
	case Symlink:
		return 0777
	case CharDev, BlockDev:
		return 0660
	case Whiteout, Opaque:
		return 0444
	}
	return 0644
}

// normalized returns e with its defaults filled in: Mode holds the
// permission bits it gets, Mtime and Atime are set.
func (e Entry) normalized() Entry {
	e.Mode = e.perm()
	if e.Mtime.IsZero() {
		e.Mtime = DefaultTime
	}
	if e.Atime.IsZero() {
		e.Atime = e.Mtime
	}
	return e
}

// Layer is one layer of an image or container: what its aufs/diff
// directory holds.
type Layer struct {
	// CreatedBy is the Dockerfile step that made it; the metadata says
	// "/bin/sh -c " + CreatedBy, as docker build wrote it.
	CreatedBy string
	Entries   []Entry
	// Created is the layer's creation time; zero means DefaultTime.
	Created time.Time
	// Empty marks a step that changes only the configuration (ENV, CMD
	// ...): with LayoutCAS it is only a history entry with "empty_layer";
	// with LayoutGraph it is a layer with an empty directory, as
	// pre-1.10 Docker made. An Empty layer has no Entries.
	Empty bool
	// Tar, when set, is the layer's tar stream as another tool wrote it
	// (GNU tar --sparse: GNUSparseTar), in place of Entries': WriteTar
	// writes it as it is. Only archives and containerd blobs of images
	// not unpacked take such a layer.
	Tar []byte
}

// NewLayer is a layer made by createdBy holding entries.
func NewLayer(createdBy string, entries ...Entry) *Layer {
	return &Layer{CreatedBy: createdBy, Entries: entries}
}
