// Package layerstore reads a Docker root directory, strictly read-only:
// the stores of the aufs driver in either of its two layouts (pre-1.10
// graph/ with repositories-aufs, and 1.10+ image/aufs/), and of
// overlay2, fuse-overlayfs, overlay and vfs (docs/drivers.md; a driver is
// one file, driver_*.go), or a root that a host used with several.
//
// It lists images and containers and resolves what a user types (a
// name, name:tag, name@digest, an id, an id prefix, a container name)
// to the ordered list of layer directories that make up its root
// filesystem, top first, each with its whiteout encoding, after
// cross-checking every piece of metadata that names the chain. It also
// tells what a copy of the store lost, from the layers' tar-splits
// (copies.go, docs/copies.md). Nothing read from the store is ever used as a
// path before it is checked to be a plain hex id.
package layerstore
