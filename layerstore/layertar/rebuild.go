package layertar

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
)

// copyBuf is the size of the buffer file contents go through.
const copyBuf = 1 << 20

// Write reassembles the layer's original tar stream into w, reading each
// file's content beneath the layer's root, and checks every file against
// its recorded size and crc64. A file that is missing, or shorter than
// recorded, is padded with zeros so that the stream keeps its shape; its
// finding and the digest say it is not the original, and the report's
// Mismatch says so where the layer's DiffID is known. progress, if set,
// is told the bytes written as they go.
func Write(l Layer, w io.Writer, progress func(int64)) (*Report, error) {
	return write(l, w, progress, true)
}

// WriteNoCRC is Write without the crc64 check of each file's content
// (sizes are still checked): for a caller that holds the digest against
// the diff id, which a changed byte changes too, and looks for the
// culprit with Verify only when it does not match.
func WriteNoCRC(l Layer, w io.Writer, progress func(int64)) (*Report, error) {
	return write(l, w, progress, false)
}

// write is Write and WriteNoCRC. Its work is on three goroutines: one
// reads the tar-split and the files, one checks each file's crc64, and
// the caller's hashes the stream and writes it to w, so on a machine with
// a core to spare it goes at about the speed of reading the files.
// Memory is a few buffers, whatever the layer's size.
func write(l Layer, w io.Writer, progress func(int64), checkContent bool) (*Report, error) {
	root, ts, err := l.open()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	defer ts.Close()
	p := &pipeline{
		free:  make(chan *chunk, pipeChunks),
		toCRC: make(chan *chunk, pipeChunks),
		toOut: make(chan *chunk, pipeChunks),
		stop:  make(chan struct{}),
	}
	for i := 0; i < pipeChunks; i++ {
		p.free <- &chunk{buf: make([]byte, 0, pipeChunkSize)}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.produce(root, newUnpacker(ts)) }()
	go func() { defer wg.Done(); p.check(checkContent) }()
	sum := sha256.New()
	out := &counter{w: w, progress: progress}
	for c := range p.toOut {
		if out.err == nil {
			sum.Write(c.buf)
			out.Write(c.buf)
			if out.err != nil {
				close(p.stop)
			}
		}
		p.release(c)
	}
	wg.Wait()
	if out.err != nil {
		return nil, out.err
	}
	if p.err != nil {
		return nil, p.err
	}
	findings := append(p.found, p.crcFound...)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].index < findings[j].index })
	rep := &Report{Size: out.n, Digest: "sha256:" + hex.EncodeToString(sum.Sum(nil)), Entries: p.entries}
	rep.Mismatch = l.mismatch(rep.Digest)
	for _, f := range findings {
		rep.Findings = append(rep.Findings, f.Finding)
	}
	return rep, nil
}

const (
	pipeChunkSize = 1 << 20
	pipeChunks    = 8
)

// chunk is a stretch of the stream, with the parts of it that are file
// contents to check.
type chunk struct {
	buf   []byte
	spans []span
	refs  int32 // consumers still to see it
	mu    sync.Mutex
}

// span is n bytes at off of the content of file f; last says the file
// ends there.
type span struct {
	off, n int
	f      *pipeFile
	last   bool
}

// pipeFile is a file whose content is checked against its crc64.
type pipeFile struct {
	path  string
	want  []byte
	index int
}

type indexedFinding struct {
	Finding
	index int
}

type pipeline struct {
	free, toCRC, toOut chan *chunk
	stop               chan struct{}
	cur                *chunk
	entries            int
	found, crcFound    []indexedFinding
	err                error
}

// release returns c to the pool once both consumers are done with it.
func (p *pipeline) release(c *chunk) {
	c.mu.Lock()
	c.refs--
	done := c.refs == 0
	c.mu.Unlock()
	if done {
		c.buf, c.spans = c.buf[:0], c.spans[:0]
		p.free <- c
	}
}

// room is the current chunk with space in it; false once stopped.
func (p *pipeline) room() bool {
	if p.cur != nil && len(p.cur.buf) < cap(p.cur.buf) {
		return true
	}
	p.flush()
	select {
	case p.cur = <-p.free:
		return true
	case <-p.stop:
		p.cur = nil
		return false
	}
}

// flush hands the current chunk to both consumers.
func (p *pipeline) flush() {
	if p.cur == nil || len(p.cur.buf) == 0 {
		return
	}
	p.cur.refs = 2
	p.toCRC <- p.cur
	p.toOut <- p.cur
	p.cur = nil
}

// bytes appends b to the stream.
func (p *pipeline) bytes(b []byte) bool {
	for len(b) > 0 {
		if !p.room() {
			return false
		}
		n := copy(p.cur.buf[len(p.cur.buf):cap(p.cur.buf)], b)
		p.cur.buf = p.cur.buf[:len(p.cur.buf)+n]
		b = b[n:]
	}
	return true
}

// zeros appends n zero bytes.
func (p *pipeline) zeros(n int64) bool {
	for n > 0 {
		if !p.room() {
			return false
		}
		k := int(min(n, int64(cap(p.cur.buf)-len(p.cur.buf))))
		clear(p.cur.buf[len(p.cur.buf) : len(p.cur.buf)+k])
		p.cur.buf = p.cur.buf[:len(p.cur.buf)+k]
		n -= int64(k)
	}
	return true
}

