package fs

import (
	"log"
	"time"

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
