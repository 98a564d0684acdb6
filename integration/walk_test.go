package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// info is everything a user can see of one entry.
type info struct {
	Mode         uint32 // type and permission bits
	UID, GID     uint32
	Size         int64
	Blocks       int64
	Nlink        uint64
	Rdev         uint64
	Atime, Mtime unix.Timespec
	Ctime        unix.Timespec
	Target       string
	Xattrs       string // sorted name=value lines
	Hash         string // sha256 of a regular file's content
	Ino          uint64 // compared as groups, not as values
}

// describe reads one entry without following it.
func describe(path string) (info, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return info{}, err
	}
	in := info{
		Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Blocks: st.Blocks,
		Nlink: uint64(st.Nlink), Rdev: st.Rdev, Atime: st.Atim, Mtime: st.Mtim, Ctime: st.Ctim, Ino: st.Ino,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		t, err := os.Readlink(path)
		if err != nil {
			return in, err
		}
		in.Target = t
	case unix.S_IFREG:
		// O_NOATIME: reading the layers to know what to expect must not
		// change what is expected.
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOATIME|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return in, fmt.Errorf("opening %s: %w", path, err)
		}
		f := os.NewFile(uintptr(fd), path)
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return in, fmt.Errorf("reading %s: %w", path, err)
		}
		in.Hash = hex.EncodeToString(h.Sum(nil))
	}
	x, err := xattrs(path)
	if err != nil {
		return in, err
	}
	in.Xattrs = x
	return in, nil
}

func xattrs(path string) (string, error) {
	sz, err := unix.Llistxattr(path, nil)
	if err != nil || sz == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return "", err
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(path, buf)
	if err != nil {
		return "", fmt.Errorf("listxattr %s: %w", path, err)
	}
	var lines []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if name == "" {
			continue // kernel overlayfs sizes the list before leaving out its own names
		}
		vsz, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return "", fmt.Errorf("getxattr %s %s: %w", path, name, err)
		}
		val := make([]byte, vsz)
		vsz, err = unix.Lgetxattr(path, name, val)
		if err != nil {
			return "", fmt.Errorf("getxattr %s %s: %w", path, name, err)
		}
		lines = append(lines, fmt.Sprintf("%s=%x", name, val[:vsz]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// walk describes every entry under root, keyed by slash path ("" is root).
func walk(t testing.TB, root string) map[string]info {
	t.Helper()
	out, err := walkTree(root)
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

// diffTrees reports every difference between two walks: entries only in
// one, then attribute differences; inode numbers are compared as groups
// (same number on one side exactly where the other has the same number).
func diffTrees(want, got map[string]info, ignore func(path string, w, g *info)) []string {
	var diffs []string
	var paths []string
	for p := range want {
		paths = append(paths, p)
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: in the mount only", p))
		}
	}
	sort.Strings(paths)
	wantGroup, gotGroup := map[uint64]string{}, map[uint64]string{}
	for _, p := range paths {
		w := want[p]
		g, ok := got[p]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%q: missing from the mount", p))
			continue
		}
		// Inode groups: the first path seen with a number names the group.
		wg, seen := wantGroup[w.Ino]
		if !seen {
			wantGroup[w.Ino], wg = p, p
		}
		gg, seen := gotGroup[g.Ino]
		if !seen {
			gotGroup[g.Ino], gg = p, p
		}
		if wg != gg {
			diffs = append(diffs, fmt.Sprintf("%q: hard-link group %q in the layers but %q in the mount", p, wg, gg))
		}
		w.Ino, g.Ino = 0, 0
		if ignore != nil {
			ignore(p, &w, &g)
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%q:\n\twant %+v\n\tgot  %+v", p, w, g))
		}
	}
	sort.Strings(diffs)
	return diffs
}
