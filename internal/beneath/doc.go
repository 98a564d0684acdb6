// Package beneath opens paths inside a directory tree taken from a
// Docker store without ever leaving it or following anything it holds:
// every path is resolved from the tree's root with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS (before Linux
// 5.6, one component at a time with O_NOFOLLOW), so neither a symlink
// nor ".." leads out. As root the tree is reached through a private,
// detached, read-only, noatime clone of its mount, so nothing read
// through it can write to the store or move an atime.
//
// It is the one place where a layer's files are opened: by the FUSE
// union, by its non-FUSE view, and by the store reader checking a
// layer's directory against its tar-split.
package beneath
