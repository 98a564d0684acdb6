package beneath

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Readlink returns the target of the symlink rel as written; sizeHint is
// its expected length (st_size), to read it in one call.
func (r *Root) Readlink(rel string, sizeHint int) (string, error) {
	fd, name, err := r.OpenParent(rel)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	for size := max(sizeHint+1, 64); ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// xattrPath names rel itself for the l*xattr calls, which take no
// directory fd: its parent, opened safely, through /proc/self/fd, then
// the entry's own name as the last, unfollowed component.
func (r *Root) xattrPath(rel string) (string, int, error) {
	fd, name, err := r.OpenParent(rel)
	if err != nil {
		return "", -1, err
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", fd, name), fd, nil
}

// ListXattrs lists the extended attribute names of rel; a filesystem
// without xattrs gives none.
func (r *Root) ListXattrs(rel string) ([]string, error) {
	path, fd, err := r.xattrPath(rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	for {
		sz, err := unix.Llistxattr(path, nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil || sz == 0 {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Llistxattr(path, buf)
		if err == unix.ERANGE {
			continue // grew since sized
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, n := range strings.Split(string(buf[:sz]), "\x00") {
			if n != "" {
				names = append(names, n)
			}
		}
		return names, nil
	}
}

// GetXattr returns the value of rel's attribute name.
func (r *Root) GetXattr(rel, name string) ([]byte, error) {
	path, fd, err := r.xattrPath(rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	for {
		sz, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Lgetxattr(path, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:sz], nil
	}
}

// Dirent is one name of a directory as getdents gives it.
type Dirent struct {
	Name string
	Mode uint32 // S_IFMT bits of its type; settled with fstatat where getdents says DT_UNKNOWN
}

// ReadDirents reads every entry of the open directory fd but "." and
// "..", with buf as getdents' buffer. The type comes from getdents;
// DT_UNKNOWN (some filesystems) is settled with fstatat, never by
// following a link. It reads to the empty getdents: ext4 can return a
// short read with entries left.
func ReadDirents(fd int, buf []byte) ([]Dirent, error) {
	var ents []Dirent
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return ents, nil
		}
		for off := 0; off+19 <= n; {
			reclen := int(uint16(buf[off+16]) | uint16(buf[off+17])<<8)
			if reclen == 0 || off+reclen > n {
				return nil, unix.EIO
			}
			typ := buf[off+18]
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			off += reclen
			if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
				continue
			}
			e := Dirent{Name: string(name), Mode: uint32(typ) << 12}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if err := unix.Fstatat(fd, e.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
					e.Mode = st.Mode & unix.S_IFMT
				}
			}
			ents = append(ents, e)
		}
	}
}
