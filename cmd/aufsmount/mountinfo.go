package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mountInfo is one line of /proc/self/mountinfo (proc(5)).
type mountInfo struct {
	ID, Parent   int
	Root         string // the mounted subtree of the filesystem
	MountPoint   string
	Options      string // per-mount options
	FSType       string // e.g. "fuse.aufsmount"
	Source       string // for our mounts: the reference as typed
	SuperOptions string
}

const mountInfoPath = "/proc/self/mountinfo"

// readMountInfo parses the mount table of this process's mount namespace.
func readMountInfo() ([]mountInfo, error) {
	f, err := os.Open(mountInfoPath)
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	mounts, err := parseMountInfo(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", mountInfoPath, err)
	}
	return mounts, nil
}

// parseMountInfo reads mountinfo lines:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// with zero or more optional fields before the "-".
func parseMountInfo(r io.Reader) ([]mountInfo, error) {
	var mounts []mountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountInfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return mounts, nil
}

func parseMountInfoLine(line string) (mountInfo, error) {
	var m mountInfo
	f := strings.Split(line, " ")
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 10 || sep < 0 || len(f) < sep+4 {
		return m, fmt.Errorf("malformed mount entry %q", line)
	}
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return m, fmt.Errorf("malformed mount id in %q", line)
	}
	if m.Parent, err = strconv.Atoi(f[1]); err != nil {
		return m, fmt.Errorf("malformed parent id in %q", line)
	}
	m.Root = unescapeMountField(f[3])
	m.MountPoint = unescapeMountField(f[4])
	m.Options = f[5]
	m.FSType = unescapeMountField(f[sep+1])
	m.Source = unescapeMountField(f[sep+2])
	m.SuperOptions = unescapeMountField(f[sep+3])
	return m, nil
}

// unescapeMountField undoes the kernel's octal escapes (\040 for a space,
// \011 tab, \012 newline, \134 backslash; any \ooo in general). A
// backslash not followed by three octal digits is kept as it is.
func unescapeMountField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		// At most \377: a byte.
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// findMount returns the topmost mount at path (an absolute, clean path
// without symlinks), or false.
func findMount(mounts []mountInfo, path string) (mountInfo, bool) {
	// Later lines are mounted over earlier ones at the same place.
	for i := len(mounts) - 1; i >= 0; i-- {
		if mounts[i].MountPoint == path {
			return mounts[i], true
		}
	}
	return mountInfo{}, false
}

// mountPointAt is where a path given on the command line leads.
type mountPointAt struct {
	Path  string      // absolute, clean, no symlinks
	Mount *mountInfo  // the mount at Path, if any
	Info  os.FileInfo // Lstat of Path when nothing is mounted there
}

// locateMountPoint resolves p (relative paths and symlinks included)
// without ever stat-ing a path that is a mount point: on a FUSE mount
// whose daemon died, stat fails with ENOTCONN, and if the daemon hangs it
// blocks. Only the parent directories are resolved with lstat, and the last
// component is looked up in the mount table before it is touched. An error
// is returned when p does not exist (wrapping fs.ErrNotExist) or cannot be
// reached.
func locateMountPoint(p string, mounts []mountInfo) (mountPointAt, error) {
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
		if m, ok := findMount(mounts, path); ok {
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
