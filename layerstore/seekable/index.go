package seekable

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// Index is what one pass over a blob learns: its sizes and digests, and
// where a read may start decoding.
type Index struct {
	Compression    Compression
	CompressedSize int64
	Size           int64         // of the uncompressed stream
	Digest         digest.Digest // the blob's
	DiffID         digest.Digest // the uncompressed stream's
	Span           int64
	// Spilled says the stream was decompressed to a file in
	// Options.SpillDir, named by SpillName (zstd frames too large to
	// restart in).
	Spilled bool
	points  []point
}

// point is a place decoding can start: for gzip, a deflate block header
// at bit in, with the window before it (deflate-compressed); for zstd, a
// frame at byte in. The first point is at uncompressed offset 0.
type point struct {
	in     int64
	out    int64
	window []byte
}

// Points is the number of places a read can start at.
func (x *Index) Points() int { return len(x.points) }

// SpillName is the file name of a spilled stream in the spill directory.
func (x *Index) SpillName() string {
	return string(x.DiffID.Algorithm()) + "-" + x.DiffID.Encoded()
}

// BuildIndex reads the blob r of size bytes once: it decompresses it,
// records where reads can start, checks the digests given in opt, and
// refuses a stream that expands past the limits. Errors say what was
// wrong, not which file: the caller names it.
func BuildIndex(r io.ReaderAt, size int64, opt Options) (*Index, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	c := opt.Compression
	if c == Detect {
		if c, err = DetectCompression(r, size); err != nil {
			return nil, err
		}
	}
	if opt.Output != nil && c == Zstd {
		return nil, errors.New("a zstd blob's pass may start over: it cannot write its stream out")
	}
	p := &pass{opt: opt, r: r, size: size, limit: opt.limit(size)}
	p.blob = hasherFor(opt.Digest)
	p.raw = hasherFor(opt.DiffID)
	x := &Index{Compression: c, CompressedSize: size, Span: opt.Span}
	switch c {
	case Uncompressed:
		err = p.plain(x)
	case Gzip:
		err = p.gzip(x)
	case Zstd:
		err = p.zstd(x)
	default:
		err = fmt.Errorf("unknown %v", c)
	}
	if err == nil {
		err = p.finish(x)
	} else {
		err = p.explain(err)
	}
	if err == nil && p.spillTmp != "" {
		if err = os.Rename(p.spillTmp, filepath.Join(opt.SpillDir, x.SpillName())); err != nil {
			err = fmt.Errorf("naming the decompressed copy: %w", err)
		}
	}
	if err != nil {
		if p.spillTmp != "" {
			os.Remove(p.spillTmp)
		}
		return nil, err
	}
	return x, nil
}

// DetectCompression tells a blob's compression by its magic bytes.
func DetectCompression(r io.ReaderAt, size int64) (Compression, error) {
	var m [6]byte
	n, err := r.ReadAt(m[:min(int64(len(m)), size)], 0)
	if err != nil && err != io.EOF {
		return Detect, fmt.Errorf("reading the first bytes: %w", err)
	}
	switch b := m[:n]; {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return Gzip, nil
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}),
		n >= 4 && b[0]&0xf0 == 0x50 && bytes.Equal(b[1:4], []byte{0x2a, 0x4d, 0x18}):
		return Zstd, nil
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return Detect, fmt.Errorf("xz compression: not supported (gzip, zstd or none): %w", ErrCorrupt)
	case bytes.HasPrefix(b, []byte("BZh")):
		return Detect, fmt.Errorf("bzip2 compression: not supported (gzip, zstd or none): %w", ErrCorrupt)
	}
	return Uncompressed, nil
}

func hasherFor(d digest.Digest) hash.Hash {
	if d != "" {
		return d.Algorithm().Hash()
	}
	return digest.Canonical.Hash()
}

// pass is the state of one BuildIndex: the digests being computed and
// the limit on the output.
type pass struct {
	opt       Options
	r         io.ReaderAt
	size      int64
	limit     int64
	blob, raw hash.Hash
	out       int64
	reported  int64
	spillTmp  string // the decompressed copy being written, if any
}

// output takes the next bytes of the uncompressed stream.
func (p *pass) output(b []byte) error {
	p.raw.Write(b)
	p.out += int64(len(b))
	if p.out > p.limit {
		return fmt.Errorf("the uncompressed stream passes %d bytes, the limit for a %d-byte blob (at most %d times its size, %d bytes in all): %w",
			p.limit, p.size, p.opt.MaxRatio, p.opt.MaxSize, ErrTooLarge)
	}
	if p.opt.Output != nil {
		if _, err := p.opt.Output.Write(b); err != nil {
			return fmt.Errorf("writing the stream out: %w", err)
		}
	}
	return nil
}

func (p *pass) progress(done int64) {
	if p.opt.Progress != nil && (done-p.reported >= 4<<20 || done == p.size) {
		p.reported = done
		p.opt.Progress(done)
	}
}

// plain indexes an uncompressed blob: nothing to record but its digest.
func (p *pass) plain(x *Index) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < p.size; {
		n, err := p.r.ReadAt(buf[:min(int64(len(buf)), p.size-off)], off)
		if n > 0 {
			p.blob.Write(buf[:n])
			if oerr := p.output(buf[:n]); oerr != nil {
				return oerr
			}
			off += int64(n)
			p.progress(off)
			continue
		}
		if err == nil || err == io.EOF {
			err = ErrTruncated
		}
		return fmt.Errorf("reading at byte %d: %w", off, err)
	}
	x.points = []point{{}}
	return nil
}

// finish records the digests and compares them with those expected.
func (p *pass) finish(x *Index) error {
	x.Size = p.out
	x.Digest = digest.NewDigest(digestAlg(p.opt.Digest), p.blob)
	x.DiffID = digest.NewDigest(digestAlg(p.opt.DiffID), p.raw)
	if p.opt.Digest != "" && x.Digest != p.opt.Digest {
		return fmt.Errorf("the blob's digest is %s, expected %s: %w", x.Digest, p.opt.Digest, ErrDigest)
	}
	if p.opt.DiffID != "" && x.DiffID != p.opt.DiffID {
		return fmt.Errorf("the uncompressed stream's digest (diff id) is %s, expected %s: %w", x.DiffID, p.opt.DiffID, ErrDigest)
	}
	return nil
}

func digestAlg(d digest.Digest) digest.Algorithm {
	if d != "" {
		return d.Algorithm()
	}
	return digest.Canonical
}

// explain turns a decoding failure into a digest mismatch when the blob
// is not the one expected: a damaged blob is named as such, whatever
// its damage did to the decoder.
func (p *pass) explain(err error) error {
	if p.opt.Digest == "" {
		return err
	}
	h := p.opt.Digest.Algorithm().Hash()
	if _, rerr := io.Copy(h, io.NewSectionReader(p.r, 0, p.size)); rerr != nil {
		return err
	}
	if got := digest.NewDigest(p.opt.Digest.Algorithm(), h); got != p.opt.Digest {
		return fmt.Errorf("the blob's digest is %s, expected %s (decompressing it: %v): %w", got, p.opt.Digest, err, ErrDigest)
	}
	return err
}
