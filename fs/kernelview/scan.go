package kernelview

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// The attribute namespaces overlayfs and fuse-overlayfs keep for
// themselves. overlayfs uses one of the first two, by mount option
// (userxattr), and hides and interprets the names under it.
const (
	trustedOverlay = "trusted.overlay."
	userOverlay    = "user.overlay."
	userFuseOvl    = "user.fuseoverlayfs."
)

// harmless are the overlayfs attributes (under its prefix) that an
// overlay layer may carry, which the kernel hides as the view does and
// does not act on in a mount without an upper layer: opaque (with "y" the
// same opacity as the view's; "x", the parent of xattr whiteouts, is
// harmless while no file carries "whiteout"), and the bookkeeping the
// kernel writes into upper layers (origin, impure, nlink, uuid).
var harmless = map[string]bool{"opaque": true, "origin": true, "impure": true, "nlink": true, "uuid": true}

// layerScan is what one layer's walk found that the plan needs.
type layerScan struct {
	// dirs holds, by directory (slash path, "" for the root), what the
	// layer marks there; directories without marks are left out.
	dirs map[string]*dirMarks
	// xattrs maps each attribute name under an overlayfs or
	// fuse-overlayfs prefix that some entry has to the first such
	// entry's path.
	xattrs map[string]string
}

// dirMarks is what one layer says about one of its directories.
type dirMarks struct {
	// whiteouts are the names (sorted) the layer whites out here in a
	// form overlayfs does not read: aufs .wh. files, tar-split markers.
	whiteouts []string
	// opaque: the merge takes nothing from below this layer here.
	opaque bool
	// shimOpaque: opaque by a form overlayfs does not read (.wh..wh..opq,
	// a tar-split marker), and not also by the attribute it does read.
	shimOpaque bool
	// dotNames are the layer's .wh.* entries here, which the view never
	// shows and overlayfs would: shims hide them.
	dotNames []string
	// devices: the directory holds 0/0 devices, overlayfs's own
	// whiteouts, which it lists (though lookup says ENOENT) where the
	// directory is not merged with another layer's.
	devices bool
}

// nativeOpaque: overlayfs stops here by itself (the opaque attribute).
func (m *dirMarks) nativeOpaque() bool { return m != nil && m.opaque && !m.shimOpaque }

func (m *dirMarks) whitesOut(name string) bool {
	if m == nil {
		return false
	}
	i := sort.SearchStrings(m.whiteouts, name)
	return i < len(m.whiteouts) && m.whiteouts[i] == name
}

func encodingOf(ly fs.Layer) *whiteout.Encoding {
	if ly.Encoding == nil {
		return whiteout.Aufs
	}
	return ly.Encoding
}

// scanner walks one layer.
type scanner struct {
	ly   fs.Layer
	enc  *whiteout.Encoding
	root *beneath.Root
	buf  []byte
	out  *layerScan
	// marked is told each directory the layer marks something in.
	marked chan<- string
}

// maxDepth is how deep a layer's directories may go: deeper than the
// longest path the view can open (PATH_MAX) is deeper than it shows.
const maxDepth = 2048

// scanLayer walks every directory of the layer the view can enter
// (never into aufs markers or bookkeeping), classifying each name as the
// view does, and records the marks overlayfs would not read, the
// attributes of overlayfs's namespaces, and anything the kernel would
// take otherwise than the view. Each directory is opened from its
// parent's descriptor, one name at a time, never following a symlink
// and never crossing into another mount (which overlayfs would not
// enter either: refused).
func scanLayer(ly fs.Layer, root *beneath.Root, marked chan<- string) (*layerScan, error) {
	sc := &scanner{ly: ly, enc: encodingOf(ly), root: root, buf: make([]byte, 64<<10), marked: marked,
		out: &layerScan{dirs: map[string]*dirMarks{}, xattrs: map[string]string{}}}
	fd, err := root.OpenDir("")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ly.Dir, err)
	}
	return sc.out, sc.walk(fd, "", 0)
}

