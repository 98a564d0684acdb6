package mounttable

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
)

// At is where a path given on the command line leads.
type At struct {
	Path  string      // absolute, clean, no symlinks
	Mount *Mount      // the mount at Path, if any
	Info  os.FileInfo // Lstat of Path when nothing is mounted there
}

// Locate resolves p (relative paths and symlinks included) without ever
// stat-ing a path that is a mount point: on a FUSE mount whose server
// died, stat fails with ENOTCONN, and if the server hangs it blocks. Only
// the parent directories are resolved with lstat, and the last component
// is looked up in mounts before it is touched. An error is returned when
// p does not exist (wrapping fs.ErrNotExist) or cannot be reached.
func Locate(p string, mounts []Mount) (At, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return At{}, err
	}
	for hops := 0; hops < 40; hops++ {
		path := abs
		if abs != "/" {
			parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
			if err != nil {
				return At{}, err
			}
			path = filepath.Join(parent, filepath.Base(abs))
		}
		if m, ok := Find(mounts, path); ok {
			return At{Path: path, Mount: &m}, nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return At{}, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return At{Path: path, Info: fi}, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return At{}, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		abs = filepath.Clean(target)
	}
	return At{}, fmt.Errorf("too many levels of symbolic links")
}

// CheckMountPoint returns the absolute path of arg, an existing directory
// that is not a mount point already, not inside the store at storeRoot
// nor above it, and empty unless nonEmpty. Its errors name arg.
func CheckMountPoint(arg, storeRoot string, nonEmpty bool) (string, error) {
	mounts, err := Read()
	if err != nil {
		return "", err
	}
	at, err := Locate(arg, mounts)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return "", fmt.Errorf("%s: mount point does not exist", arg)
		}
		return "", fmt.Errorf("%s: %w", arg, err)
	}
	if m := at.Mount; m != nil {
		return "", alreadyMounted(arg, m)
	}
	if !at.Info.IsDir() {
		return "", fmt.Errorf("%s: mount point is not a directory", arg)
	}
	// A view mounted over part of the store would hide, or loop into, the
	// layers it is made of.
	if root, err := filepath.EvalSymlinks(storeRoot); err == nil {
		switch {
		case at.Path == root:
			return "", fmt.Errorf("%s: is the store %s: choose a mount point outside it", arg, storeRoot)
		case Within(at.Path, root):
			return "", fmt.Errorf("%s: inside the store %s: choose a mount point outside it", arg, storeRoot)
		case Within(root, at.Path):
			return "", fmt.Errorf("%s: holds the store %s, which the view would hide: choose a mount point outside it", arg, storeRoot)
		}
	}
	if !nonEmpty {
		if err := checkEmpty(at.Path); err != nil {
			return "", fmt.Errorf("%s: %w", arg, err)
		}
	}
	return at.Path, nil
}

// Within says whether path is dir or below it (both clean and absolute).
func Within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// alreadyMounted is the error for a mount point that has a mount on it;
// for a view of ours, it says whether its server is still there.
func alreadyMounted(arg string, m *Mount) error {
	msg := fmt.Sprintf("%s: already a mount point (%s %s)", arg, m.FSType, m.Source)
	if !m.IsFUSEView() {
		return fmt.Errorf("%s: unmount it first", msg)
	}
	if _, ok := Servers()[m.ID]; !ok {
		switch Probe(m.MountPoint) {
		case ServerGone:
			return fmt.Errorf("%s, whose server is gone (its process ended): aufsmount umount %s clears it", msg, arg)
		case ServerSilent:
			return fmt.Errorf("%s, whose server does not answer: aufsmount umount %s clears it", msg, arg)
		}
	}
	return fmt.Errorf("%s: unmount it first (aufsmount umount %s)", msg, arg)
}

// checkEmpty refuses a directory that has entries: a view mounted on it
// would hide them (-o nonempty allows it).
func checkEmpty(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) > 0 {
		return errors.New("mount point is not empty: the view would hide what it holds (use an empty directory, or -o nonempty to mount over it)")
	}
	if err != nil && err != io.EOF {
		return err
	}
	return nil
}
