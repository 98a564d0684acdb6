package seekable

import (
	"fmt"
	"math/bits"
)

// huffTable decodes one canonical Huffman code (RFC 1951 3.2.2) with a
// root table indexed by the next root bits of the stream and, for the
// longer codes, subtables of a fixed size behind link entries.
//
// An entry is sym<<16 | length (the code's full length, 1..15), or for
// a link subStart<<16 | linkFlag | subBits. Zero is no code (the unused
// half of a one-code tree).
type huffTable struct {
	t    []uint32
	root uint
	sub  []int32 // scratch: the subtable of each root prefix, or -1
}

const (
	linkFlag   = 0x40
	maxCodeLen = 15
)

// build makes the table for the code lengths given, one per symbol. An
// over-subscribed set is refused; an incomplete one only when it is a
// single code of length 1 (as compress/flate and zlib allow). All zeros
// builds an empty table, which fails on first use.
func (h *huffTable) build(lengths []uint8, root uint) error {
	var count [maxCodeLen + 1]int
	maxLen := 0
	for _, l := range lengths {
		if l > maxCodeLen {
			return fmt.Errorf("code length %d: %w", l, ErrCorrupt)
		}
		count[l]++
		if int(l) > maxLen {
			maxLen = int(l)
		}
	}
	count[0] = 0
	h.root = root
	size := 1 << root
	if cap(h.t) < size {
		h.t = make([]uint32, size, size*2)
	}
	h.t = h.t[:size]
	clear(h.t)
	if maxLen == 0 {
		return nil
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return fmt.Errorf("over-subscribed Huffman code: %w", ErrCorrupt)
		}
	}
	if left > 0 && !(maxLen == 1 && count[1] == 1) {
		return fmt.Errorf("incomplete Huffman code: %w", ErrCorrupt)
	}
	var next [maxCodeLen + 2]int
	code := 0
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	subBits := uint(0)
	if uint(maxLen) > root {
		subBits = uint(maxLen) - root
		if cap(h.sub) < size {
			h.sub = make([]int32, size)
		}
		h.sub = h.sub[:size]
		for i := range h.sub {
			h.sub[i] = -1
		}
	}
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := int(bits.Reverse16(uint16(c)) >> (16 - l))
		e := uint32(sym)<<16 | uint32(l)
		if uint(l) <= root {
			for i := rev; i < size; i += 1 << l {
				h.t[i] = e
			}
			continue
		}
		prefix := rev & (size - 1)
		start := h.sub[prefix]
		if start < 0 {
			start = int32(len(h.t))
			h.sub[prefix] = start
			h.t = append(h.t, make([]uint32, 1<<subBits)...)
			h.t[prefix] = uint32(start)<<16 | linkFlag | uint32(subBits)
		}
		step := 1 << (uint(l) - root)
		for i := rev >> root; i < 1<<subBits; i += step {
			h.t[int(start)+i] = e
		}
	}
	return nil
}

// lookup finds the entry for the low bits of b (which holds at least
// the longest code's bits).
func (h *huffTable) lookup(b uint64) uint32 {
	e := h.t[b&(1<<h.root-1)]
	if e&linkFlag != 0 {
		e = h.t[int(e>>16)+int((b>>h.root)&(1<<(e&0xf)-1))]
	}
	return e
}
