package seekable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

func TestIndexEncoding(t *testing.T) {
	data := compressible(8, 1<<20)
	blob := gzipMembers(t, 6, data)
	x, err := build(t, blob, Options{Span: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[:9]) != "SEEKIDX\n\x01" {
		t.Fatalf("index starts %q", enc[:9])
	}
	var y Index
	if err := y.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, &y) {
		t.Fatalf("decoded index differs: %d points, %d decoded", x.Points(), y.Points())
	}
	if err := readsMatch(open(t, blob, &y, ""), data, 9, 50); err != nil {
		t.Fatal(err)
	}

	flip := func(i int) []byte {
		b := append([]byte(nil), enc...)
		b[i] ^= 0x40
		return b
	}
	version2 := append([]byte(nil), enc...)
	version2[8] = 2
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"another version", version2, "index version 2, this program reads version 1: unusable index"},
		{"a damaged byte", flip(len(enc) / 2), ""},
		{"a damaged checksum", flip(len(enc) - 1), ""},
		{"cut short", enc[:len(enc)-10], ""},
		{"not an index", []byte("{\"json\": true}"), `not an index (no "SEEKIDX"): unusable index`},
		{"empty", nil, `not an index (no "SEEKIDX"): unusable index`},
		{"magic and version only", []byte("SEEKIDX\n\x01"), "index of 9 bytes: unusable index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var z Index
			err := z.UnmarshalBinary(tc.data)
			if !errors.Is(err, ErrIndex) {
				t.Fatalf("error %v, want ErrIndex", err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("error %q, want %q", err, tc.msg)
			}
		})
	}
}

// A checksum that matches does not make a bad index usable: the points
// must hold together.
func TestIndexEncodingChecksPoints(t *testing.T) {
	x := &Index{Compression: Gzip, CompressedSize: 100, Size: 1000, Span: DefaultSpan,
		Digest: sha([]byte("a")), DiffID: sha([]byte("b")),
		points: []point{{in: 80, out: 0}, {in: 400, out: 500}, {in: 300, out: 600}}}
	enc, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var y Index
	err = y.UnmarshalBinary(enc)
	if err == nil || err.Error() != "decoding the index: point 2 is not past point 1: unusable index" {
		t.Fatalf("error %v", err)
	}
}

func TestOpenChecksSize(t *testing.T) {
	blob := []byte("hello")
	x, err := build(t, blob, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(nil, int64(len(blob))+1, x, "")
	want := "the blob has 6 bytes, its index says 5: unusable index"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// FuzzIndex feeds UnmarshalBinary indexes whose checksum is right but
// whose body the fuzzer chose: none may panic, and one that decodes
// must read without panicking (an error is fine: the blob is the judge).
func FuzzIndex(f *testing.F) {
	data := compressible(11, 300<<10)
	blob := gzipMembers(f, 6, data)
	x, err := build(f, blob, Options{Span: 64 << 10})
	if err != nil {
		f.Fatal(err)
	}
	enc, err := x.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc[:len(enc)-4])
	f.Fuzz(func(t *testing.T, body []byte) {
		b := binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, castagnoli))
		var y Index
		if y.UnmarshalBinary(b) != nil {
			return
		}
		rd, err := Open(bytes.NewReader(blob), int64(len(blob)), &y, t.TempDir())
		if err != nil {
			return
		}
		defer rd.Close()
		buf := make([]byte, 50<<10)
		for _, off := range []int64{0, y.Size / 3, y.Size - 10} {
			rd.ReadAt(buf, off)
		}
	})
}
