package storetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// copyLoss does to one layer directory what a copy by a user without -a
// does (docs/copies.md): hard links split, xattrs, devices and fifos
// dropped, modes cut by the umask and stripped of setuid, setgid and
// sticky, everything owned by the copier, and every time the copy's. It
// says how many entries it changed.
func copyLoss(dir string, loss Loss) (int, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	seen := map[uint64]bool{}
	var kept []string
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return n, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
			if loss&LostSpecials != 0 {
				// The copy never made it: its directory keeps its times.
				var dst unix.Stat_t
				parent := filepath.Dir(p)
				if err := unix.Lstat(parent, &dst); err != nil {
					return n, err
				}
				if err := unix.Unlink(p); err != nil {
					return n, err
				}
				if err := unix.UtimesNanoAt(unix.AT_FDCWD, parent, []unix.Timespec{dst.Atim, dst.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					return n, err
				}
				n++
				continue
			}
		case unix.S_IFREG:
			if loss&LostLinks != 0 && st.Nlink > 1 {
				if seen[st.Ino] {
					if err := splitLink(p, &st); err != nil {
						return n, err
					}
					n++
				}
				seen[st.Ino] = true
			}
		}
		kept = append(kept, p)
	}
	// Children before parents, so a directory's time is set after its
	// entries stop changing it.
	slices.Reverse(kept)
	for _, p := range kept {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return n, err
		}
		changed := false
		if loss&LostAllXattrs != 0 {
			m, err := dropXattrs(p)
			if err != nil {
				return n, err
			}
			changed = changed || m > 0
		}
		if loss&LostOwners != 0 && (st.Uid != CopierUID || st.Gid != CopierGID) {
			if err := unix.Lchown(p, CopierUID, CopierGID); err != nil {
				return n, fmt.Errorf("chown %s: %w", p, err)
			}
			changed = true
		}
		if loss&LostModes != 0 && st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if m := st.Mode & 0o7777 &^ 0o7022; m != st.Mode&0o7777 {
				if err := unix.Chmod(p, m); err != nil {
					return n, fmt.Errorf("chmod %s: %w", p, err)
				}
				changed = true
			}
		}
		if loss&LostTimes != 0 {
			t := unix.Timespec{Nsec: unix.UTIME_NOW}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return n, fmt.Errorf("setting the times of %s: %w", p, err)
			}
			changed = true
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// splitLink makes p, one name of a hard-linked file, a file of its own
// with the same content and attributes, keeping its directory's times.
func splitLink(p string, st *unix.Stat_t) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var dst unix.Stat_t
	parent := filepath.Dir(p)
	if err := unix.Lstat(parent, &dst); err != nil {
		return err
	}
	tmp := p + ".split"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := unix.Chmod(tmp, st.Mode&0o7777); err != nil {
		return err
	}
	if err := unix.Lchown(tmp, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, tmp, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, parent, []unix.Timespec{dst.Atim, dst.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

// dropXattrs removes every extended attribute of p.
func dropXattrs(p string) (int, error) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			err = nil
		}
		return 0, err
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range splitNul(buf[:sz]) {
		if err := unix.Lremovexattr(p, name); err != nil {
			return n, fmt.Errorf("removing xattr %s of %s: %w", name, p, err)
		}
		n++
	}
	return n, nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
