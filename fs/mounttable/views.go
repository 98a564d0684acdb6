package mounttable

import (
	"strconv"
	"strings"
)

// The names our mounts go by in the mount table.
const (
	// Subtype is what package fs mounts FUSE views with: the kernel
	// shows them as type "fuse."+Subtype (FUSEType), with the reference
	// as typed for source.
	Subtype  = "aufsmount"
	FUSEType = "fuse." + Subtype
	// A kernel view (package kernelview) is an overlay mount whose source
	// is KernelSourcePrefix and the reference as typed.
	KernelFSType       = "overlay"
	KernelSourcePrefix = "aufsmount:"
)

// IsFUSEView says whether m is a view served by an aufsmount process.
func (m Mount) IsFUSEView() bool { return m.FSType == FUSEType }

// IsKernelView says whether m is a view served by the kernel's overlayfs.
func (m Mount) IsKernelView() bool {
	return m.FSType == KernelFSType && strings.HasPrefix(m.Source, KernelSourcePrefix)
}

// IsView says whether m is one of our views, served either way.
func (m Mount) IsView() bool { return m.IsFUSEView() || m.IsKernelView() }

// Ref is the reference a view of ours was mounted with, as typed (for
// mount-all, the store: the record says it is one).
func (m Mount) Ref() string {
	if m.IsKernelView() {
		return strings.TrimPrefix(m.Source, KernelSourcePrefix)
	}
	return m.Source
}

// Owner is the uid a FUSE mount was made by (its user_id option).
func (m Mount) Owner() (int, bool) {
	for _, o := range strings.Split(m.SuperOptions, ",") {
		if v, ok := strings.CutPrefix(o, "user_id="); ok {
			uid, err := strconv.Atoi(v)
			return uid, err == nil
		}
	}
	return 0, false
}

// View is one of our views as the mount table and its server's record
// show it.
type View struct {
	Mount
	Kernel bool // served by the kernel's overlayfs: no process
	// Server is the process serving a FUSE view, with its record; nil
	// when gone, not visible to this user, or for a kernel view.
	Server *Server
	Gone   bool // its server ended: reads fail with ENOTCONN
}

// Views picks our views out of mounts, in the order of the table, and
// finds their servers. A FUSE view with no server this user can see is
// probed, to tell one whose server is gone.
func Views(mounts []Mount) []View {
	var servers map[int]Server
	var out []View
	for _, m := range mounts {
		if m.IsKernelView() {
			out = append(out, View{Mount: m, Kernel: true})
			continue
		}
		if !m.IsFUSEView() {
			continue
		}
		if servers == nil {
			servers = Servers()
		}
		v := View{Mount: m}
		if s, ok := servers[m.ID]; ok {
			v.Server = &s
		} else if Probe(m.MountPoint) == ServerGone {
			v.Gone = true
		}
		out = append(out, v)
	}
	return out
}

// List is Views of this process's mount table.
func List() ([]View, error) {
	mounts, err := Read()
	if err != nil {
		return nil, err
	}
	return Views(mounts), nil
}
