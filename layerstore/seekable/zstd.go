package seekable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// zframe is one frame of a zstd stream (RFC 8878 3.1): off and n in
// compressed bytes.
type zframe struct {
	off, n int64
	skip   bool // a skippable frame: no output
}

const (
	zstdMagic       = 0xfd2fb528
	zstdMaxBlock    = 128 << 10
	zstdMaxWindow   = 128 << 20 // what zstd --long=27 uses; more is refused
	zstdFrameFactor = 2         // a frame over this many spans is spilled
)

// zstdFrames walks the frames of a zstd stream by their headers and
// block headers, without decoding them.
func zstdFrames(r io.ReaderAt, size int64) ([]zframe, error) {
	var frames []zframe
	for off := int64(0); off < size; {
		var h [18]byte
		n, err := r.ReadAt(h[:min(int64(len(h)), size-off)], off)
		if n < 8 {
			if err == nil || err == io.EOF {
				err = ErrTruncated
			}
			return nil, fmt.Errorf("zstd frame header at byte %d: %w", off, err)
		}
		magic := binary.LittleEndian.Uint32(h[:])
		if magic&0xfffffff0 == 0x184d2a50 {
			end := off + 8 + int64(binary.LittleEndian.Uint32(h[4:]))
			if end > size {
				return nil, fmt.Errorf("skippable zstd frame at byte %d runs past the end: %w", off, ErrTruncated)
			}
			frames = append(frames, zframe{off: off, n: end - off, skip: true})
			off = end
			continue
		}
		if magic != zstdMagic {
			return nil, fmt.Errorf("bytes %x at byte %d, not a zstd frame: %w", h[:4], off, ErrCorrupt)
		}
		fhd := h[4]
		if fhd&0x08 != 0 {
			return nil, fmt.Errorf("zstd frame at byte %d: reserved header bit set: %w", off, ErrCorrupt)
		}
		single := fhd&0x20 != 0
		hdr := int64(5) + int64([4]int{0, 1, 2, 4}[fhd&3])
		if !single {
			hdr++
		}
		fcs := [4]int64{0, 2, 4, 8}[fhd>>6]
		if fcs == 0 && single {
			fcs = 1
		}
		pos := off + hdr + fcs
		for {
			var b [3]byte
			if _, err := r.ReadAt(b[:], pos); err != nil {
				if err == io.EOF {
					err = ErrTruncated
				}
				return nil, fmt.Errorf("zstd block header at byte %d: %w", pos, err)
			}
			bh := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			bsize := int64(bh >> 3)
			switch (bh >> 1) & 3 {
			case 1: // RLE: one byte repeated
				bsize = 1
			case 3:
				return nil, fmt.Errorf("zstd block at byte %d: reserved block type: %w", pos, ErrCorrupt)
			}
			if bsize > zstdMaxBlock {
				return nil, fmt.Errorf("zstd block at byte %d of %d bytes: %w", pos, bsize, ErrCorrupt)
			}
			pos += 3 + bsize
			if bh&1 != 0 {
				break
			}
		}
		if fhd&0x04 != 0 {
			pos += 4
		}
		if pos > size {
			return nil, fmt.Errorf("zstd frame at byte %d runs past the end: %w", off, ErrTruncated)
		}
		frames = append(frames, zframe{off: off, n: pos - off})
		off = pos
	}
	return frames, nil
}

func newZstdDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
}

// errBigFrame stops the frame pass at a frame too big to restart in.
var errBigFrame = errors.New("zstd frame too big to restart in")

// zstd indexes a zstd blob: by frames where they are small enough to
// restart in, else by decompressing it to a file in SpillDir.
func (p *pass) zstd(x *Index) error {
	frames, err := zstdFrames(p.r, p.size)
	if err != nil {
		return err
	}
	dec, err := newZstdDecoder()
	if err != nil {
		return err
	}
	defer dec.Close()
	err = p.zstdByFrames(x, frames, dec)
	if !errors.Is(err, errBigFrame) {
		return err
	}
	// Start again, spilling: a big frame tends to be the first, so
	// little was decoded in vain.
	p.blob.Reset()
	p.raw.Reset()
	p.out, x.points = 0, nil
	return p.zstdSpill(x, dec)
}

