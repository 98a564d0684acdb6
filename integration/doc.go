// Package integration holds the tests that mount for real: stores built
// on disk with internal/storetest in both layouts, mounted with the fs
// package and through the aufsmount binary, walked, and compared entry by
// entry with what the builder wrote. They need root and /dev/fuse; they
// skip without them, except under CI=true, where they fail.
package integration
