// Package verify checks that images and containers of a store hold what
// their layers' original tars did (docs/formats.md): each image layer's
// stream is rebuilt from its tar-split and its directory (layertar),
// without being written anywhere, and two questions are answered of it
// apart. Are its contents intact: is the stream its diff id, every file
// of its recorded size and crc64? Is the directory as Docker unpacked
// it, or does every difference come from a careless copy of the store?
//
// It owns the judging: which layers of which images and containers to
// check, each once however many share it, and which cannot be (a
// container's own layers, a layer without a tar-split); the checks, a
// few layers at a time; each layer's status (OK, LOSSY, MODIFIED,
// UNVERIFIABLE, ERROR) and its verdicts on contents and directory; and
// an image's or container's status, the worst of its layers'.
//
// It never prints: Run returns typed results, and says how far it is
// through Options. The wording, the JSON and the exit status are the
// caller's.
package verify
