package seekable

import (
	"fmt"
	"io"
)

// gzip member header flags (RFC 1952 2.3.1).
const (
	gzFHCRC    = 1 << 1
	gzFEXTRA   = 1 << 2
	gzFNAME    = 1 << 3
	gzFCOMMENT = 1 << 4
	gzReserved = 0xe0
)

// memberHeader reads a gzip member's header, up to its deflate data.
func (f *inflater) memberHeader() error {
	br := &f.br
	at := br.bitPos() / 8
	var h [10]byte
	if rest := br.size - at; rest < 2 || br.readBytes(h[:2]) != nil || h[0] != 0x1f || h[1] != 0x8b {
		if f.members > 0 {
			return fmt.Errorf("%d bytes after gzip member %d that are not a gzip member: %w", rest, f.members, ErrCorrupt)
		}
		return fmt.Errorf("not a gzip stream: %w", ErrCorrupt)
	}
	if err := br.readBytes(h[2:]); err != nil {
		return fmt.Errorf("gzip member %d header at byte %d: %w", f.members+1, at, err)
	}
	if h[2] != 8 {
		return fmt.Errorf("gzip member %d at byte %d: compression method %d, not deflate: %w", f.members+1, at, h[2], ErrCorrupt)
	}
	flg := h[3]
	if flg&gzReserved != 0 {
		return fmt.Errorf("gzip member %d at byte %d: reserved flags %#x: %w", f.members+1, at, flg, ErrCorrupt)
	}
	if flg&gzFEXTRA != 0 {
		var xl [2]byte
		if err := br.readBytes(xl[:]); err != nil {
			return fmt.Errorf("gzip member %d extra field: %w", f.members+1, err)
		}
		if err := br.skipBytes(int(xl[0]) | int(xl[1])<<8); err != nil {
			return fmt.Errorf("gzip member %d extra field: %w", f.members+1, err)
		}
	}
	for _, field := range []struct {
		flag byte
		name string
	}{{gzFNAME, "name"}, {gzFCOMMENT, "comment"}} {
		if flg&field.flag == 0 {
			continue
		}
		for {
			c, err := br.readByte()
			if err != nil {
				return fmt.Errorf("gzip member %d %s: %w", f.members+1, field.name, err)
			}
			if c == 0 {
				break
			}
		}
	}
	if flg&gzFHCRC != 0 {
		if err := br.skipBytes(2); err != nil {
			return fmt.Errorf("gzip member %d header CRC: %w", f.members+1, err)
		}
	}
	return nil
}

// gzip indexes a gzip blob: one member after another, a checkpoint at
// the first block and then at the first block boundary after each Span
// bytes of output.
func (p *pass) gzip(x *Index) error {
	f := &inflater{gzip: true, verify: true}
	f.br.tee = p.blob
	var werr error
	f.onBlock = func(bitOff int64) error {
		out := f.end()
		if n := len(x.points); n > 0 && out-x.points[n-1].out < p.opt.Span {
			return nil
		}
		w, err := packWindow(f.out[max(0, f.wpos-windowSize):f.wpos])
		if err != nil {
			werr = err
			return err
		}
		x.points = append(x.points, point{in: bitOff, out: out, window: w})
		return nil
	}
	if err := f.start(p.r, p.size, 0, 0, nil, true); err != nil {
		return err
	}
	for {
		b, err := f.more()
		if err == io.EOF {
			break
		}
		if err != nil {
			if werr != nil {
				return err
			}
			return fmt.Errorf("gzip stream at compressed byte %d, uncompressed byte %d: %w", f.br.bitPos()/8, f.end(), err)
		}
		if err := p.output(b); err != nil {
			return err
		}
		p.progress(f.br.bitPos() / 8)
	}
	p.progress(p.size)
	return nil
}
