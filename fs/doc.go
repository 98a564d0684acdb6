// Package fs serves a read-only union of container image layer
// directories over FUSE (github.com/hanwen/go-fuse/v2), each in its
// driver's whiteout encoding (package layerstore/whiteout).
//
// The layers are stacked top first and merged with the aufs rules (see
// whiteout.go): whiteouts and opaque markers hide what lies below, aufs
// bookkeeping entries never show, directories merge only with
// directories, and symlinks are never followed while merging. Each
// directory is merged once, on first use, into a sorted index; lookups,
// getattr and readdir all answer from that index, so they never disagree,
// and nothing walks the tree at mount time.
//
// Every layer is reached through a private, detached, read-only and
// noatime clone of its mount (open_tree + mount_setattr) where the kernel
// allows it, so the store cannot be written or have its atimes touched
// through this package; every path inside a layer is opened with openat2
// and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so a layer's symlink can never
// lead outside it. Regular files are read through FUSE passthrough where
// the kernel offers it: reads go straight to the layer's file.
//
// Speed comes from round trips not made: entries and attributes are
// trusted for a day (nothing changes while mounted), READDIRPLUS hands
// the kernel a listing with its attributes, directories need no OPENDIR
// or RELEASEDIR (nodiropen.go) and their listings stay in the kernel's
// cache, and while a walker digests one listing the next directory is
// indexed on a spare core (prefetch.go).
package fs
