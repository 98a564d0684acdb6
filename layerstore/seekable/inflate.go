package seekable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// ErrCorrupt is wrapped by every error that says the compressed data is
// not valid deflate, gzip or zstd.
var ErrCorrupt = errors.New("corrupt compressed data")

const (
	windowSize = 32 << 10  // deflate's history (RFC 1951 2.)
	outArea    = 256 << 10 // decoded bytes produced per call, past the window
	maxMatch   = 258
)

// Inflater states: where the next bit of the stream belongs.
const (
	stBlock     = iota // a block header
	stStored           // the bytes of a stored block
	stHuff             // the symbols of a Huffman block
	stMemberEnd        // after a final block: a gzip trailer, maybe another member
	stDone
)

// inflater is a deflate decoder (RFC 1951) that, unlike compress/flate,
// can start at any block boundary given the bit offset and the 32 KiB
// of output before it, and reports each block boundary it passes: the
// two things a random-access index needs. With gzip set it reads gzip
// members (RFC 1952) one after another.
type inflater struct {
	br     bitReader
	out    []byte // the window, then what the last call decoded
	wpos   int    // end of the decoded bytes in out
	base   int64  // uncompressed offset of out[0]
	state  int
	final  bool // the current block is the member's last
	stored int  // bytes left in the current stored block
	gzip   bool
	cur    struct{ lit, dist *huffTable }
	lit    huffTable
	dist   huffTable
	clen   huffTable
	lens   [maxLit + maxDist]uint8

	// verify checks each gzip member's CRC-32 and length (the index pass).
	verify    bool
	crc       uint32
	crcPos    int   // first byte of out not yet in crc
	memberLen int64 // bytes of the current member before crcPos
	members   int

	// onBlock, if set, is called at each block boundary with the bit
	// offset of the block header and the window before it (out[:wpos]
	// ends at uncompressed offset base+wpos).
	onBlock func(bitOff int64) error
}

const (
	maxLit  = 286
	maxDist = 30
)

var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	fixedLit, fixedDist huffTable
)

const (
	litRoot  = 10
	distRoot = 8
)

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	if fixedLit.build(l[:], litRoot) != nil || fixedDist.build(d[:], distRoot) != nil {
		panic("deflate's fixed codes do not build")
	}
}

// start positions the inflater at bit bitOff of r, at a block header
// (or, with atMember, at a gzip member header) with window as the
// output before it, which ends at uncompressed offset outOff.
func (f *inflater) start(r io.ReaderAt, size, bitOff, outOff int64, window []byte, atMember bool) error {
	if f.out == nil {
		f.out = make([]byte, windowSize+outArea+maxMatch)
	}
	if len(window) > windowSize {
		return fmt.Errorf("window of %d bytes: %w", len(window), ErrCorrupt)
	}
	f.wpos = copy(f.out, window)
	f.base = outOff - int64(f.wpos)
	f.state, f.final, f.stored = stBlock, false, 0
	f.crc, f.crcPos, f.memberLen, f.members = 0, f.wpos, 0, 0
	if err := f.br.reset(r, size, bitOff); err != nil {
		return err
	}
	if atMember {
		return f.memberHeader()
	}
	return nil
}

// end is the uncompressed offset just past the last byte decoded.
func (f *inflater) end() int64 { return f.base + int64(f.wpos) }

// held is the decoded output the inflater still holds, which ends at end().
func (f *inflater) held() []byte { return f.out[:f.wpos] }

// more decodes the next run of output (up to outArea bytes) and returns
// it; the slice is valid until the next call. At the end of the stream
// it returns io.EOF.
func (f *inflater) more() ([]byte, error) {
	if f.wpos > windowSize {
		f.sumCRC()
		shift := f.wpos - windowSize
		copy(f.out, f.out[shift:f.wpos])
		f.wpos = windowSize
		f.base += int64(shift)
		f.crcPos = f.wpos
	}
	from := f.wpos
	limit := len(f.out) - maxMatch
	for f.wpos < limit {
		var err error
		switch f.state {
		case stBlock:
			err = f.blockHeader()
		case stStored:
			err = f.storedBytes(limit)
		case stHuff:
			err = f.symbols(limit)
		case stMemberEnd:
			err = f.memberEnd()
		case stDone:
			if f.wpos == from {
				return nil, io.EOF
			}
			return f.out[from:f.wpos], nil
		}
		if err != nil {
			return nil, err
		}
	}
	return f.out[from:f.wpos], nil
}

