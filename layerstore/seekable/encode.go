package seekable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/opencontainers/go-digest"
)

// The binary form of an Index (all integers unsigned varints):
//
//	"SEEKIDX\n" version
//	compression flags(1: spilled) compressedSize size span
//	len(digest) digest len(diffID) diffID
//	npoints, then per point: in-prevIn out-prevOut (signed) len(window) window
//	CRC-32C of all the above, 4 bytes little-endian
//
// Offsets are deltas, so a point costs a few bytes beside its window,
// and the windows are deflate-compressed: the window is what makes a
// gzip index big, 32 KiB per span raw, typically a third of that packed.
const (
	indexMagic   = "SEEKIDX\n"
	indexVersion = 1
	flagSpilled  = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the index for a cache.
func (x *Index) MarshalBinary() ([]byte, error) {
	b := []byte(indexMagic)
	b = binary.AppendUvarint(b, indexVersion)
	var flags uint64
	if x.Spilled {
		flags |= flagSpilled
	}
	for _, v := range []uint64{uint64(x.Compression), flags, uint64(x.CompressedSize), uint64(x.Size), uint64(x.Span)} {
		b = binary.AppendUvarint(b, v)
	}
	for _, d := range []digest.Digest{x.Digest, x.DiffID} {
		b = binary.AppendUvarint(b, uint64(len(d)))
		b = append(b, d...)
	}
	b = binary.AppendUvarint(b, uint64(len(x.points)))
	var prev point
	for _, p := range x.points {
		b = binary.AppendVarint(b, p.in-prev.in)
		b = binary.AppendVarint(b, p.out-prev.out)
		b = binary.AppendUvarint(b, uint64(len(p.window)))
		b = append(b, p.window...)
		prev = p
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes an index MarshalBinary made, refusing another
// version, a damaged one and one that does not hold together.
func (x *Index) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(indexMagic)) {
		return fmt.Errorf("not an index (no %q): %w", indexMagic[:7], ErrIndex)
	}
	d := decoder{b: data[len(indexMagic):]}
	if v := d.uvarint(); d.err != nil || v != indexVersion {
		return fmt.Errorf("index version %d, this program reads version %d: %w", v, indexVersion, ErrIndex)
	}
	if len(data) < len(indexMagic)+4 {
		return fmt.Errorf("index of %d bytes: %w", len(data), ErrIndex)
	}
	body := data[:len(data)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(data[len(body):]); got != want {
		return fmt.Errorf("index checksum %08x, recorded %08x: %w", got, want, ErrIndex)
	}
	d.b = body[len(data)-len(d.b):]
	var y Index
	y.Compression = Compression(d.uvarint())
	flags := d.uvarint()
	y.Spilled = flags&flagSpilled != 0
	y.CompressedSize, y.Size, y.Span = d.int(), d.int(), d.int()
	y.Digest, y.DiffID = digest.Digest(d.bytes(len(body))), digest.Digest(d.bytes(len(body)))
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // a point takes at least 3 bytes
		d.err = fmt.Errorf("%d points in %d bytes", n, len(d.b))
	}
	var prev point
	for i := uint64(0); i < n && d.err == nil; i++ {
		p := point{in: prev.in + d.varint(), out: prev.out + d.varint()}
		p.window = d.bytes(windowSize + 64) // stored blocks add a few bytes
		y.points = append(y.points, p)
		prev = p
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the last point", len(d.b))
	}
	if d.err == nil {
		d.err = y.check()
	}
	if d.err != nil {
		return fmt.Errorf("decoding the index: %v: %w", d.err, ErrIndex)
	}
	*x = y
	return nil
}

// check tells whether a decoded index holds together.
func (x *Index) check() error {
	switch {
	case x.Compression < Uncompressed || x.Compression > Zstd:
		return fmt.Errorf("unknown %v", x.Compression)
	case x.CompressedSize < 0 || x.Size < 0 || x.Span < windowSize:
		return fmt.Errorf("sizes %d, %d and span %d", x.CompressedSize, x.Size, x.Span)
	case x.Digest.Validate() != nil || x.DiffID.Validate() != nil:
		return fmt.Errorf("digests %q and %q", x.Digest, x.DiffID)
	case !x.Spilled && len(x.points) == 0:
		return fmt.Errorf("no points")
	}
	for i, p := range x.points {
		if i == 0 && (p.out != 0 || len(p.window) > 0) {
			return fmt.Errorf("the first point is at %d", p.out)
		}
		if i > 0 && (p.out <= x.points[i-1].out || p.in <= x.points[i-1].in) {
			return fmt.Errorf("point %d is not past point %d", i, i-1)
		}
		if p.out > x.Size || p.in > x.CompressedSize*8 {
			return fmt.Errorf("point %d is past the end", i)
		}
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v > 1<<62 || v < -1<<62 {
		d.err = fmt.Errorf("truncated")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v := d.uvarint()
	if v > 1<<62 {
		d.err = fmt.Errorf("number %d out of range", v)
	}
	return int64(v)
}

func (d *decoder) bytes(max int) []byte {
	n := d.uvarint()
	if d.err == nil && (n > uint64(len(d.b)) || n > uint64(max)) {
		d.err = fmt.Errorf("a field of %d bytes", n)
	}
	if d.err != nil || n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// packWindow compresses a checkpoint's window for the index.
func packWindow(w []byte) ([]byte, error) {
	if len(w) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(w); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// unpackWindow undoes packWindow into buf.
func unpackWindow(packed, buf []byte) ([]byte, error) {
	if len(packed) == 0 {
		return buf[:0], nil
	}
	fr := flate.NewReader(bytes.NewReader(packed))
	n, err := io.ReadFull(fr, buf[:windowSize])
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	if err == nil {
		var one [1]byte
		if m, _ := fr.Read(one[:]); m > 0 {
			err = fmt.Errorf("window of more than %d bytes", windowSize)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("unpacking a checkpoint's window: %v: %w", err, ErrIndex)
	}
	return buf[:n], nil
}
