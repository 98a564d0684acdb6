package layertar

import (
	"path"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// HasWhiteout tells whether directory dir of r holds a whiteout of name
// in one of enc's forms.
func HasWhiteout(r *beneath.Root, enc *whiteout.Encoding, dir, name string) bool {
	var st unix.Stat_t
	if enc.DotFiles && r.Lstat(path.Join(dir, whiteout.Prefix+name), &st) == nil {
		return true
	}
	if enc.Devices && r.Lstat(path.Join(dir, name), &st) == nil {
		k, _ := enc.Classify(name, st.Mode&unix.S_IFMT, st.Rdev)
		return k == whiteout.Whiteout
	}
	return false
}

// HasOpaque tells whether directory dir of r is marked opaque in one of
// enc's forms. A directory that is not there is not marked.
func HasOpaque(r *beneath.Root, enc *whiteout.Encoding, dir string) bool {
	var st unix.Stat_t
	if enc.DotFiles && r.Lstat(path.Join(dir, whiteout.OpaqueName), &st) == nil {
		return true
	}
	fd, err := r.OpenDir(dir)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var buf [4]byte
	for _, x := range enc.OpaqueXattrs {
		if n, err := unix.Fgetxattr(fd, x, buf[:]); err == nil && enc.OpaqueValue(x, buf[:n]) {
			return true
		}
	}
	return false
}
