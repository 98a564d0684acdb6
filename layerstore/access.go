package layerstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// PermissionError says this user may not read a directory of the store.
// A real Docker root (/var/lib/docker, and its image/, aufs/, overlay2/
// ...) is root's alone: without root, it looks empty rather than foreign.
type PermissionError struct {
	Dir string // the first directory on the way that cannot be listed or entered
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("cannot read %s: permission denied", e.Dir)
}

func (e *PermissionError) Unwrap() error { return fs.ErrPermission }

// unreadable returns the first directory of those detect looks into
// (the root, image/ and image/<driver>/, graph/ and the drivers' trees)
// that this user cannot list or enter, or "".
func unreadable(abs string) string {
	if !canRead(abs) {
		return abs
	}
	subs := []string{"image", "graph"}
	for _, d := range drivers {
		subs = append(subs, filepath.Join("image", d.name()), d.name())
	}
	for _, sub := range subs {
		p := filepath.Join(abs, sub)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() && !canRead(p) {
			return p
		}
	}
	return ""
}

// canRead says whether the calling process may list and enter dir.
func canRead(dir string) bool {
	return unix.Faccessat(unix.AT_FDCWD, dir, unix.R_OK|unix.X_OK, unix.AT_EACCESS) == nil
}

// maxRootChildren bounds the subdirectories looked into for a root
// suggestion.
const maxRootChildren = 256

// nearRoots suggests the Docker roots near abs, which is none: the
// directory above it or the one above that (a --root of .../docker/aufs
// or .../docker/image/overlay2), or one just below it (a --root of the
// directory that holds docker/).
func nearRoots(abs string) []string {
	var out []string
	for up, p := 0, abs; up < 2 && p != "/"; up++ {
		p = filepath.Dir(p)
		if len(detect(p)) > 0 {
			return []string{p}
		}
	}
	entries, err := readDir(abs)
	if err != nil {
		return nil
	}
	for i, e := range entries {
		if i == maxRootChildren || len(out) == maxSuggestions {
			break
		}
		if p := filepath.Join(abs, e.Name()); e.IsDir() && len(detect(p)) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// didYouMeanRoot is the hint nearRoots gives, or "".
func didYouMeanRoot(abs string) string {
	near := nearRoots(abs)
	if len(near) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(near, " or ") + "?)"
}
