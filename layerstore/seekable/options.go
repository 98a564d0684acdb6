package seekable

import (
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// Compression is a blob's compression.
type Compression uint8

const (
	Detect       Compression = iota // by the blob's first bytes
	Uncompressed                    // a plain stream (a tar)
	Gzip
	Zstd
)

func (c Compression) String() string {
	switch c {
	case Detect:
		return "detect"
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression %d", uint8(c))
}

// Defaults of Options.
const (
	// DefaultSpan is SOCI's default span: a read decodes at most this
	// much before the bytes it wants, and a gzip index holds one 32 KiB
	// window (about 10 KiB compressed) per span.
	DefaultSpan = 4 << 20
	// DefaultMaxSize bounds the uncompressed stream of one layer.
	DefaultMaxSize = 256 << 30
	// DefaultMaxRatio bounds the expansion of a blob: deflate cannot
	// pass 1032:1, zstd can reach far more.
	DefaultMaxRatio = 1100
	// ratioFloor is the size below which the ratio is not applied, so
	// a small layer holding a file of zeros is not taken for a bomb.
	ratioFloor = 64 << 20
)

// Errors the package wraps, for errors.Is.
var (
	ErrDigest   = errors.New("digest mismatch")
	ErrTooLarge = errors.New("uncompressed stream over the limit")
	ErrIndex    = errors.New("unusable index")
)

// Options says what BuildIndex expects of a blob and how to index it.
type Options struct {
	Compression Compression   // Detect (the zero value) looks at the magic bytes
	Span        int64         // uncompressed bytes between checkpoints; DefaultSpan if 0
	Digest      digest.Digest // the blob's expected digest, if known
	DiffID      digest.Digest // the uncompressed stream's expected digest, if known
	MaxSize     int64         // DefaultMaxSize if 0
	MaxRatio    int64         // DefaultMaxRatio if 0
	// SpillDir is where a zstd stream that cannot be indexed by frames
	// is decompressed to, as <algorithm>-<hex of its diff id>; Open
	// needs the same directory.
	SpillDir string
	// CheckOnly makes the pass a check of the blob alone (verify): a
	// stream that would be spilled is decompressed and thrown away, and
	// the Index is not one to Open.
	CheckOnly bool
	// Progress, if set, is called now and then with the compressed
	// bytes read so far.
	Progress func(done int64)
	// Output, if set, is written the uncompressed stream once, in order,
	// as the pass decodes it, so that a caller that parses the stream too
	// (the layer's tar) need not decode it again. Not for zstd, whose
	// pass may start over to spill; BuildIndex refuses that.
	Output io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Span <= 0 {
		o.Span = DefaultSpan
	}
	if o.Span < windowSize {
		return o, fmt.Errorf("span of %d bytes: at least %d", o.Span, windowSize)
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	for _, d := range []digest.Digest{o.Digest, o.DiffID} {
		if d == "" {
			continue
		}
		if err := d.Validate(); err != nil {
			return o, fmt.Errorf("expected digest %q: %w", d, err)
		}
	}
	return o, nil
}

// limit is the most the blob may expand to: MaxRatio times its size,
// but not less than ratioFloor, and never more than MaxSize.
func (o Options) limit(size int64) int64 {
	l := int64(ratioFloor)
	if size > 0 && o.MaxRatio <= (1<<62)/size {
		l = max(l, o.MaxRatio*size)
	} else if size > 0 {
		l = o.MaxSize
	}
	return min(l, o.MaxSize)
}
