package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/distribution/reference"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func (e *env) saveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "write images and containers to a tar archive, as docker save does",
		UsageText: "aufsmount [--root DIR] save [-o FILE] [--tag NAME:TAG] [--as-is] REF...",
		Description: `Writes one archive holding the images and containers named, in the format
of docker save of Docker 25 and later: manifest.json and repositories,
a directory per layer, and the OCI image layout (oci-layout, index.json,
blobs/sha256/). docker load of it, on any Docker since 1.10, gives the
images their ids and tags; skopeo and umoci read it too. Each
layer is stored once, however many images share it.

Each image layer is its original tar stream, rebuilt byte for byte from
the tar-split Docker kept of it and the layer's files, so the image
configs are written as they are and the image ids stay. A layer whose
files no longer match its tar-split stops the save, naming what
differs, and nothing is left of FILE; with --as-is it is written as a
fresh tar of what is there now instead, which gives its image a new
config and a new id, and a warning names it. A layer that has no
tar-split is written as a fresh tar too, and said so.

REF as docker save takes it: a tag saves that tag, a bare name every tag
of that name, an image id the image without a name. A pre-1.10 image gets
the config Docker 1.10's migration would have made of it. A container is
saved as docker commit would make an image of it: its image's layers and
one more, its own changes (its init layer left out), with its own
settings; --tag names that image.

Without -o, or with -o -, the archive goes to standard output, which must
not be a terminal.

Examples:
   aufsmount save -o app.tar user/app:v1
   aufsmount --root /srv/old/docker save busybox | docker load
   aufsmount save --tag rescued/web:1 -o web.tar web-container`,
		Flags: append(storeFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (\"-\": standard output)"},
			&cli.StringFlag{Name: "tag", Usage: "name the image made of a container `NAME:TAG`"},
			&cli.BoolFlag{Name: "as-is", Usage: "save layers whose files changed as they are now (new diff ids and image ids)"},
		),
		Action: e.saveAction,
	}
}

func (e *env) saveAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("save: expected at least one REF (see aufsmount save --help)")
	}
	var tag reference.NamedTagged
	if t := c.String("tag"); t != "" {
		named, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return usageErrorf("save: --tag %s: %v", t, err)
		}
		if _, ok := named.(reference.Digested); ok {
			return usageErrorf("save: --tag %s: a tag, not a digest", t)
		}
		tag = reference.TagNameOnly(named).(reference.NamedTagged)
	}
	out := c.String("output")
	toStdout := out == "" || out == "-"
	if toStdout && isTerminal(e.stdout) {
		return usageErrorf("save: refusing to write a tar archive to a terminal: name a file with -o FILE, or redirect standard output")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	if !toStdout {
		abs, err := filepath.Abs(out)
		if err != nil {
			return err
		}
		if within(abs, s.Root()) {
			return usageErrorf("save: -o %s is inside the store %s, which is never written", out, s.Root())
		}
	}
	sv := &saver{e: e, s: s, asIs: c.Bool("as-is"), tag: tag}
	if err := sv.plan(c.Args().Slice()); err != nil {
		return err
	}
	if toStdout {
		return sv.write(e.stdout)
	}
	return sv.writeFile(out)
}

// writeFile writes the archive to path; on failure, what was written is
// removed.
func (sv *saver) writeFile(path string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	st, _ := f.Stat()
	regular := st != nil && st.Mode().IsRegular()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", path, cerr)
		}
		if err != nil && regular {
			os.Remove(path)
		}
	}()
	return sv.write(f)
}

// write writes the archive to w through a writer that overlaps the
// output's system calls with the reading of the layers.
func (sv *saver) write(w io.Writer) error {
	aw := newAsyncWriter(w)
	err := sv.archive(aw)
	if cerr := aw.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, unix.EPIPE) {
		return errors.New("the reader of the archive went away (broken pipe)")
	}
	return err
}

// asyncWriter hands full buffers to a goroutine that writes them, so that
// a slow write does not hold up the next read; at most a few buffers are
// in flight. The first write error stops the writes, and is returned by
// every Write after it and by Close.
type asyncWriter struct {
	buf  []byte
	full chan []byte
	free chan []byte
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
	for i := 0; i < asyncBufs; i++ {
		a.free <- make([]byte, 0, asyncBufSize)
	}
	a.buf = <-a.free
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
			a.buf = <-a.free
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

// shortName is how a message names a layer: its short id and directory.
func shortName(id, dir string) string {
	return fmt.Sprintf("%s (%s)", id, dir)
}
