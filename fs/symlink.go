package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// symlinkNode is a symlink, shown with its target as written, never followed.
type symlinkNode struct {
	node
}

var _ = (fs.NodeReadlinker)((*symlinkNode)(nil))

func (s *symlinkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	l := s.layer()
	fd, err := l.open(s.parent.relPath(), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		s.u.fault(l, err)
		return nil, fs.ToErrno(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, s.ent.attr.Size+1)
	for {
		n, err := unix.Readlinkat(fd, s.ent.name, buf)
		if err != nil {
			return nil, fs.ToErrno(err)
		}
		if n < len(buf) {
			return buf[:n], 0
		}
		buf = make([]byte, 2*len(buf))
	}
}
