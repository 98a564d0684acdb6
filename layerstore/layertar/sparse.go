package layertar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A sparse file in a tar (GNU tar --sparse) holds only its data
// fragments, one after the other; its sparse map says where each lies
// in the file, and the rest is holes, read as zeros. archive/tar reads
// the map but does not give it, and serving the file from the stream at
// any offset needs it: IndexTar reads it from the entry's raw headers,
// as GNU tar writes them (docs/archives.md):
//
//   - old GNU (type 'S', --format=gnu): four entries in the header, more
//     in extension blocks after it;
//   - PAX 0.0 and 0.1 (--format=posix --sparse-version=0.x): the
//     GNU.sparse.offset/numbytes records, or GNU.sparse.map, which
//     archive/tar gives as GNU.sparse.map both;
//   - PAX 1.0: a map in decimal lines at the start of the entry's data,
//     padded to a block.

// Fragment is a run of a sparse file's data: Length bytes at Offset in
// the file, at Stream in the tar stream.
type Fragment struct {
	Offset, Length, Stream int64
}

// IsSparse says whether hdr is a sparse file, old GNU or PAX.
func IsSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// Bounds on one sparse entry's headers (its map with them), and its
// fragments.
const (
	maxSparseHeaders   = 16 << 20
	maxSparseFragments = 1 << 20
)

// SparseMapAt reads the fragments of the sparse entry hdr from r, the
// tar, whose headers start at start and its data at dataStart (where
// archive/tar leaves the stream after them); end is where its data ends.
// An image archive's own members are read so (layerstore).
func SparseMapAt(hdr *tar.Header, r io.ReaderAt, start, dataStart int64) (frags []Fragment, end int64, err error) {
	if dataStart-start > maxSparseHeaders || dataStart < start {
		return nil, 0, fmt.Errorf("its headers pass %d bytes", maxSparseHeaders)
	}
	raw := make([]byte, dataStart-start)
	if _, err := r.ReadAt(raw, start); err != nil {
		return nil, 0, fmt.Errorf("reading its headers: %w", err)
	}
	return sparseMap(hdr, raw, start, dataStart)
}

// DataSize is how many bytes of data follow hdr in the stream, as
// archive/tar reads them: none for the kinds that have only a header,
// whatever their size field says (a sparse file's are its map's: see
// SparseMapAt). The next entry starts after them, padded to a block.
func DataSize(hdr *tar.Header) int64 {
	switch hdr.Typeflag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo, tar.TypeXGlobalHeader:
		return 0
	}
	return hdr.Size
}

// NextEntry is where the entry after one whose data ends at end starts.
func NextEntry(end int64) int64 { return roundBlock(end) }

// sparseMap reads the fragments of the sparse entry hdr from raw, its
// headers as they are in the stream from start, up to dataStart where
// archive/tar left the stream; end is where its data ends.
func sparseMap(hdr *tar.Header, raw []byte, start, dataStart int64) (frags []Fragment, end int64, err error) {
	if int64(len(raw)) != dataStart-start || len(raw)%blockSize != 0 {
		return nil, 0, errors.New("its headers are not where the stream says")
	}
	// The entry's own header: past the PAX and GNU long-name headers.
	off := 0
	for {
		if off+blockSize > len(raw) {
			return nil, 0, errors.New("no header of its own")
		}
		h := raw[off : off+blockSize]
		size, err := tarNumber(h[124:136])
		if err != nil || size < 0 {
			return nil, 0, fmt.Errorf("header at byte %d: size: %v", start+int64(off), err)
		}
		switch h[156] {
		case tar.TypeXHeader, tar.TypeXGlobalHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			if size > int64(len(raw)) {
				return nil, 0, fmt.Errorf("header at byte %d: %d bytes, past its headers", start+int64(off), size)
			}
			off += blockSize + int(roundBlock(size))
			continue
		}
		if v, ok := hdr.PAXRecords["size"]; ok && h[156] != tar.TypeGNUSparse {
			// A PAX size (past 8 GiB) stands for the header's.
			if size, err = strconv.ParseInt(v, 10, 64); err != nil || size < 0 {
				return nil, 0, fmt.Errorf("PAX size %q: not a size", clipName(v))
			}
		}
		var pairs []int64
		var dataOff int64 // where its data starts, its map read
		switch {
		case h[156] == tar.TypeGNUSparse:
			pairs, dataOff, err = oldGNUMap(raw, off)
		case hdr.PAXRecords["GNU.sparse.major"] == "1":
			var n int
			pairs, n, err = pax1Map(raw[off+blockSize:])
			dataOff = int64(off + blockSize + n)
			size -= int64(n)
		default:
			pairs, err = pax0Map(hdr.PAXRecords["GNU.sparse.map"])
			dataOff = int64(off + blockSize)
		}
		if err != nil {
			return nil, 0, err
		}
		if start+dataOff != dataStart || size < 0 {
			return nil, 0, errors.New("its map does not end where its data starts")
		}
		frags, err = fragments(pairs, hdr.Size, size, dataStart)
		return frags, dataStart + size, err
	}
}

