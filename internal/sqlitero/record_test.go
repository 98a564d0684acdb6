package sqlitero

import (
	"reflect"
	"strings"
	"testing"
)

func TestUvarint(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint64
		n    int
	}{
		{[]byte{0x00}, 0, 1},
		{[]byte{0x7f, 0xff}, 127, 1},
		{[]byte{0x81, 0x00}, 128, 2},
		{[]byte{0xff, 0x7f}, 16383, 2},
		{[]byte{0x81, 0x80, 0x00}, 16384, 3},
		// Nine bytes: the ninth gives all its eight bits.
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1<<64 - 1, 9},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 1, 9},
	} {
		got, n, err := uvarint(c.in)
		if err != nil || got != c.want || n != c.n {
			t.Errorf("uvarint(% x) = %d, %d, %v; want %d, %d", c.in, got, n, err, c.want, c.n)
		}
	}
	for _, in := range [][]byte{nil, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if _, _, err := uvarint(in); err != errShortVarint {
			t.Errorf("uvarint(% x) = %v, want %v", in, err, errShortVarint)
		}
	}
}

func TestRecord(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want []any
		err  string
	}{
		{"empty", []byte{0x01}, nil, ""},
		{"null, 0, 1", []byte{0x04, 0x00, 0x08, 0x09}, []any{nil, int64(0), int64(1)}, ""},
		{"int8", []byte{0x02, 0x01, 0x80}, []any{int64(-128)}, ""},
		{"int16", []byte{0x02, 0x02, 0x7f, 0xff}, []any{int64(32767)}, ""},
		{"int24", []byte{0x02, 0x03, 0xff, 0xff, 0xfe}, []any{int64(-2)}, ""},
		{"int32", []byte{0x02, 0x04, 0x80, 0, 0, 0}, []any{int64(-2147483648)}, ""},
		{"int48", []byte{0x02, 0x05, 0, 0, 0, 0, 1, 0}, []any{int64(256)}, ""},
		{"int64", []byte{0x02, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []any{int64(-1)}, ""},
		{"float", []byte{0x02, 0x07, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, []any{1.5}, ""},
		{"blob, text", []byte{0x03, 0x10, 0x11, 0xde, 0xad, 'h', 'i'}, []any{[]byte{0xde, 0xad}, "hi"}, ""},
		{"empty blob and text", []byte{0x03, 0x0c, 0x0d}, []any{[]byte{}, ""}, ""},
		{"reserved type 10", []byte{0x02, 0x0a}, nil, "serial type 10 is reserved"},
		{"reserved type 11", []byte{0x03, 0x00, 0x0b}, nil, "value 1: serial type 11 is reserved"},
		{"header past the end", []byte{0x05, 0x01}, nil, "record header of 5 bytes in a 2-byte record"},
		{"header size 0", []byte{0x00}, nil, "record header of 0 bytes"},
		{"value past the end", []byte{0x02, 0x06, 0x01}, nil, "value 0: 8 bytes past the record's end"},
		{"text past the end", []byte{0x02, 0x17, 'h', 'i'}, nil, "value 0: 5 bytes past the record's end"},
		{"huge text", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, "value 0: 9223372036854775801 bytes past"},
		{"serial type cut off", []byte{0x02, 0x81}, nil, "record header: varint cut off"},
		{"no record", nil, nil, "record header: varint cut off"},
	} {
		got, err := record(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: record = %v, %v; want an error with %q", c.name, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: record = %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
}
