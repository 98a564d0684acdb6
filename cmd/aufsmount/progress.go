package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// progress shows, on a terminal, how far a long job over layers is:
// layers and bytes done, the rate and the time left. It shows nothing
// when w is not a terminal.
type progress struct {
	w            io.Writer
	what         string
	layers       int
	total        int64 // bytes expected; 0 when unknown
	done         atomic.Int64
	layersDone   atomic.Int64
	start        time.Time
	stop, closed chan struct{}
	once         sync.Once
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// newProgress starts a display on w if it is a terminal; the returned
// progress counts either way.
func newProgress(w io.Writer, what string, layers int, total int64) *progress {
	p := &progress{w: w, what: what, layers: layers, total: total, start: time.Now(), stop: make(chan struct{}), closed: make(chan struct{})}
	if !isTerminal(w) {
		close(p.closed)
		return p
	}
	go func() {
		defer close(p.closed)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(p.w, "\r\033[K%s", p.line())
			}
		}
	}()
	return p
}

func (p *progress) add(n int64)            { p.done.Add(n) }
func (p *progress) layerDone()             { p.layersDone.Add(1) }
func (p *progress) elapsed() time.Duration { return time.Since(p.start) }

// line is what the display shows now.
func (p *progress) line() string {
	done, el := p.done.Load(), time.Since(p.start).Seconds()
	rate := float64(done) / max(el, 0.001)
	s := fmt.Sprintf("%s: %d/%d layers, %s", p.what, p.layersDone.Load(), p.layers, humanSize(done))
	if p.total > 0 {
		s += " of " + humanSize(p.total)
	}
	s += fmt.Sprintf(", %s/s", humanSize(int64(rate)))
	if p.total > done && rate > 0 {
		left := time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second)
		s += fmt.Sprintf(", %s left", left)
	}
	return s
}

// close ends the display.
func (p *progress) close() {
	p.once.Do(func() { close(p.stop) })
	<-p.closed
}