// produce reads the tar-split and the files into chunks.
func (p *pipeline) produce(root *beneath.Root, up storage.Unpacker) {
	defer func() {
		p.flush()
		close(p.toCRC)
		close(p.toOut)
	}()
	index := 0
	for {
		e, err := up.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			p.err = fmt.Errorf("reading the tar-split: %w", err)
			return
		}
		switch e.Type {
		case storage.SegmentType:
			if !p.bytes(e.Payload) {
				return
			}
		case storage.FileType:
			p.entries++
			index++
			if e.Size == 0 {
				continue
			}
			ok, err := p.file(root, e, index)
			if err != nil {
				p.err = err
				return
			}
			if !ok {
				return
			}
		default:
			p.err = fmt.Errorf("reading the tar-split: unknown entry type %d", e.Type)
			return
		}
	}
}

// file appends exactly e.Size bytes of e's file (zeros for what is
// missing, so the stream keeps its shape), and
// records what is wrong with it, or marks its content for the crc check.
func (p *pipeline) file(root *beneath.Root, e *storage.Entry, index int) (bool, error) {
	name := e.GetName()
	found := func(f Finding) { p.found = append(p.found, indexedFinding{f, index}) }
	pth, ok := tarPath(name)
	if !ok {
		found(finding(name, Outside, "names a path outside the layer"))
		return p.zeros(e.Size), nil
	}
	fd, err := root.Open(pth, unix.O_RDONLY)
	if err != nil {
		if beneath.Gone(err) {
			found(finding(pth, Missing, "missing"))
		} else {
			found(finding(pth, Unreadable, "unreadable: %v", err))
		}
		return p.zeros(e.Size), nil
	}
	f := os.NewFile(uintptr(fd), pth)
	defer f.Close()
	pf := &pipeFile{path: pth, want: e.Payload, index: index}
	var n int64
	var rerr error
	for n < e.Size {
		if !p.room() {
			return false, nil
		}
		c := p.cur
		k := int(min(e.Size-n, int64(cap(c.buf)-len(c.buf))))
		m, err := f.Read(c.buf[len(c.buf) : len(c.buf)+k])
		if m > 0 {
			c.spans = append(c.spans, span{off: len(c.buf), n: m, f: pf})
			c.buf = c.buf[:len(c.buf)+m]
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if !p.zeros(e.Size - n) {
		return false, nil
	}
	switch {
	case rerr != nil:
		found(finding(pth, Unreadable, "unreadable: %v", rerr))
		pf = nil
	case n < e.Size:
		found(finding(pth, SizeChanged, "size %d, was %d", n, e.Size))
		pf = nil
	default:
		var one [1]byte
		if m, _ := f.Read(one[:]); m > 0 {
			st, _ := f.Stat()
			found(finding(pth, SizeChanged, "size %d, was %d", st.Size(), e.Size))
			pf = nil
		}
	}
	// The crc check, after the last byte: a span of no bytes that ends
	// the file, or says its content is not to be checked.
	if !p.room() {
		return false, nil
	}
	if pf == nil {
		pf = &pipeFile{index: -1}
	}
	p.cur.spans = append(p.cur.spans, span{off: len(p.cur.buf), f: pf, last: true})
	return true, nil
}

// check computes each file's crc64 as its bytes go by, and holds it
// against the tar-split's.
func (p *pipeline) check(on bool) {
	crc := crc64.New(storage.CRCTable)
	var cur *pipeFile
	for c := range p.toCRC {
		if !on {
			p.release(c)
			continue
		}
		for _, s := range c.spans {
			if s.f != cur {
				crc.Reset()
				cur = s.f
			}
			if s.n > 0 {
				crc.Write(c.buf[s.off : s.off+s.n])
			}
			if s.last {
				if s.f.index >= 0 && !bytes.Equal(crc.Sum(nil), s.f.want) {
					p.crcFound = append(p.crcFound, indexedFinding{finding(s.f.path, ContentChanged, "content changed (crc64 differs)"), s.f.index})
				}
				cur = nil
			}
		}
		p.release(c)
	}
}

// counter counts what goes to w and keeps its first error.
type counter struct {
	w        io.Writer
	n        int64
	err      error
	progress func(int64)
}

func (c *counter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(int64(n))
	}
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// ErrNoTarSplit is what a Layer's OpenTarSplit returns when the layer
// has none.
var ErrNoTarSplit = errors.New("no tar-split")

// MissingError is ErrNoTarSplit with the store's own reason (containerd:
// the layer blob that stands in for one is gone).
type MissingError struct{ Why string }

func (e *MissingError) Error() string        { return e.Why }
func (e *MissingError) Is(target error) bool { return target == ErrNoTarSplit }

// NoTarSplitReason is why err, an ErrNoTarSplit, has no tar-split: the
// store's own reason, or otherwise.
func NoTarSplitReason(err error, otherwise string) string {
	var m *MissingError
	if errors.As(err, &m) {
		return m.Why
	}
	return otherwise
}
