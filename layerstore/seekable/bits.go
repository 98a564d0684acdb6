package seekable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrTruncated is wrapped by every error that says the compressed stream
// ended early.
var ErrTruncated = errors.New("compressed stream truncated")

// bitReader reads a compressed stream LSB first, as deflate packs it,
// from an io.ReaderAt through its own buffer, and can start at any bit.
// Past the end it feeds zero bytes, so the decoder's fast path needs no
// bounds test; overrun() tells whether any of them were consumed.
type bitReader struct {
	r       io.ReaderAt
	size    int64  // bytes in the stream
	buf     []byte // bytes read, not yet moved into bits
	bufOff  int64  // stream offset of buf[0]
	pos     int    // next byte of buf to move into bits
	n       int    // valid bytes in buf
	bits    uint64
	nbits   uint
	virtual int // zero bytes fed past the end
	err     error
	tee     io.Writer // if set, gets every byte read, in order, once
}

const readChunk = 64 << 10

func (br *bitReader) reset(r io.ReaderAt, size, bitOff int64) error {
	if br.buf == nil {
		br.buf = make([]byte, readChunk+8)
	}
	br.r, br.size = r, size
	br.bufOff, br.pos, br.n = bitOff/8, 0, 0
	br.bits, br.nbits, br.virtual, br.err = 0, 0, 0, nil
	if bitOff < 0 || bitOff > size*8 {
		return fmt.Errorf("bit offset %d outside the %d-byte stream: %w", bitOff, size, ErrCorrupt)
	}
	if skip := uint(bitOff % 8); skip > 0 {
		br.refill()
		if br.nbits < skip {
			return br.truncated()
		}
		br.drop(skip)
	}
	return br.err
}

// bitPos is the stream offset, in bits, of the next bit to consume.
func (br *bitReader) bitPos() int64 {
	return (br.bufOff+int64(br.pos)+int64(br.virtual))*8 - int64(br.nbits)
}

// overrun is true once a bit past the end of the stream was consumed.
func (br *bitReader) overrun() bool { return br.bitPos() > br.size*8 }

func (br *bitReader) truncated() error {
	return fmt.Errorf("at byte %d of %d: %w", br.size, br.size, ErrTruncated)
}

// load moves the unread bytes to the front of buf and reads more.
func (br *bitReader) load() {
	if br.err != nil {
		return
	}
	rest := copy(br.buf, br.buf[br.pos:br.n])
	br.bufOff += int64(br.pos)
	br.pos, br.n = 0, rest
	want := int64(len(br.buf) - rest)
	if left := br.size - (br.bufOff + int64(rest)); want > left {
		want = left
	}
	if want <= 0 {
		return
	}
	got, err := br.r.ReadAt(br.buf[rest:rest+int(want)], br.bufOff+int64(rest))
	br.n += got
	if br.tee != nil {
		br.tee.Write(br.buf[rest : rest+got])
	}
	if int64(got) < want {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("reading at byte %d: %w", br.bufOff+int64(rest)+int64(got), ErrTruncated)
		} else {
			err = fmt.Errorf("reading at byte %d: %w", br.bufOff+int64(rest)+int64(got), err)
		}
		br.err = err
	}
}

// refill tops the bit buffer up to at least 56 bits.
func (br *bitReader) refill() {
	if br.pos+8 <= br.n {
		br.bits |= binary.LittleEndian.Uint64(br.buf[br.pos:]) << br.nbits
		br.pos += int(63-br.nbits) >> 3
		br.nbits |= 56
		return
	}
	for br.nbits <= 56 {
		if br.pos >= br.n {
			br.load()
			if br.pos >= br.n {
				// Zeros past the end; a consumer that uses them sees overrun().
				br.virtual++
				br.nbits += 8
				continue
			}
		}
		br.bits |= uint64(br.buf[br.pos]) << br.nbits
		br.pos++
		br.nbits += 8
	}
}

func (br *bitReader) drop(n uint) {
	br.bits >>= n
	br.nbits -= n
}

// take consumes n ≤ 32 bits after a refill.
func (br *bitReader) take(n uint) uint32 {
	if br.nbits < n {
		br.refill()
	}
	v := uint32(br.bits & (1<<n - 1))
	br.drop(n)
	return v
}

// alignByte drops the bits up to the next byte boundary.
func (br *bitReader) alignByte() { br.drop(br.nbits % 8) }

// readBytes fills p from a byte-aligned position: first what the bit
// buffer holds, then straight from the byte buffer.
func (br *bitReader) readBytes(p []byte) error {
	for len(p) > 0 && br.nbits >= 8 {
		p[0] = byte(br.bits)
		br.drop(8)
		p = p[1:]
	}
	if len(p) > 0 {
		// The fast refill leaves copies of bytes past nbits in bits;
		// the bytes read below would make them stale.
		br.bits = 0
	}
	for len(p) > 0 {
		if br.virtual > 0 || br.overrun() {
			return br.truncated()
		}
		if br.pos >= br.n {
			br.load()
			if br.pos >= br.n {
				if br.err != nil {
					return br.err
				}
				return br.truncated()
			}
		}
		c := copy(p, br.buf[br.pos:br.n])
		br.pos += c
		p = p[c:]
	}
	if br.overrun() {
		return br.truncated()
	}
	return nil
}

// readByte reads one byte from a byte-aligned position (gzip headers and trailers).
func (br *bitReader) readByte() (byte, error) {
	var b [1]byte
	err := br.readBytes(b[:])
	return b[0], err
}

// failure is what to report when the stream has been overrun: the read
// error behind it, or truncation.
func (br *bitReader) failure() error {
	if br.err != nil {
		return br.err
	}
	return br.truncated()
}

// skipBytes drops n bytes from a byte-aligned position.
func (br *bitReader) skipBytes(n int) error {
	var b [256]byte
	for n > 0 {
		c := min(n, len(b))
		if err := br.readBytes(b[:c]); err != nil {
			return err
		}
		n -= c
	}
	return nil
}
