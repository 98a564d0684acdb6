package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outputFile is where save -o FILE writes: a new file beside FILE, named
// .FILE.aufsmount-XXXXXXXX and made with O_EXCL, renamed over FILE once
// the archive is whole. A save that fails, or that SIGINT, SIGTERM,
// SIGHUP or SIGPIPE (the reader of its standard error gone) ends, removes
// it: FILE is never half written, and a FILE that was there stays until
// the new one replaces it.
type outputFile struct {
	*os.File
	path string // FILE, its symlinks resolved: what the rename replaces
	tmp  string

	mu   sync.Mutex
	done bool // renamed or removed: the signal handler has nothing to do
	sigs chan os.Signal
	stop sync.Once
}

// outputSignals end a save; each is left alone if the process was started
// ignoring it (nohup).
var outputSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGPIPE}

// createOutput makes the new file for path. target is the file the
// rename replaces: path, or the file its symlinks lead to.
func createOutput(target string) (*outputFile, error) {
	perm := os.FileMode(0o644) // less the umask, as any new file
	keep := false
	if fi, err := os.Stat(target); err == nil {
		perm, keep = fi.Mode().Perm(), true
	}
	dir, base := filepath.Split(target)
	o := &outputFile{path: target, sigs: make(chan os.Signal, 1)}
	// Handled from before the file exists, so that none is left behind.
	for _, sig := range outputSignals {
		if !signal.Ignored(sig) {
			signal.Notify(o.sigs, sig)
		}
	}
	go o.onSignal()
	for range 100 {
		var rnd [4]byte
		rand.Read(rnd[:])
		tmp := filepath.Join(dir, "."+base+".aufsmount-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, perm)
		if errors.Is(err, iofs.ErrExist) {
			continue
		}
		if err != nil {
			o.stopSignals()
			return nil, fmt.Errorf("creating the archive beside %s: %w", target, err)
		}
		o.mu.Lock()
		if o.done { // a signal came: the process is ending
			o.mu.Unlock()
			f.Close()
			os.Remove(tmp)
			return nil, fmt.Errorf("writing %s: interrupted", target)
		}
		o.File, o.tmp = f, tmp
		o.mu.Unlock()
		if keep {
			// The archive replacing a file keeps its permissions.
			if err := f.Chmod(perm); err != nil {
				o.abort()
				return nil, fmt.Errorf("%s: %w", tmp, err)
			}
		}
		return o, nil
	}
	o.stopSignals()
	return nil, fmt.Errorf("creating the archive beside %s: no free temporary name", target)
}

// onSignal removes the new file when a signal ends the save, then ends
// the process by that signal, as it would have ended without the handler.
func (o *outputFile) onSignal() {
	sig, ok := <-o.sigs
	if !ok {
		return
	}
	o.remove()
	s := sig.(syscall.Signal)
	signal.Reset(s)
	if s != unix.SIGPIPE { // the Go runtime ignores a SIGPIPE that no write to standard output or error raised
		unix.Kill(os.Getpid(), s)
		time.Sleep(5 * time.Second) // the signal's default action ends the process first
	}
	os.Exit(128 + int(s))
}

// commit makes the new file FILE: to disk, then renamed over it.
func (o *outputFile) commit() error {
	defer o.stopSignals()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return fmt.Errorf("writing %s: interrupted", o.path)
	}
	o.done = true
	err := o.Sync()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp, o.path)
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}

// abort removes the new file, after a failed save; FILE is as it was.
func (o *outputFile) abort() {
	o.remove()
	o.stopSignals()
}

func (o *outputFile) remove() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done && o.File != nil {
		o.Close()
		os.Remove(o.tmp)
	}
	o.done = true
}

func (o *outputFile) stopSignals() {
	o.stop.Do(func() {
		signal.Stop(o.sigs)
		close(o.sigs)
	})
}
