package mounttable

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Unmounted says how a view went.
type Unmounted struct {
	MountPoint string // absolute, no symlinks
	// Lazy: it stayed busy (a file open in it, a process's cwd), so it was
	// detached: the path is free at once and the view goes with its last
	// user. Busy says why it could not be unmounted, on one line.
	Lazy bool
	Busy string
}

// busyFor is how long a busy view is retried before it is detached: a
// file open in it may be a moment from closing, but a view told to go
// (aufsmount umount, a signal to its server) must free its path well
// within a second.
const busyFor = 300 * time.Millisecond

// Unmount unmounts the view of ours at mountpoint (as typed: relative or
// through symlinks), FUSE or kernel; a FUSE view whose server died is
// cleared too. It refuses anything but our views. Its errors name
// mountpoint.
func Unmount(mountpoint string) (Unmounted, error) {
	mounts, err := Read()
	if err != nil {
		return Unmounted{}, err
	}
	at, err := Locate(mountpoint, mounts)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return Unmounted{}, fmt.Errorf("%s: no such file or directory", mountpoint)
		}
		return Unmounted{}, fmt.Errorf("%s: %w", mountpoint, err)
	}
	if at.Mount == nil {
		return Unmounted{}, fmt.Errorf("%s: not an aufsmount mount (not a mount point)", mountpoint)
	}
	if !at.Mount.IsView() {
		return Unmounted{}, fmt.Errorf("%s: not an aufsmount mount (it is %s)", mountpoint, at.Mount.FSType)
	}
	u, err := UnmountAt(at.Path, *at.Mount)
	if err != nil {
		if owner, ok := at.Mount.Owner(); ok && os.Geteuid() != 0 && owner != os.Geteuid() {
			return u, fmt.Errorf("unmounting %s: %w (it was mounted by uid %d: only that user or root can unmount it)", mountpoint, err, owner)
		}
		return u, fmt.Errorf("unmounting %s: %w", mountpoint, err)
	}
	return u, nil
}

// UnmountAt unmounts m, a view of ours at path (absolute, no symlinks),
// detaching it if it stays busy. As root it unmounts directly; a user
// unmounts a FUSE view through fusermount3, as it was mounted.
func UnmountAt(path string, m Mount) (Unmounted, error) {
	u := Unmounted{MountPoint: path}
	if os.Geteuid() != 0 && m.IsFUSEView() {
		return fusermountUnmount(u)
	}
	deadline := time.Now().Add(busyFor)
	for {
		// NOFOLLOW: path names the mount, never where a symlink leads.
		err := unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return u, err
		}
		if time.Now().After(deadline) {
			u.Busy = err.Error()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH); err != nil {
		return u, fmt.Errorf("lazy unmount: %w", err)
	}
	u.Lazy = true
	return u, nil
}

// fusermountUnmount asks the setuid helper, as a user must.
func fusermountUnmount(u Unmounted) (Unmounted, error) {
	bin, err := FusermountPath()
	if err != nil {
		return u, err
	}
	first := runQuiet(bin, "-u", u.MountPoint)
	if first == nil {
		return u, nil
	}
	if err := runQuiet(bin, "-u", "-z", u.MountPoint); err != nil {
		return u, first
	}
	u.Lazy, u.Busy = true, first.Error()
	return u, nil
}

// UnmountAll unmounts every view of ours this user may unmount (as root
// all of them, otherwise the user's own FUSE views), innermost first,
// and hands each, with its error, to done. The error is the mount
// table's.
func UnmountAll(done func(Unmounted, error)) error {
	mounts, err := Read()
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if !m.IsView() {
			continue
		}
		if os.Geteuid() != 0 {
			// A user can unmount only the FUSE views it mounted.
			if owner, ok := m.Owner(); !ok || owner != os.Geteuid() || !m.IsFUSEView() {
				continue
			}
		}
		done(UnmountAt(m.MountPoint, m))
	}
	return nil
}

// FusermountPath finds the helper users other than root mount and
// unmount with, where go-fuse looks for it.
func FusermountPath() (string, error) {
	for _, name := range []string{"fusermount3", "fusermount"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if p := "/bin/" + name; isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("fusermount3 not found: a user other than root needs it to mount and unmount (install the fuse3 package)")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runQuiet runs a command and folds what it said on stderr into its error.
func runQuiet(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.Join(strings.Fields(stderr.String()), " "); msg != "" {
			if strings.HasPrefix(msg, name+": ") || strings.HasPrefix(msg, filepath.Base(name)+": ") {
				return errors.New(msg) // the helper names itself
			}
			return fmt.Errorf("%s: %s", name, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
