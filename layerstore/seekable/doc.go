// Package seekable reads the uncompressed stream of a compressed layer
// blob at any offset without extracting it: BuildIndex makes one pass
// over the blob (checking its digest and its diff id, and limiting how
// much it may expand), and Open serves io.ReaderAt from the Index that
// pass made.
//
// gzip has no random access of its own. The index records checkpoints
// every Span bytes of output, as zlib's zran.c, indexed_gzip and SOCI's
// zTOC do: at a deflate block boundary, the compressed bit offset, the
// uncompressed offset and the 32 KiB of output before it (the window a
// back-reference may reach). A read starts at the checkpoint at or
// before it. compress/flate cannot start mid-stream or say where its
// blocks begin, and no maintained Go library gives random access into
// ordinary gzip, so the package has its own inflater (inflate.go).
//
// zstd is read with github.com/klauspost/compress/zstd, which can only
// start at a frame. A stream of several small frames (zstd:chunked, the
// seekable format) gets a checkpoint at a frame start every Span bytes.
// A stream in one frame (what docker, containerd and skopeo write), or
// with a frame of more than Span compressed bytes, cannot be resumed
// mid-frame with that library, so the index pass writes the
// decompressed stream to a file in Options.SpillDir, and reads come
// from it (docs/archives.md says why).
//
// The Index has a compact binary form (MarshalBinary) for a cache keyed
// by the blob's digest; the windows in it are deflate-compressed, so it
// stays well under 1% of the uncompressed size at the default span.
package seekable
