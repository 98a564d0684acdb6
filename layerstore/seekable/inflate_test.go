package seekable

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// inflateAll decodes a whole raw deflate (or, with gz, gzip) stream with
// the production inflater, checking gzip trailers.
func inflateAll(data []byte, gz bool) ([]byte, error) {
	f := &inflater{gzip: gz, verify: true}
	if err := f.start(bytes.NewReader(data), int64(len(data)), 0, 0, nil, gz); err != nil {
		return nil, err
	}
	var out []byte
	for {
		b, err := f.more()
		out = append(out, b...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func deflate(t testing.TB, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Hand-assembled streams, one per block kind, with the bytes written out.
func TestInflateBlockKinds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
		err    error
	}{
		// BFINAL=1 BTYPE=00, LEN=5, NLEN=^5, "hello".
		{"stored", []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'}, "hello", nil},
		// Two stored blocks, the first not final, the second empty.
		{"stored then empty stored", []byte{0x00, 0x02, 0x00, 0xfd, 0xff, 'h', 'i', 0x01, 0x00, 0x00, 0xff, 0xff}, "hi", nil},
		// The streams below are zlib's (Python's zlib.compressobj, raw
		// deflate): an implementation other than the one under test.
		// Fixed Huffman "a".
		{"fixed literal", unhex("4b0400"), "a", nil},
		// Fixed Huffman "aaaaaaaaaa": a literal, then a match of 9 at distance 1.
		{"fixed overlapping match", unhex("4b4c840100"), "aaaaaaaaaa", nil},
		// Fixed Huffman with matches at longer distances.
		{"fixed matches", unhex("4b4c2a4a4c4e4c4904520a89d8d93a0ac58999290a2519a90ae59955894540663e989703e60100"),
			"abracadabra abracadabra abracadabra, said the wizard to the lizard", nil},
		// Dynamic Huffman, literals only (Z_HUFFMAN_ONLY).
		{"dynamic literals", unhex("05c1810980400c04c156ae009bda240f1f108433207cf5ce102629c2883049114684498a30975eba347be9eb834bf368f6d2dd07d70f"),
			"abracadabra abracadabra abracadabra, said the wizard to the lizard", nil},
		// Dynamic Huffman with matches.
		{"dynamic matches", unhex("b5ccc911c2301044d1549a3be5048846c2da40d66897ade81913837d9cfaafa75a85d4dcfb0b99690468daf1695b2ca0ae322a672fe68195cceb7fdd83a360b71d908c86ab16da75c569aa00ef52a3cc5b53961b6089d6851da421fdb9494de43a9f5c57a3ce0f9dc6e352f503"),
			"the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog; " +
				"pack my box with five dozen liquor jugs. pack my box with five dozen liquor jugs. pack my box with five dozen liquor jugs. " +
				"sphinx of black quartz, judge my vow! sphinx of black quartz, judge my vow! sphinx of black quartz, judge my vow! ", nil},
		{"dynamic cut short", unhex("b5ccc911c2301044d1549a3be5048846c2da40d66897ade8"), "", ErrTruncated},
		{"reserved block type", []byte{0x07}, "", ErrCorrupt},
		{"stored length not complemented", []byte{0x01, 0x05, 0x00, 0x00, 0x00}, "", ErrCorrupt},
		{"stored cut short", []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e'}, "", ErrTruncated},
		// Fixed Huffman: length 3 (code 257) at distance 1 (code 0), with no output before it.
		{"distance before the start", []byte{0x03, 0x02, 0x00}, "", ErrCorrupt},
		{"empty input", []byte{}, "", ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inflateAll(tc.stream, false)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// compressible makes n bytes with matches near and far: words from a
// small vocabulary, runs, and random bytes, from seed.
func compressible(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	words := []string{"usr", "lib", "x86_64-linux-gnu", "share", "doc", "copyright", "\x00\x00\x00\x00", "ELF", "0000644", "root"}
	out := make([]byte, 0, n+64)
	for len(out) < n {
		switch r.IntN(6) {
		case 0:
			for i := r.IntN(64); i > 0; i-- {
				out = append(out, byte(r.Uint32()))
			}
		case 1:
			out = append(out, bytes.Repeat([]byte{byte(r.Uint32())}, r.IntN(600))...)
		case 2:
			if len(out) > 0 {
				from := r.IntN(len(out))
				out = append(out, out[from:min(len(out), from+r.IntN(300))]...)
			}
		default:
			out = append(out, words[r.IntN(len(words))]...)
			out = append(out, '/')
		}
	}
	return out[:n]
}

// Whole streams across many calls of more(), at every level.
func TestInflateLevels(t *testing.T) {
	data := compressible(1, 3<<20)
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		got, err := inflateAll(deflate(t, data, level), false)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("level %d: output differs (%d bytes, want %d)", level, len(got), len(data))
		}
	}
}

// FuzzInflate drives the production inflater on data compressed by
// compress/flate at a level the fuzzer picks, and on the raw input as
// a stream, where it must not panic and must agree with compress/flate
// whenever both succeed.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("hello, hello, hello"), int8(6), uint16(0))
	f.Add([]byte{0, 1, 2, 3}, int8(-2), uint16(5000))
	f.Add(unhex("b5ccc911c2301044d1549a3be5048846c2da40d66897ade8"), int8(1), uint16(40000))
	f.Fuzz(func(t *testing.T, in []byte, level int8, grow uint16) {
		lvl := int(level)%11 - 1 // -2 (Huffman only) .. 9
		if lvl < -2 {
			lvl = -2
		}
		data := append([]byte(nil), in...)
		if len(in) > 0 {
			data = append(data, compressible(uint64(len(in))+uint64(in[0]), int(grow)*4)...)
		}
		got, err := inflateAll(deflate(t, data, lvl), false)
		if err != nil {
			t.Fatalf("level %d, %d bytes: %v", lvl, len(data), err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("level %d: output differs (%d bytes, want %d)", lvl, len(got), len(data))
		}

		mine, myErr := inflateAll(in, false)
		theirs, theirErr := io.ReadAll(flate.NewReader(bytes.NewReader(in)))
		if myErr == nil && theirErr == nil && !bytes.Equal(mine, theirs) {
			t.Fatalf("raw input: %d bytes, compress/flate %d", len(mine), len(theirs))
		}
	})
}
