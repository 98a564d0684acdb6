package layertar

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"os"

	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/beneath"
)

// copyBuf is the size of the buffer file contents go through.
const copyBuf = 1 << 20

// Write reassembles the layer's original tar stream into w, reading each
// file's content beneath the layer's root, and checks every file against
// its recorded size and crc64. A file that is missing, or shorter than
// recorded, is padded with zeros so that the stream keeps its shape; its
// finding and the digest say it is not the original. progress, if set,
// is told the bytes written as they go.
func Write(l Layer, w io.Writer, progress func(int64)) (*Report, error) {
	root, err := beneath.OpenRoot(l.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	ts, err := l.OpenTarSplit()
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	sum := sha256.New()
	out := &counter{w: io.MultiWriter(w, sum), progress: progress}
	rep := &Report{}
	up := storage.NewJSONUnpacker(ts)
	buf := make([]byte, copyBuf)
	crc := crc64.New(storage.CRCTable)
	for {
		e, err := up.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar-split: %w", err)
		}
		switch e.Type {
		case storage.SegmentType:
			if _, err := out.Write(e.Payload); err != nil {
				return nil, err
			}
		case storage.FileType:
			rep.Entries++
			if e.Size == 0 {
				continue
			}
			f := copyFile(root, e, out, crc, buf)
			if out.err != nil {
				return nil, out.err
			}
			if f != nil {
				rep.Findings = append(rep.Findings, *f)
			}
		default:
			return nil, fmt.Errorf("reading the tar-split: unknown entry type %d", e.Type)
		}
	}
	rep.Size = out.n
	rep.Digest = "sha256:" + hex.EncodeToString(sum.Sum(nil))
	return rep, nil
}

// copyFile writes exactly e.Size bytes of e's file to out (its first
// write error stays in out.err) and checks them against e's crc64; it
// returns a finding when the file is not as recorded.
func copyFile(root *beneath.Root, e *storage.Entry, out *counter, crc hash.Hash64, buf []byte) *Finding {
	name := e.GetName()
	p, ok := tarPath(name)
	if !ok {
		out.zeros(e.Size, buf)
		return &Finding{Path: name, What: "names a path outside the layer"}
	}
	fd, err := root.Open(p, unix.O_RDONLY)
	if err != nil {
		out.zeros(e.Size, buf)
		if beneath.Gone(err) {
			return &Finding{Path: p, What: "missing"}
		}
		f := finding(p, "unreadable: %v", err)
		return &f
	}
	file := os.NewFile(uintptr(fd), p)
	defer file.Close()
	crc.Reset()
	n, err := io.CopyBuffer(io.MultiWriter(out, crc), io.LimitReader(file, e.Size), buf)
	out.zeros(e.Size-n, buf)
	var f Finding
	switch {
	case out.err != nil:
		return nil
	case err != nil:
		f = finding(p, "unreadable: %v", err)
	case n < e.Size:
		f = finding(p, "size %d, was %d", n, e.Size)
	default:
		var one [1]byte
		if m, _ := file.Read(one[:]); m > 0 {
			st, _ := file.Stat()
			f = finding(p, "size %d, was %d", st.Size(), e.Size)
		} else if !bytes.Equal(crc.Sum(nil), e.Payload) {
			f = finding(p, "content changed (crc64 differs)")
		} else {
			return nil
		}
	}
	return &f
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

// zeros writes n zero bytes.
func (c *counter) zeros(n int64, buf []byte) {
	if n <= 0 {
		return
	}
	clear(buf)
	for n > 0 && c.err == nil {
		k := int(min(n, int64(len(buf))))
		c.Write(buf[:k])
		n -= int64(k)
	}
}

// ErrNoTarSplit is what a Layer's OpenTarSplit returns when the layer
// has none.
var ErrNoTarSplit = errors.New("no tar-split")