func (f *inflater) sumCRC() {
	if f.verify {
		f.crc = crc32.Update(f.crc, crc32.IEEETable, f.out[f.crcPos:f.wpos])
		f.memberLen += int64(f.wpos - f.crcPos)
	}
	f.crcPos = f.wpos
}

func (f *inflater) blockHeader() error {
	br := &f.br
	if br.overrun() {
		return br.failure()
	}
	if f.onBlock != nil {
		if err := f.onBlock(br.bitPos()); err != nil {
			return err
		}
	}
	h := br.take(3)
	f.final = h&1 != 0
	switch h >> 1 {
	case 0:
		br.alignByte()
		var b [4]byte
		if err := br.readBytes(b[:]); err != nil {
			return err
		}
		n := uint16(b[0]) | uint16(b[1])<<8
		if nn := uint16(b[2]) | uint16(b[3])<<8; n != ^nn {
			return fmt.Errorf("stored block length %d does not match its complement: %w", n, ErrCorrupt)
		}
		f.stored = int(n)
		f.state = stStored
		if n == 0 {
			f.blockDone()
		}
	case 1:
		f.cur.lit, f.cur.dist = &fixedLit, &fixedDist
		f.state = stHuff
	case 2:
		if err := f.dynamicTables(); err != nil {
			return err
		}
		f.cur.lit, f.cur.dist = &f.lit, &f.dist
		f.state = stHuff
	default:
		return fmt.Errorf("block type 3: %w", ErrCorrupt)
	}
	return nil
}

func (f *inflater) blockDone() {
	if f.final {
		f.state = stMemberEnd
	} else {
		f.state = stBlock
	}
}

func (f *inflater) storedBytes(limit int) error {
	n := min(f.stored, limit-f.wpos)
	if err := f.br.readBytes(f.out[f.wpos : f.wpos+n]); err != nil {
		return err
	}
	f.wpos += n
	f.stored -= n
	if f.stored == 0 {
		f.blockDone()
	}
	return nil
}

// dynamicTables reads a dynamic block's code lengths (RFC 1951 3.2.7).
func (f *inflater) dynamicTables() error {
	br := &f.br
	nlit := int(br.take(5)) + 257
	ndist := int(br.take(5)) + 1
	nclen := int(br.take(4)) + 4
	if nlit > maxLit || ndist > maxDist {
		return fmt.Errorf("dynamic block with %d literal and %d distance codes: %w", nlit, ndist, ErrCorrupt)
	}
	var cl [19]uint8
	for i := 0; i < nclen; i++ {
		cl[clenOrder[i]] = uint8(br.take(3))
	}
	if err := f.clen.build(cl[:], 7); err != nil {
		return fmt.Errorf("code length code: %w", err)
	}
	lens := f.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if br.nbits < 16 {
			br.refill()
		}
		e := f.clen.lookup(br.bits)
		if e&0xf == 0 {
			return fmt.Errorf("invalid code length code: %w", ErrCorrupt)
		}
		br.drop(uint(e & 0xf))
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return fmt.Errorf("repeat of no previous code length: %w", ErrCorrupt)
			}
			rep, val = 3+int(br.take(2)), lens[i-1]
		case 17:
			rep = 3 + int(br.take(3))
		default:
			rep = 11 + int(br.take(7))
		}
		if i+rep > len(lens) {
			return fmt.Errorf("code lengths overflow the table: %w", ErrCorrupt)
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if br.overrun() {
		return br.failure()
	}
	if err := f.lit.build(lens[:nlit], litRoot); err != nil {
		return fmt.Errorf("literal/length code: %w", err)
	}
	if err := f.dist.build(lens[nlit:], distRoot); err != nil {
		return fmt.Errorf("distance code: %w", err)
	}
	return nil
}