// walk scans the open directory fd (rel in the layer), then its
// subdirectories; it closes fd.
func (sc *scanner) walk(fd int, rel string, depth int) error {
	subs, err := sc.dir(fd, rel)
	if err != nil {
		unix.Close(fd)
		return err
	}
	defer unix.Close(fd)
	if len(subs) > 0 && depth >= maxDepth {
		return sc.refuse(Unrepresentable, rel, fmt.Sprintf("directories nested deeper than %d", maxDepth), nil)
	}
	for _, name := range subs {
		how := unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		}
		sub, err := openat2(fd, name, &how)
		p := join(rel, name)
		switch {
		case err == unix.EXDEV:
			return sc.refuse(MountInLayer, p, "another filesystem is mounted here", nil)
		case beneath.Gone(err):
			continue // gone since listed: the view drops it too
		case err != nil:
			return fmt.Errorf("opening %s/%s: %w", sc.ly.Dir, p, err)
		}
		if err := sc.walk(sub, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// openat2 is unix.Openat2, falling back to openat where the kernel has
// none (before 5.6; a mount inside a layer then goes unnoticed).
func openat2(dirfd int, name string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, name, how)
		switch err {
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS:
			return unix.Openat(dirfd, name, int(how.Flags), 0)
		}
		return fd, err
	}
}

// dir scans the open directory rel and returns the names of its
// subdirectories to walk.
func (sc *scanner) dir(fd int, rel string) ([]string, error) {
	if err := sc.xattrs(fd, "", rel); err != nil {
		return nil, err
	}
	ents, err := beneath.ReadDirents(fd, sc.buf)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", sc.ly.Dir, rel, err)
	}
	var m dirMarks
	var subs []string
	for _, de := range ents {
		var rdev uint64
		if de.Mode == unix.S_IFCHR {
			var st unix.Stat_t
			if err := unix.Fstatat(fd, de.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue // gone since listed: the view drops it too
			}
			rdev = st.Rdev
		}
		p := join(rel, de.Name)
		dotName := sc.enc.DotFiles && strings.HasPrefix(de.Name, whiteout.Prefix)
		if de.Mode == unix.S_IFCHR && rdev == 0 {
			switch {
			case !sc.enc.Devices:
				return nil, sc.refuse(OverlayContent, p, "a character device 0/0, which overlayfs takes for a whiteout", nil)
			case dotName:
				return nil, sc.refuse(OverlayContent, p, "a 0/0 device named like an aufs whiteout: overlayfs would take it for a whiteout of its own name", nil)
			}
		}
		kind, target := sc.enc.Classify(de.Name, de.Mode, rdev)
		switch kind {
		case whiteout.Whiteout:
			if dotName {
				m.dotNames = append(m.dotNames, de.Name)
				if target != "" {
					m.whiteouts = append(m.whiteouts, target)
				}
			} else {
				m.devices = true // a 0/0 device: overlayfs's own whiteout
			}
		case whiteout.Opaque:
			m.dotNames = append(m.dotNames, de.Name)
			m.opaque, m.shimOpaque = true, true
		case whiteout.Meta:
			m.dotNames = append(m.dotNames, de.Name)
		default:
			if de.Mode == unix.S_IFDIR {
				subs = append(subs, de.Name)
			} else if err := sc.xattrs(fd, de.Name, p); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range sc.ly.Markers.WhitedOut(rel) {
		m.whiteouts = append(m.whiteouts, name)
	}
	if sc.ly.Markers.IsOpaque(rel) {
		m.opaque, m.shimOpaque = true, true
	}
	if sc.opaqueByXattr(fd) {
		// overlayfs reads the attribute itself, but never on a lower
		// layer's root: that one the shims must stand for.
		m.opaque, m.shimOpaque = true, m.shimOpaque || rel == ""
	}
	if !sc.enc.CanBeOpaque(rel) {
		// The view too merges every root of this encoding (docs/whiteouts.md).
		m.opaque, m.shimOpaque = false, false
	}
	if m.opaque || m.devices || len(m.whiteouts) > 0 || len(m.dotNames) > 0 {
		sort.Strings(m.whiteouts)
		m.whiteouts = dedupe(m.whiteouts)
		sort.Strings(m.dotNames)
		sc.out.dirs[rel] = &m
		if sc.marked != nil {
			sc.marked <- rel
		}
	}
	return subs, nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// opaqueByXattr is the view's test (fs/layer.go): one of the encoding's
// opaque attributes set to "y" on the open directory fd.
func (sc *scanner) opaqueByXattr(fd int) bool {
	var buf [4]byte
	for _, x := range sc.enc.OpaqueXattrs {
		n, err := unix.Fgetxattr(fd, x, buf[:])
		if err == nil && sc.enc.OpaqueValue(x, buf[:n]) {
			return true
		}
	}
	return false
}

// xattrs records the attribute names under overlayfs's and
// fuse-overlayfs's prefixes that the entry name of the open directory fd
// has (the directory itself for ""); rel is its path in the layer.
func (sc *scanner) xattrs(fd int, name, rel string) error {
	list := func(buf []byte) (int, error) {
		if name == "" {
			return unix.Flistxattr(fd, buf)
		}
		return llistxattrat(fd, name, buf)
	}
	var small [1024]byte
	buf := small[:]
	for {
		n, err := list(buf)
		switch {
		case err == unix.ERANGE:
			sz, err := list(nil)
			if err != nil {
				return fmt.Errorf("listing the attributes of %s/%s: %w", sc.ly.Dir, rel, err)
			}
			buf = make([]byte, sz+64)
			continue
		case err == unix.ENOTSUP || beneath.Gone(err):
			return nil
		case err != nil:
			return fmt.Errorf("listing the attributes of %s/%s: %w", sc.ly.Dir, rel, err)
		}
		for _, x := range strings.Split(string(buf[:n]), "\x00") {
			if strings.HasPrefix(x, trustedOverlay) || strings.HasPrefix(x, userOverlay) || strings.HasPrefix(x, userFuseOvl) {
				if _, seen := sc.out.xattrs[x]; !seen {
					sc.out.xattrs[x] = rel
				}
			}
		}
		return nil
	}
}

// noListxattrat is set once the kernel lacks listxattrat (before 6.13).
var noListxattrat atomic.Bool

// llistxattrat lists the attributes of name in directory dirfd, not
// following it: listxattrat(2), else llistxattr through /proc/self/fd.
func llistxattrat(dirfd int, name string, buf []byte) (int, error) {
	if !noListxattrat.Load() {
		p, err := unix.BytePtrFromString(name)
		if err != nil {
			return 0, err
		}
		var bp unsafe.Pointer
		if len(buf) > 0 {
			bp = unsafe.Pointer(&buf[0])
		}
		n, _, errno := unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), unix.AT_SYMLINK_NOFOLLOW, uintptr(bp), uintptr(len(buf)), 0)
		if errno != unix.ENOSYS {
			if errno != 0 {
				return 0, errno
			}
			return int(n), nil
		}
		noListxattrat.Store(true)
	}
	return unix.Llistxattr(fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name), buf)
}

