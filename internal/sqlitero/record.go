package sqlitero

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var errShortVarint = errors.New("varint cut off")

// uvarint decodes one of SQLite's big-endian varints: 1 to 9 bytes, seven
// bits from each of the first eight and all eight of the ninth.
func uvarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := range 9 {
		if i >= len(b) {
			return 0, 0, errShortVarint
		}
		if i == 8 {
			return v<<8 | uint64(b[i]), 9, nil
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	panic("unreachable")
}

// record decodes a record (fileformat2 section 2.1): a header of its size
// and one serial type per value, then the values. A value is nil (NULL),
// int64, float64, string (text) or []byte (blob).
func record(b []byte) ([]any, error) {
	hsize, k, err := uvarint(b)
	if err != nil {
		return nil, fmt.Errorf("record header: %w", err)
	}
	if hsize < uint64(k) || hsize > uint64(len(b)) {
		return nil, fmt.Errorf("record header of %d bytes in a %d-byte record", hsize, len(b))
	}
	head, body := b[k:hsize], b[hsize:]
	var out []any
	for len(head) > 0 {
		t, k, err := uvarint(head)
		if err != nil {
			return nil, fmt.Errorf("record header: %w", err)
		}
		head = head[k:]
		n := serialSize(t)
		if n < 0 {
			return nil, fmt.Errorf("value %d: serial type %d is reserved", len(out), t)
		}
		if uint64(len(body)) < uint64(n) {
			return nil, fmt.Errorf("value %d: %d bytes past the record's end", len(out), n)
		}
		out = append(out, value(t, body[:n]))
		body = body[n:]
	}
	return out, nil
}

// serialSize is how many bytes a value of serial type t takes, or -1 for
// the reserved types 10 and 11.
func serialSize(t uint64) int64 {
	switch {
	case t <= 4:
		return int64(t) // NULL, then ints of 1-4 bytes
	case t == 5:
		return 6
	case t == 6, t == 7:
		return 8
	case t == 8, t == 9:
		return 0 // the constants 0 and 1
	case t == 10, t == 11:
		return -1
	default:
		return int64((t - 12) / 2) // blob (even) or text (odd)
	}
}

// value is the value of serial type t held in b.
func value(t uint64, b []byte) any {
	switch {
	case t == 0:
		return nil
	case t <= 6:
		// A big-endian two's-complement integer of len(b) bytes.
		var v int64
		if b[0]&0x80 != 0 {
			v = -1
		}
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	case t == 7:
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	case t == 8:
		return int64(0)
	case t == 9:
		return int64(1)
	case t%2 == 0:
		return append([]byte{}, b...)
	default:
		return string(b)
	}
}