// symbols decodes a Huffman block's symbols until its end or until
// the output reaches limit. A match is at most maxMatch bytes, so one
// never straddles a call. The bit buffer lives in locals here, the hot
// loop of the package.
func (f *inflater) symbols(limit int) error {
	br := &f.br
	lit, dist := f.cur.lit.t, f.cur.dist.t
	out := f.out[:limit+maxMatch]
	w := f.wpos
	bitbuf, nbits := br.bits, br.nbits
	var err error
	for w < limit {
		// 48 bits cover a length code with its extra bits and a
		// distance code with its extra bits.
		if nbits < 48 {
			if br.pos+8 <= br.n {
				bitbuf |= binary.LittleEndian.Uint64(br.buf[br.pos:]) << nbits
				br.pos += int(63-nbits) >> 3
				nbits |= 56
			} else {
				br.bits, br.nbits = bitbuf, nbits
				br.refill()
				bitbuf, nbits = br.bits, br.nbits
			}
		}
		e := lit[bitbuf&(1<<litRoot-1)]
		if e&linkFlag != 0 {
			e = lit[int(e>>16)+int((bitbuf>>litRoot)&(1<<(e&0xf)-1))]
		}
		n := uint(e & 0xf)
		if n == 0 {
			err = fmt.Errorf("invalid literal/length code: %w", ErrCorrupt)
			break
		}
		bitbuf >>= n
		nbits -= n
		sym := e >> 16
		if sym < 256 {
			out[w] = byte(sym)
			w++
			continue
		}
		if sym == 256 {
			f.blockDone()
			break
		}
		sym -= 257
		if sym >= 29 {
			err = fmt.Errorf("invalid length symbol %d: %w", sym+257, ErrCorrupt)
			break
		}
		length := int(lenBase[sym])
		if x := uint(lenExtra[sym]); x > 0 {
			length += int(bitbuf & (1<<x - 1))
			bitbuf >>= x
			nbits -= x
		}
		e = dist[bitbuf&(1<<distRoot-1)]
		if e&linkFlag != 0 {
			e = dist[int(e>>16)+int((bitbuf>>distRoot)&(1<<(e&0xf)-1))]
		}
		n = uint(e & 0xf)
		if n == 0 {
			err = fmt.Errorf("invalid distance code: %w", ErrCorrupt)
			break
		}
		bitbuf >>= n
		nbits -= n
		ds := e >> 16
		if ds >= 30 {
			err = fmt.Errorf("invalid distance symbol %d: %w", ds, ErrCorrupt)
			break
		}
		d := int(distBase[ds])
		if x := uint(distExtra[ds]); x > 0 {
			d += int(bitbuf & (1<<x - 1))
			bitbuf >>= x
			nbits -= x
		}
		if d > w {
			err = fmt.Errorf("distance %d reaches before the window: %w", d, ErrCorrupt)
			break
		}
		src := w - d
		if d >= length {
			copy(out[w:w+length], out[src:src+length])
			w += length
			continue
		}
		// Overlapping: the copy repeats the last d bytes.
		end := w + length
		for w < end {
			w += copy(out[w:end], out[src:w])
		}
	}
	br.bits, br.nbits = bitbuf, nbits
	f.wpos = w
	if err == nil && br.overrun() {
		err = br.failure()
	}
	return err
}

// memberEnd reads a gzip trailer and the next member's header, if any.
func (f *inflater) memberEnd() error {
	if !f.gzip {
		f.state = stDone
		return nil
	}
	br := &f.br
	br.alignByte()
	var t [8]byte
	if err := br.readBytes(t[:]); err != nil {
		return fmt.Errorf("gzip member %d trailer: %w", f.members+1, err)
	}
	f.members++
	if f.verify {
		f.sumCRC()
		crc := uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24
		isize := uint32(t[4]) | uint32(t[5])<<8 | uint32(t[6])<<16 | uint32(t[7])<<24
		if crc != f.crc {
			return fmt.Errorf("gzip member %d: CRC-32 %08x, trailer says %08x: %w", f.members, f.crc, crc, ErrCorrupt)
		}
		if isize != uint32(f.memberLen) {
			return fmt.Errorf("gzip member %d: %d bytes, trailer says %d (mod 2^32): %w", f.members, f.memberLen, isize, ErrCorrupt)
		}
		f.crc, f.memberLen = 0, 0
	}
	if br.bitPos() == br.size*8 {
		f.state = stDone
		return nil
	}
	if err := f.memberHeader(); err != nil {
		return err
	}
	f.state = stBlock
	return nil
}
