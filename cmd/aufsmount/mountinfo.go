package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/fs/mountinfo"
)

// mountPointAt is where a path given on the command line leads.
type mountPointAt struct {
	Path  string           // absolute, clean, no symlinks
	Mount *mountinfo.Mount // the mount at Path, if any
	Info  os.FileInfo      // Lstat of Path when nothing is mounted there
}

// locateMountPoint resolves p (relative paths and symlinks included)
// without ever stat-ing a path that is a mount point: on a FUSE mount
// whose daemon died, stat fails with ENOTCONN, and if the daemon hangs it
// blocks. Only the parent directories are resolved with lstat, and the last
// component is looked up in the mount table before it is touched. An error
// is returned when p does not exist (wrapping fs.ErrNotExist) or cannot be
// reached.
func locateMountPoint(p string, mounts []mountinfo.Mount) (mountPointAt, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return mountPointAt{}, err
	}
	for hops := 0; hops < 40; hops++ {
		path := abs
		if abs != "/" {
			parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
			if err != nil {
				return mountPointAt{}, err
			}
			path = filepath.Join(parent, filepath.Base(abs))
		}
		if m, ok := mountinfo.Find(mounts, path); ok {
			return mountPointAt{Path: path, Mount: &m}, nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return mountPointAt{}, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return mountPointAt{Path: path, Info: fi}, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return mountPointAt{}, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		abs = filepath.Clean(target)
	}
	return mountPointAt{}, fmt.Errorf("too many levels of symbolic links")
}
