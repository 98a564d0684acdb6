package save

import (
	"io"
	"sync"
)

// asyncWriter hands full buffers to a goroutine that writes them, so that
// a slow write to the archive's file or pipe does not hold up the
// reading of the next layer; at most a few buffers are in flight. The
// first write error stops the writes, and is returned by every Write
// after it and by Close.
type asyncWriter struct {
	buf  []byte
	full chan []byte
	free chan []byte
	made int // buffers made: they are made as they are needed
	done chan struct{}
	mu   sync.Mutex
	err  error
}

const (
	asyncBufSize = 1 << 20
	asyncBufs    = 8
)

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{full: make(chan []byte, asyncBufs), free: make(chan []byte, asyncBufs), done: make(chan struct{})}
	a.buf = a.next()
	go func() {
		defer close(a.done)
		for b := range a.full {
			if a.failed() == nil {
				if _, err := w.Write(b); err != nil {
					a.mu.Lock()
					a.err = err
					a.mu.Unlock()
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

// next is an empty buffer: one written, or a new one while fewer than
// asyncBufs are made.
func (a *asyncWriter) next() []byte {
	select {
	case b := <-a.free:
		return b
	default:
	}
	if a.made < asyncBufs {
		a.made++
		return make([]byte, 0, asyncBufSize)
	}
	return <-a.free
}

func (a *asyncWriter) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := a.failed(); err != nil {
			return n, err
		}
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+k]
		p = p[k:]
		n += k
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = a.next()
		}
	}
	return n, nil
}

// Close writes what is left and waits for the writes to end.
func (a *asyncWriter) Close() error {
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	close(a.full)
	<-a.done
	return a.failed()
}