func (p *pass) zstdByFrames(x *Index, frames []zframe, dec *zstd.Decoder) error {
	out := outputWriter{p}
	for _, f := range frames {
		sec := io.NewSectionReader(p.r, f.off, f.n)
		if f.skip {
			if _, err := io.Copy(p.blob, sec); err != nil {
				return fmt.Errorf("reading the skippable zstd frame at byte %d: %w", f.off, err)
			}
			continue
		}
		if n := len(x.points); n == 0 || p.out-x.points[n-1].out >= p.opt.Span {
			x.points = append(x.points, point{in: f.off, out: p.out})
		}
		in := io.TeeReader(sec, p.blob)
		if err := dec.Reset(in); err != nil {
			return fmt.Errorf("zstd frame at byte %d: %v: %w", f.off, err, ErrCorrupt)
		}
		most := zstdFrameFactor * p.opt.Span
		n, err := io.CopyN(out, dec, most+1)
		if err == io.EOF {
			err = nil
		}
		if err != nil {
			return zstdError(err, "zstd frame at byte %d", f.off)
		}
		if n > most {
			return errBigFrame
		}
		if _, err := io.Copy(p.blob, in); err != nil {
			return fmt.Errorf("reading the zstd frame at byte %d: %w", f.off, err)
		}
		p.progress(f.off + f.n)
	}
	if len(x.points) == 0 {
		x.points = []point{{}} // only skippable frames: an empty stream
	}
	return nil
}

// zstdSpill decompresses the whole stream into a temporary file in
// SpillDir, which BuildIndex names once the stream is checked; a check
// alone (CheckOnly) keeps nothing.
func (p *pass) zstdSpill(x *Index, dec *zstd.Decoder) error {
	var tmp *os.File
	out := io.Discard
	if !p.opt.CheckOnly {
		if p.opt.SpillDir == "" {
			return fmt.Errorf("a zstd stream with frames too big to restart in needs a directory for its decompressed copy (none given)")
		}
		var err error
		if tmp, err = os.CreateTemp(p.opt.SpillDir, ".spill-*"); err != nil {
			return fmt.Errorf("making the decompressed copy: %w", err)
		}
		p.spillTmp = tmp.Name()
		defer tmp.Close()
		out = tmp
	}
	in := io.TeeReader(&progressReader{r: io.NewSectionReader(p.r, 0, p.size), p: p}, p.blob)
	if err := dec.Reset(in); err != nil {
		return fmt.Errorf("zstd stream: %v: %w", err, ErrCorrupt)
	}
	if _, err := io.Copy(io.MultiWriter(outputWriter{p}, out), dec); err != nil {
		return zstdError(err, "zstd stream")
	}
	if _, err := io.Copy(p.blob, in); err != nil {
		return fmt.Errorf("reading the zstd stream: %w", err)
	}
	if tmp == nil {
		return nil
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the decompressed copy: %w", err)
	}
	x.Spilled = true
	return nil
}

// zstdError names a decoding failure: truncation, a limit, or damage.
func zstdError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, os.ErrClosed):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: %v: %w", what, err, ErrTruncated)
	}
	return fmt.Errorf("%s: %v: %w", what, err, ErrCorrupt)
}

// outputWriter hands written bytes to the pass's output.
type outputWriter struct{ p *pass }

func (w outputWriter) Write(b []byte) (int, error) {
	if err := w.p.output(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

type progressReader struct {
	r    io.Reader
	p    *pass
	done int64
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.done += int64(n)
	pr.p.progress(pr.done)
	return n, err
}

// zstdCursor reads a zstd stream from a frame on, through the frames
// after it.
type zstdCursor struct {
	r    io.ReaderAt
	size int64
	dec  *zstd.Decoder
	buf  []byte
	wpos int
	base int64
}

func (z *zstdCursor) start(p point) error {
	if z.dec == nil {
		dec, err := newZstdDecoder()
		if err != nil {
			return err
		}
		z.dec = dec
		z.buf = make([]byte, windowSize+outArea)
	}
	z.wpos, z.base = 0, p.out
	if err := z.dec.Reset(io.NewSectionReader(z.r, p.in, z.size-p.in)); err != nil {
		return zstdError(err, "zstd frame at byte %d", p.in)
	}
	return nil
}

func (z *zstdCursor) more() ([]byte, error) {
	if z.wpos > windowSize {
		shift := z.wpos - windowSize
		copy(z.buf, z.buf[shift:z.wpos])
		z.wpos = windowSize
		z.base += int64(shift)
	}
	n, err := z.dec.Read(z.buf[z.wpos:])
	z.wpos += n
	if n > 0 {
		return z.buf[z.wpos-n : z.wpos], nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if err != io.EOF {
		err = zstdError(err, "zstd stream")
	}
	return nil, err
}

func (z *zstdCursor) held() []byte { return z.buf[:z.wpos] }
func (z *zstdCursor) end() int64   { return z.base + int64(z.wpos) }
func (z *zstdCursor) release() {
	if z.dec != nil {
		z.dec.Close()
	}
}
