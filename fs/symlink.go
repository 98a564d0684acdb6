package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// symlinkNode is a symlink, shown with its target as written, never followed.
type symlinkNode struct {
	node
}

var _ = (fs.NodeReadlinker)((*symlinkNode)(nil))

func (s *symlinkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	target, err := s.layer().readlink(s.layerPath(), &s.ent.attr)
	if err != nil {
		return nil, s.errno(err)
	}
	return []byte(target), 0
}
