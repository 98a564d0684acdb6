package fs

import (
	"sync"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// noDirOpen serves directories without OPENDIR and RELEASEDIR requests.
//
// A walk costs four round trips per directory: OPENDIR, READDIRPLUS, the
// empty READDIRPLUS that ends the listing, and RELEASEDIR. Kernels that
// offer NO_OPENDIR_SUPPORT (5.1 on) stop sending OPENDIR and RELEASEDIR
// once an OPENDIR answers ENOSYS, and then cache every listing as if it
// had been opened with FOPEN_CACHE_DIR|FOPEN_KEEP_CACHE, which is what
// our directories ask for anyway: they never change while mounted. That
// halves the requests of a walk.
//
// READDIR and READDIRPLUS then come without a handle (Fh 0). noDirOpen
// opens one through go-fuse on the kernel's behalf, keyed by node, and
// releases it at the end of the listing or when the kernel forgets the
// directory. Go-fuse seeks the handle when the kernel asks for another
// offset, so readers that interleave on one directory still get the
// entries at the offsets they ask for.
type noDirOpen struct {
	fuse.RawFileSystem
	on atomic.Bool // the kernel offered NO_OPENDIR_SUPPORT

	mu      sync.Mutex
	handles map[uint64]*implicitDir // by node id
}

// implicitDir is a handle opened for handle-less reads of one directory.
type implicitDir struct {
	fh      uint64
	users   int  // reads in flight
	dropped bool // out of the map: release when the last user is done
}

func newNoDirOpen(inner fuse.RawFileSystem) *noDirOpen {
	return &noDirOpen{RawFileSystem: inner, handles: map[uint64]*implicitDir{}}
}

// Init runs once INIT is answered, before any other request.
func (w *noDirOpen) Init(s *fuse.Server) {
	w.on.Store(s.KernelSettings().Flags64()&fuse.CAP_NO_OPENDIR_SUPPORT != 0)
	w.RawFileSystem.Init(s)
}

func (w *noDirOpen) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if w.on.Load() {
		return fuse.ENOSYS
	}
	return w.RawFileSystem.OpenDir(cancel, in, out)
}

func (w *noDirOpen) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	if in.Fh != 0 || !w.on.Load() {
		return w.RawFileSystem.ReadDir(cancel, in, out)
	}
	return w.read(cancel, in, out, w.RawFileSystem.ReadDir)
}

func (w *noDirOpen) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	if in.Fh != 0 || !w.on.Load() {
		return w.RawFileSystem.ReadDirPlus(cancel, in, out)
	}
	return w.read(cancel, in, out, w.RawFileSystem.ReadDirPlus)
}

// Forget releases a handle left open by a listing nobody finished.
func (w *noDirOpen) Forget(nodeid, nlookup uint64) {
	w.mu.Lock()
	h := w.handles[nodeid]
	free := false
	if h != nil {
		delete(w.handles, nodeid)
		h.dropped = true
		free = h.users == 0
	}
	w.mu.Unlock()
	if free {
		w.releaseDir(nodeid, h.fh)
	}
	w.RawFileSystem.Forget(nodeid, nlookup)
}

func (w *noDirOpen) read(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList,
	read func(<-chan struct{}, *fuse.ReadIn, *fuse.DirEntryList) fuse.Status) fuse.Status {
	h, st := w.acquire(cancel, in)
	if !st.Ok() {
		return st
	}
	withFh := *in
	withFh.Fh = h.fh
	st = read(cancel, &withFh, out)
	// Nothing added: the listing has ended, and the kernel has it all.
	w.done(in.NodeId, h, st.Ok() && out.Offset == in.Offset)
	return st
}

// acquire returns the node's implicit handle, opening it if needed.
func (w *noDirOpen) acquire(cancel <-chan struct{}, in *fuse.ReadIn) (*implicitDir, fuse.Status) {
	w.mu.Lock()
	if h := w.handles[in.NodeId]; h != nil {
		h.users++
		w.mu.Unlock()
		return h, fuse.OK
	}
	w.mu.Unlock()
	var oo fuse.OpenOut
	if st := w.RawFileSystem.OpenDir(cancel, &fuse.OpenIn{InHeader: in.InHeader, Flags: in.Flags}, &oo); !st.Ok() {
		return nil, st
	}
	w.mu.Lock()
	if h := w.handles[in.NodeId]; h != nil { // another reader opened one meanwhile
		h.users++
		w.mu.Unlock()
		w.releaseDir(in.NodeId, oo.Fh)
		return h, fuse.OK
	}
	h := &implicitDir{fh: oo.Fh, users: 1}
	w.handles[in.NodeId] = h
	w.mu.Unlock()
	return h, fuse.OK
}

// done ends one read on h; at the end of the listing the handle goes.
func (w *noDirOpen) done(nodeid uint64, h *implicitDir, end bool) {
	w.mu.Lock()
	h.users--
	if end && !h.dropped {
		delete(w.handles, nodeid)
		h.dropped = true
	}
	free := h.dropped && h.users == 0
	w.mu.Unlock()
	if free {
		w.releaseDir(nodeid, h.fh)
	}
}

func (w *noDirOpen) releaseDir(nodeid, fh uint64) {
	w.RawFileSystem.ReleaseDir(&fuse.ReleaseIn{InHeader: fuse.InHeader{NodeId: nodeid}, Fh: fh})
}
