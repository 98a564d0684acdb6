package fs

import (
	"io"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Layer is one branch of the union: a directory holding one layer's
// files, with whiteouts and opaque directories marked in its encoding.
type Layer struct {
	ID       string             // shown as the user.aufsmount.layer xattr; any string
	Dir      string             // absolute path
	Encoding *whiteout.Encoding // how the layer marks whiteouts; nil: aufs
	// Markers are whiteouts and opaque directories that the layer's
	// tar-split records and its directory lost (a copy without xattrs or
	// device nodes); nil when the directory has them all.
	Markers *whiteout.Markers
	// Restore, when set, gives the layer back the metadata a copy of the
	// store took from its directory (restore.go).
	Restore *Restore `json:",omitempty"`
	// Archive, when set, serves the layer from its tar stream, not from
	// a directory (Dir is then unused): a layer of an image archive
	// (tarlayer.go, docs/archives.md).
	Archive *ArchiveLayer `json:",omitempty"`
}

// ArchiveLayer is a layer blob of an image archive. The command's plan
// carries where it is to the server, which sets Load.
type ArchiveLayer struct {
	Archive string `json:"archive"` // the archive or layout, for messages
	Member  string `json:"member"`  // the blob's name in it
	File    string `json:"file"`    // the file holding the blob, at Offset for Size
	Offset  int64  `json:"offset"`
	Size    int64  `json:"size"`
	Digest  string `json:"digest,omitempty"`  // the blob's
	DiffID  string `json:"diff_id,omitempty"` // its tar stream's
	// Sparse is where a blob that is a sparse member of the archive's
	// tar has its data (layerstore.ArchiveBlob.Sparse).
	Sparse []layertar.Fragment `json:"sparse,omitempty"`
	// NoTrustedXattrs leaves out the tar's trusted.* attributes, which
	// the engine never applies (containerd's blobs).
	NoTrustedXattrs bool `json:"no_trusted_xattrs,omitempty"`
	// Load opens the layer: its tar's index and its uncompressed stream.
	// Called once, as the layer is opened, before anything is mounted;
	// its errors name the blob and the archive.
	Load func() (*TarStream, error) `json:"-"`
}

// TarStream is a layer's tar stream as the view serves it.
type TarStream struct {
	Index *layertar.Index // of the stream (layertar.IndexTar): files' offsets in Data
	// LoadIndex, where Index is nil, gives it: the view calls it once,
	// in the background as the layer opens, and waits for it at the
	// layer's first use.
	LoadIndex func() (*layertar.Index, error)
	Data      io.ReaderAt // the uncompressed stream
	File      *os.File    // the file holding the blob, kept open (statfs)
	// Close releases Data and File.
	Close func() error
}

// Key names what the layer serves, as a directory's path names it: its
// directory, or its blob of an image archive. Two layers of one key
// show the same entries under the same inode numbers.
func (ly Layer) Key() string {
	if ly.Archive != nil {
		return "archive:" + ly.Archive.File + "@" + strconv.FormatInt(ly.Archive.Offset, 10)
	}
	return ly.Dir
}

// Options tune a mount.
type Options struct {
	FsName             string        // the source column of /proc/mounts: the image reference
	AllowOther         bool          // let other users in (allow_other)
	DefaultPermissions bool          // the kernel checks mode bits (default_permissions)
	Debug              bool          // log every FUSE request
	Logger             *log.Logger   // where to log problems met while serving; nil: stderr
	Timeout            time.Duration // entry/attr timeouts; 0: a day (the tree never changes)
	NoExec             bool          // mount noexec: nothing in the view can be executed
	NoAtime            bool          // mount noatime (the view never updates times anyway)
}

// See Mount in mount.go.
