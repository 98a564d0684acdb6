package save

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// File is an archive file written whole or not at all: Create makes a
// new file beside the target, named .NAME.aufsmount-XXXXXXXX and made
// with O_EXCL, and Commit renames it over the target once the archive
// is whole. Remove, after a failed save, deletes it, and the target,
// if it was there, stays as it was until a new one replaces it.
//
// A target that is there and is not a regular file (a device, a FIFO)
// cannot be renamed over: it is written in place (Direct).
//
// Remove may be called from another goroutine at any time, before
// Create too: a signal handler calls it as the process ends, and a
// Create or Commit after it fails as interrupted.
type File struct {
	path   string // the target, its symlinks resolved: what the rename replaces
	direct bool

	mu   sync.Mutex
	f    *os.File
	tmp  string // "" when direct
	done bool   // committed or removed: nothing more to do
}

// NewFile is the archive file for target (its symlinks resolved, so
// that the file they lead to is replaced, not a link). Nothing is
// created until Create.
func NewFile(target string) *File {
	fi, err := os.Stat(target)
	return &File{path: target, direct: err == nil && !fi.Mode().IsRegular()}
}

// Direct says whether the target is written in place, as it is there
// and not a regular file; nothing is then removed after a failure.
func (o *File) Direct() bool { return o.direct }

// Create opens the file the archive is written to: the target itself
// when Direct, else a new file beside it, with the target's permissions
// where it was there (0644 less the umask where not).
func (o *File) Create() error {
	if o.direct {
		f, err := os.OpenFile(o.path, os.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return o.opened(f, "")
	}
	perm := os.FileMode(0o644)
	keep := false
	if fi, err := os.Stat(o.path); err == nil {
		perm, keep = fi.Mode().Perm(), true
	}
	dir, base := filepath.Split(o.path)
	for range 100 {
		var rnd [4]byte
		rand.Read(rnd[:])
		tmp := filepath.Join(dir, "."+base+".aufsmount-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, perm)
		if errors.Is(err, iofs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating the archive beside %s: %w", o.path, err)
		}
		if err := o.opened(f, tmp); err != nil {
			return err
		}
		if keep {
			// The archive replacing a file keeps its permissions.
			if err := f.Chmod(perm); err != nil {
				o.Remove()
				return fmt.Errorf("%s: %w", tmp, err)
			}
		}
		return nil
	}
	return fmt.Errorf("creating the archive beside %s: no free temporary name", o.path)
}

// opened keeps f, unless Remove came first.
func (o *File) opened(f *os.File, tmp string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done { // removed: the process is ending
		f.Close()
		if tmp != "" {
			os.Remove(tmp)
		}
		return fmt.Errorf("writing %s: interrupted", o.path)
	}
	o.f, o.tmp = f, tmp
	return nil
}

// Write writes to the file Create opened.
func (o *File) Write(p []byte) (int, error) { return o.f.Write(p) }

// Commit makes the archive the target: to disk, then renamed over it
// (when Direct, the target is closed). After a failure the new file is
// removed.
func (o *File) Commit() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done || o.f == nil {
		return fmt.Errorf("writing %s: interrupted", o.path)
	}
	o.done = true
	if o.direct {
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("%s: %w", o.path, err)
		}
		return nil
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
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

// Remove deletes the new file (closes the target when Direct), leaving
// the target as it was; nothing once committed.
func (o *File) Remove() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done && o.f != nil {
		o.f.Close()
		if o.tmp != "" {
			os.Remove(o.tmp)
		}
	}
	o.done = true
}
