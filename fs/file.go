package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// fileNode is a regular file, read from the one layer that shows it.
type fileNode struct {
	node
}

var _ = (fs.NodeOpener)((*fileNode)(nil))

// Open opens the layer's file. The handle offers its descriptor for FUSE
// passthrough, so the kernel reads the layer's pages directly; where
// passthrough is off, reads are spliced from the same descriptor.
func (f *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_ACCMODE|syscall.O_TRUNC|syscall.O_APPEND|syscall.O_CREAT) != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	if f.u.noOpen.Load() {
		return nil, 0, syscall.ENOSYS // from now on the kernel opens files itself
	}
	h, err := f.layer().openHandle(f.layerPath(), &f.ent.attr)
	if err != nil {
		return nil, 0, f.errno(err)
	}
	return h, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, 0
}

var _ = (fs.NodeFlusher)((*fileNode)(nil))

// Flush answers ENOSYS, after which the kernel sends no FLUSH on any
// close: nothing is ever written here. An opened handle asks for none
// (FOPEN_NOFLUSH), but a file the kernel opened itself (see Read) would
// otherwise cost one round trip per close.
func (f *fileNode) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	return syscall.ENOSYS
}

var _ = (fs.NodeReader)((*fileNode)(nil))

// Read reads through the handle Open gave, or without one where the
// kernel opens files itself. A view of tar layers alone has nothing for
// FUSE passthrough to pass, so its files need no OPEN: once an OPEN
// answers ENOSYS, a kernel that offers NO_OPEN_SUPPORT sends no more
// OPEN or RELEASE and keeps each file's pages as FOPEN_KEEP_CACHE would,
// which makes reading many small files a third of the requests.
func (f *fileNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if r, ok := fh.(fs.FileReader); ok {
		return r.Read(ctx, dest, off)
	}
	if f.layer().tar == nil {
		return nil, syscall.EBADF // only a tar layer's file is read without OPEN
	}
	h, err := f.layer().openHandle(f.layerPath(), &f.ent.attr)
	if err != nil {
		return nil, f.errno(err)
	}
	return h.(*tarHandle).Read(ctx, dest, off)
}

// fileHandle is an open layer file.
type fileHandle struct {
	fd int
}

var _ = (fs.FilePassthroughFder)((*fileHandle)(nil))

func (h *fileHandle) PassthroughFd() (int, bool) { return h.fd, true }

var _ = (fs.FileReader)((*fileHandle)(nil))

func (h *fileHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return fuse.ReadResultFd(uintptr(h.fd), off, len(dest)), 0
}

var _ = (fs.FileLseeker)((*fileHandle)(nil))

// Lseek answers SEEK_DATA and SEEK_HOLE from the layer, so sparse files
// copy sparse.
func (h *fileHandle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	n, err := unix.Seek(h.fd, int64(off), int(whence))
	return uint64(n), fs.ToErrno(err)
}

var _ = (fs.FileReleaser)((*fileHandle)(nil))

func (h *fileHandle) Release(ctx context.Context) syscall.Errno {
	return fs.ToErrno(unix.Close(h.fd))
}

var _ = (fs.FileWriter)((*fileHandle)(nil))

func (h *fileHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	return 0, syscall.EROFS
}

var _ = (fs.FileAllocater)((*fileHandle)(nil))

func (h *fileHandle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EROFS
}

var _ = (fs.FileReader)((*tarHandle)(nil))

// Read reads a tar layer's file from the layer's stream.
func (h *tarHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	res, err := h.read(dest, off)
	if err != nil {
		return nil, syscall.EIO
	}
	return res, 0
}
