package storetest

import (
	"encoding/binary"
	"hash/fnv"
	"io"
)

// Content is the content a regular file entry has on disk: Data, then up
// to Size either zeros (Sparse) or pseudo-random bytes that depend on the
// Path and the offset only, so any range can be checked without reading
// the rest.
func Content(e Entry) *io.SectionReader {
	return io.NewSectionReader(content{e: e, seed: seedOf(e.Path)}, 0, e.FileSize())
}

type content struct {
	e    Entry
	seed uint64
}

func (c content) ReadAt(p []byte, off int64) (int, error) {
	size := c.e.FileSize()
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	n := len(p)
	if d := int64(len(c.e.Data)); off < d {
		k := copy(p, c.e.Data[off:])
		fillAt(c.seed, c.e.Sparse, off+int64(k), p[k:])
	} else {
		fillAt(c.seed, c.e.Sparse, off, p)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

func fillAt(seed uint64, sparse bool, off int64, p []byte) {
	if sparse {
		clear(p)
		return
	}
	fill(seed, off, p)
}

func seedOf(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()
}

// word is the 8 bytes at offset 8*i of the pseudo-random stream: a
// splitmix64 step of the index, so that any offset is computed directly.
func word(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the pseudo-random stream from offset off into p.
func fill(seed uint64, off int64, p []byte) {
	i := uint64(off) / 8
	if r := int(off % 8); r != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, i))
		k := copy(p, b[r:])
		p = p[k:]
		i++
	}
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, word(seed, i))
		p = p[8:]
		i++
	}
	if len(p) > 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, i))
		copy(p, b[:])
	}
}
