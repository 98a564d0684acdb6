// Package layerstore reads a Docker root directory that used the aufs
// storage driver, in either of its two layouts (pre-1.10 graph/ with
// repositories-aufs, and 1.10+ image/aufs/), strictly read-only.
//
// It lists images and containers and resolves what a user types (a
// name, name:tag, name@digest, an id, an id prefix, a container name)
// to the ordered list of aufs/diff directories that make up its root
// filesystem, top first, after cross-checking every piece of metadata
// that names the chain. Nothing read from the store is ever used as a
// path before it is checked to be a plain hex id.
package layerstore
