package kernelview

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Reason is why the kernel path cannot show a view exactly.
type Reason int

const (
	// NotRoot: mounting overlayfs needs root (CAP_SYS_ADMIN in the
	// initial user namespace, for the trusted.* attributes of the shims).
	NotRoot Reason = iota + 1
	// NoOverlay: the kernel has no overlayfs.
	NoOverlay
	// OldKernel: the kernel lacks what the kernel path needs: the new
	// mount API (Linux 5.2) or overlayfs's lowerdir+ (Linux 6.8).
	OldKernel
	// TooManyLayers: the layers and the shims they need are more than
	// overlayfs stacks (MaxLayers).
	TooManyLayers
	// OverlayContent: a layer holds something overlayfs would interpret
	// itself, or hide, where the view shows it as it is: a trusted.overlay.*
	// attribute or a 0/0 character device in an aufs or whole-tree layer,
	// an overlayfs attribute that overlayfs acts on (redirect, metacopy,
	// xattr whiteouts) or one of another namespace (user.overlay.*,
	// user.fuseoverlayfs.*) in an overlay layer.
	OverlayContent
	// MountInLayer: another filesystem is mounted inside a layer;
	// overlayfs does not cross into it.
	MountInLayer
	// NameConflict: the view shows an entry whose name a lower aufs
	// layer uses as a marker (.wh.*): no whiteout can hide the one and
	// keep the other.
	NameConflict
	// Unrepresentable: something the shims must copy, or the mount must
	// be told, that tmpfs or the mount API cannot take (an attribute
	// tmpfs refuses, a source name longer than the 255 bytes fsconfig
	// takes).
	Unrepresentable
	// MountFailed: the kernel refused the overlay mount; Detail holds its
	// own message.
	MountFailed
	// Restored: a layer's metadata is restored from its tar-split (a
	// copy of the store lost it), which only the FUSE view serves.
	Restored
	// Archive: a layer is a blob of an image archive, served from its
	// tar stream: there is no directory for overlayfs to stack.
	Archive
)

var reasonNames = map[Reason]string{
	NotRoot:         "not root",
	NoOverlay:       "no overlayfs",
	OldKernel:       "kernel too old",
	TooManyLayers:   "too many layers",
	OverlayContent:  "content overlayfs would interpret",
	MountInLayer:    "a mount inside a layer",
	NameConflict:    "a name overlayfs cannot tell from a marker",
	Unrepresentable: "cannot be represented",
	MountFailed:     "overlayfs refused the mount",
	Restored:        "metadata restored from a tar-split",
	Archive:         "a layer of an image archive",
}

func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// RefusedError says why the kernel path cannot show a view exactly; the
// view can still be served through FUSE.
type RefusedError struct {
	Reason Reason
	Layer  string // the ID of the layer at fault, or ""
	Dir    string // that layer's directory, or ""
	Path   string // the path at fault, inside the layer or the view ("" for its root), when there is one
	Detail string // what is wrong, in words
	Err    error  // the system call's error, when one said so
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel overlayfs cannot show this view exactly (%s)", e.Reason)
	if e.Dir != "" {
		fmt.Fprintf(&b, ": layer %s", e.Dir)
		if e.Path != "" {
			fmt.Fprintf(&b, ", %q", e.Path)
		}
	} else if e.Path != "" {
		fmt.Fprintf(&b, ": %q", "/"+e.Path)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// IsRefused reports whether err says the kernel path cannot be used (so
// the view should be served through FUSE), and returns the refusal.
func IsRefused(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}

// Available tells whether this process and kernel can mount kernel
// views at all (root, overlayfs, the new mount API and lowerdir+), before
// any layer is read; a *RefusedError says why not.
func Available() error { return checkKernel() }

// checkKernel tells whether this process can mount overlayfs with layers
// given one at a time.
func checkKernel() error {
	if os.Geteuid() != 0 {
		return &RefusedError{Reason: NotRoot, Detail: "mounting overlayfs needs root"}
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	switch {
	case err == unix.ENODEV:
		return &RefusedError{Reason: NoOverlay, Detail: "the kernel has no overlay filesystem", Err: err}
	case err == unix.ENOSYS:
		return &RefusedError{Reason: OldKernel, Detail: "no fsopen (Linux 5.2)", Err: err}
	case err == unix.EPERM:
		return &RefusedError{Reason: NotRoot, Detail: "not allowed to mount overlayfs", Err: err}
	case err != nil:
		return &RefusedError{Reason: NoOverlay, Detail: "fsopen overlay", Err: err}
	}
	defer unix.Close(fd)
	if err := unix.FsconfigSetString(fd, "lowerdir+", "/"); err != nil {
		return &RefusedError{Reason: OldKernel, Detail: "overlayfs takes no lowerdir+ (Linux 6.8)", Err: err}
	}
	return nil
}
