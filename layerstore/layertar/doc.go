// Package layertar gives back an image layer's original tar stream, byte
// for byte, from the tar-split Docker kept of it and the layer's
// directory, and checks the directory against what the tar-split records
// (docs/formats.md): every header against the entry on disk, every
// file's content against its recorded size and crc64, and the directory
// for entries the tar never had.
//
// Files are opened beneath the layer's root without following anything
// (package beneath): tar-split's own path getter follows symlinks and is
// never used on a store. The stream's sha256 is the layer's diff id.
package layertar