// oldGNUMap reads the map of the old GNU header at raw[off:] and its
// extension blocks: pairs of offset and length, and where the data
// starts.
func oldGNUMap(raw []byte, off int) ([]int64, int64, error) {
	var pairs []int64
	read := func(b []byte, n int) error {
		for i := 0; i < n; i++ {
			e := b[i*24 : i*24+24]
			if e[0] == 0 {
				break
			}
			o, err1 := tarNumber(e[:12])
			l, err2 := tarNumber(e[12:])
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("sparse map: %w", err)
			}
			pairs = append(pairs, o, l)
		}
		return nil
	}
	h := raw[off : off+blockSize]
	if err := read(h[386:482], 4); err != nil {
		return nil, 0, err
	}
	more := h[482] != 0
	off += blockSize
	for more {
		if off+blockSize > len(raw) || len(pairs) > 2*maxSparseFragments {
			return nil, 0, errors.New("sparse map: its extension blocks run past its headers")
		}
		x := raw[off : off+blockSize]
		if err := read(x[:504], 21); err != nil {
			return nil, 0, err
		}
		more = x[504] != 0
		off += blockSize
	}
	return pairs, int64(off), nil
}

// pax1Map reads a PAX 1.0 map at the start of b: a count, then an offset
// and a length for each, one decimal number a line, padded to a block.
// n is the map's length with its padding.
func pax1Map(b []byte) (pairs []int64, n int, err error) {
	pos := 0
	next := func() (int64, error) {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return 0, errors.New("sparse map: ends early")
		}
		v, err := strconv.ParseInt(string(b[pos:pos+i]), 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("sparse map: %q is not a number", b[pos:pos+i])
		}
		pos += i + 1
		return v, nil
	}
	count, err := next()
	if err != nil {
		return nil, 0, err
	}
	if count > maxSparseFragments {
		return nil, 0, fmt.Errorf("sparse map: %d fragments, more than %d", count, maxSparseFragments)
	}
	pairs = make([]int64, 2*count)
	for i := range pairs {
		if pairs[i], err = next(); err != nil {
			return nil, 0, err
		}
	}
	return pairs, int(roundBlock(int64(pos))), nil
}

// pax0Map reads GNU.sparse.map: offsets and lengths, comma-separated.
func pax0Map(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, ",")
	if len(fields)%2 != 0 || len(fields) > 2*maxSparseFragments {
		return nil, fmt.Errorf("sparse map: %d numbers, not pairs (or too many)", len(fields))
	}
	pairs := make([]int64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("sparse map: %q is not a number", clipName(f))
		}
		pairs[i] = v
	}
	return pairs, nil
}

// fragments are the data fragments pairs gives, in order and inside the
// file of size bytes, whose data, physical bytes long, starts at
// dataStart of the stream. Fragments of no bytes (GNU tar ends its maps
// with one at the file's end) are left out.
func fragments(pairs []int64, size, physical, dataStart int64) ([]Fragment, error) {
	out := []Fragment{} // not nil: a file all holes is sparse too
	stream, prevEnd := dataStart, int64(0)
	for i := 0; i+1 < len(pairs); i += 2 {
		o, l := pairs[i], pairs[i+1]
		if o < prevEnd || l > size || o > size-l {
			return nil, fmt.Errorf("sparse map: fragment %d (%d bytes at %d) overlaps another or passes the end (%d bytes)", i/2, l, o, size)
		}
		prevEnd = o + l
		if l == 0 {
			continue
		}
		out = append(out, Fragment{Offset: o, Length: l, Stream: stream})
		stream += l
	}
	if stream-dataStart != physical {
		return nil, fmt.Errorf("sparse map: its fragments hold %d bytes, its data %d", stream-dataStart, physical)
	}
	return out, nil
}

// tarNumber reads a numeric header field: octal, or GNU's base-256.
func tarNumber(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			return 0, errors.New("negative base-256 number")
		}
		var v uint64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if v>>55 != 0 {
				return 0, errors.New("base-256 number out of range")
			}
			v = v<<8 | uint64(c)
		}
		return int64(v), nil
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 8, 64)
}

func roundBlock(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// Open is the regular file m records, read from data, its tar stream:
// one run at Off, or for a sparse file its fragments, holes read as
// zeros.
func (m *Meta) Open(data io.ReaderAt) *io.SectionReader {
	if m.Sparse == nil {
		return io.NewSectionReader(data, m.Off, m.Size)
	}
	return OpenSparse(data, m.Sparse, m.Size)
}

// OpenSparse reads the sparse file of size bytes whose fragments frags
// are in data: zeros between them.
func OpenSparse(data io.ReaderAt, frags []Fragment, size int64) *io.SectionReader {
	return io.NewSectionReader(&sparseReader{data: data, frags: frags}, 0, size)
}

// sparseReader reads a sparse file from its fragments in the stream.
type sparseReader struct {
	data  io.ReaderAt
	frags []Fragment
}

// ReadAt fills p from off: fragments' bytes from the stream, zeros
// between them (the SectionReader around it stops at the file's size).
func (r *sparseReader) ReadAt(p []byte, off int64) (int, error) {
	// The first fragment that ends after off.
	i := sort.Search(len(r.frags), func(i int) bool { return r.frags[i].Offset+r.frags[i].Length > off })
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if i >= len(r.frags) || pos < r.frags[i].Offset {
			k := len(p) - n
			if i < len(r.frags) {
				k = int(min(int64(k), r.frags[i].Offset-pos))
			}
			clear(p[n : n+k])
			n += k
			continue
		}
		f := r.frags[i]
		k := int(min(int64(len(p)-n), f.Offset+f.Length-pos))
		m, err := r.data.ReadAt(p[n:n+k], f.Stream+pos-f.Offset)
		n += m
		if m < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF // the stream ends inside a fragment
			}
			return n, err
		}
		i++
	}
	return n, nil
}