// checkXattrs decides which namespace overlayfs is to use (trusted.overlay.,
// or user.overlay. with userxattr for a rootless engine's layers) and
// refuses attributes the kernel would take otherwise than the view.
func checkXattrs(layers []fs.Layer, scans []*layerScan) (userxattr bool, err error) {
	trusted, user := false, false
	for i, s := range scans {
		if !encodingOf(layers[i]).Devices {
			continue
		}
		for name := range s.xattrs {
			trusted = trusted || strings.HasPrefix(name, trustedOverlay)
			user = user || strings.HasPrefix(name, userOverlay)
		}
	}
	userxattr = user && !trusted
	own := trustedOverlay
	if userxattr {
		own = userOverlay
	}
	for i, s := range scans {
		ly, enc := layers[i], encodingOf(layers[i])
		names := make([]string, 0, len(s.xattrs))
		for name := range s.xattrs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			refuse := func(detail string) error {
				return &RefusedError{Reason: OverlayContent, Layer: ly.ID, Dir: ly.Dir, Path: s.xattrs[name], Detail: detail}
			}
			switch {
			case strings.HasPrefix(name, own) && !enc.Devices:
				return false, refuse(fmt.Sprintf("attribute %s, which overlayfs would interpret and hide, and the view shows", name))
			case strings.HasPrefix(name, own) && !harmless[strings.TrimPrefix(name, own)]:
				return false, refuse(fmt.Sprintf("attribute %s, which overlayfs would act on", name))
			case !strings.HasPrefix(name, own) && enc.Private(name):
				return false, refuse(fmt.Sprintf("attribute %s, which the view hides and overlayfs would show", name))
			}
		}
	}
	return userxattr, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (sc *scanner) refuse(r Reason, rel, detail string, err error) error {
	return &RefusedError{Reason: r, Layer: sc.ly.ID, Dir: sc.ly.Dir, Path: rel, Detail: detail, Err: err}
}
