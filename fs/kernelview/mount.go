package kernelview

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// maxSource is the longest string fsconfig takes.
const maxSource = 255

// Options tune a kernel mount.
type Options struct {
	// Source names the view in the mount table: the mount's source is
	// mounttable.KernelSourcePrefix + Source (the image reference as typed).
	Source string
	// NoExec mounts noexec.
	NoExec bool
}

// Mounted is a kernel view in place. Nothing of this process serves it:
// the kernel does, until it is unmounted.
type Mounted struct {
	Mountpoint string
	Source     string // as the mount table shows it: mounttable.KernelSourcePrefix + Options.Source
	Stats
	Build time.Duration // writing the shims
	Mount time.Duration // the overlay mount itself
}

// Mount mounts the view of layers (top first) read-only at mountpoint
// with the kernel's overlayfs and the shims it needs; see doc.go. When
// the kernel path cannot be exact it mounts nothing and returns a
// *RefusedError.
func Mount(mountpoint string, layers []fs.Layer, o Options) (*Mounted, error) {
	p, err := Prepare(layers)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Mount(mountpoint, o)
}

// forceStaging makes Mount take the path of kernels that refuse detached
// mounts as layers (before Linux 6.15), for tests.
var forceStaging = false

// Mount writes the plan's shims and mounts the view at mountpoint.
func (p *Plan) Mount(mountpoint string, o Options) (*Mounted, error) {
	source := mounttable.KernelSourcePrefix + o.Source
	if len(source) > maxSource {
		return nil, &RefusedError{Reason: Unrepresentable, Detail: fmt.Sprintf("the source %q is longer than the %d bytes fsconfig takes", source, maxSource)}
	}
	if p.roots == nil {
		return nil, errors.New("the plan is closed")
	}
	m := &Mounted{Mountpoint: mountpoint, Source: source, Stats: p.stats}
	start := time.Now()
	tm, shimFds, err := p.writeShims()
	if err != nil {
		return nil, err
	}
	defer unix.Close(tm)
	defer closeAll(shimFds)
	m.Build = time.Since(start)
	start = time.Now()
	// The layers, top first: shims above the layer of their gap.
	var lowers []int
	si := 0
	for si < len(p.shims) && p.shims[si].gap < 0 {
		lowers = append(lowers, shimFds[si])
		si++
	}
	for i := range p.layers {
		lowers = append(lowers, p.roots[i].Fd())
		for si < len(p.shims) && p.shims[si].gap == i {
			lowers = append(lowers, shimFds[si])
			si++
		}
	}
	if len(lowers) == 1 {
		// overlayfs wants two layers without an upper one: an empty
		// directory below changes nothing but the root's link count.
		if err := unix.Mkdirat(tm, "empty", 0o755); err != nil {
			return nil, fmt.Errorf("writing the shims: %w", err)
		}
		fd, err := unix.Openat(tm, "empty", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("writing the shims: %w", err)
		}
		defer unix.Close(fd)
		lowers = append(lowers, fd)
	}
	var mfd int
	if forceStaging {
		mfd, err = p.overlayStaged(source, lowers, tm, shimFds, o)
	} else if mfd, err = p.overlay(source, lowers, nil, o); errors.Is(err, unix.EINVAL) {
		// Before Linux 6.15 overlayfs refuses layers on detached mounts:
		// attach them for the moment in a private directory.
		mfd, err = p.overlayStaged(source, lowers, tm, shimFds, o)
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, mountpoint, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return nil, fmt.Errorf("mounting on %s: %w", mountpoint, err)
	}
	m.Mount = time.Since(start)
	return m, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// overlay creates the overlay filesystem over the layers (top first, as
// directory fds, or paths where paths is set) and returns its detached
// mount.
func (p *Plan) overlay(source string, lowers []int, paths []string, o Options) (int, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &RefusedError{Reason: NoOverlay, Detail: "fsopen overlay", Err: err}
	}
	defer unix.Close(fsfd)
	set := func(key, val string) error {
		if err := unix.FsconfigSetString(fsfd, key, val); err != nil {
			return &RefusedError{Reason: MountFailed, Detail: fmt.Sprintf("%s=%s: %s", key, val, fsLog(fsfd)), Err: err}
		}
		return nil
	}
	if err := set("source", source); err != nil {
		return -1, err
	}
	for i := range lowers {
		if paths != nil {
			err = set("lowerdir+", paths[i])
		} else if err = unix.FsconfigSetFd(fsfd, "lowerdir+", lowers[i]); err != nil {
			// Layers by fd came in Linux 6.13; by path, through the fd.
			err = set("lowerdir+", fmt.Sprintf("/proc/self/fd/%d", lowers[i]))
		}
		if err != nil {
			return -1, err
		}
	}
	opts := [][2]string{{"redirect_dir", "nofollow"}, {"metacopy", "off"}, {"index", "off"}, {"xino", "on"}}
	for _, kv := range opts {
		if err := set(kv[0], kv[1]); err != nil {
			return -1, err
		}
	}
	if p.userxattr {
		if err := unix.FsconfigSetFlag(fsfd, "userxattr"); err != nil {
			return -1, &RefusedError{Reason: MountFailed, Detail: "userxattr: " + fsLog(fsfd), Err: err}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, &RefusedError{Reason: MountFailed, Detail: fsLog(fsfd), Err: err}
	}
	attrs := unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	if o.NoExec {
		attrs |= unix.MOUNT_ATTR_NOEXEC
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, &RefusedError{Reason: MountFailed, Detail: "fsmount: " + fsLog(fsfd), Err: err}
	}
	return mfd, nil
}

// fsLog reads the messages the kernel left on a filesystem context.
func fsLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return "no message from the kernel"
	}
	return strings.Join(msgs, "; ")
}

// overlayStaged is overlay for kernels that take layers only from
// attached mounts: the layers' clones and the shims' tmpfs are attached
// in a private directory, of mode 0700 on a private mount, named to
// overlayfs by path, and detached again once the overlay exists.
func (p *Plan) overlayStaged(source string, lowers []int, tm int, shimFds []int, o Options) (mfd int, err error) {
	dir, err := os.MkdirTemp("", "aufsmount-kernel-")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(dir)
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return -1, fmt.Errorf("staging the layers: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return -1, fmt.Errorf("staging the layers: %w", err)
	}
	shimDir := filepath.Join(dir, "shims")
	if err := os.Mkdir(shimDir, 0o700); err != nil {
		return -1, err
	}
	if err := unix.MoveMount(tm, "", unix.AT_FDCWD, shimDir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return -1, fmt.Errorf("staging the shims: %w", err)
	}
	byFd := map[int]string{}
	for i, fd := range shimFds {
		byFd[fd] = filepath.Join(shimDir, fmt.Sprint(i))
	}
	for i, r := range p.roots {
		sub := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(sub, 0o700); err != nil {
			return -1, err
		}
		if err := unix.MoveMount(r.Fd(), "", unix.AT_FDCWD, sub, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return -1, fmt.Errorf("staging layer %s: %w", p.layers[i].Dir, err)
		}
		byFd[r.Fd()] = sub
	}
	paths := make([]string, len(lowers))
	for i, fd := range lowers {
		if paths[i] = byFd[fd]; paths[i] == "" {
			paths[i] = filepath.Join(shimDir, "empty")
		}
	}
	return p.overlay(source, lowers, paths, o)
}

// Unmount unmounts the view. A busy view is retried for a moment, then
// detached: the path is free at once and the view goes with its last
// user. It refuses to unmount anything but this view.
func (m *Mounted) Unmount() error {
	return Unmount(m.Mountpoint)
}

// Unmount unmounts the kernel view at mountpoint, as Mounted.Unmount,
// with mounttable's one unmount; it refuses anything but a kernel view.
func Unmount(mountpoint string) error {
	mounts, err := mounttable.Read()
	if err != nil {
		return err
	}
	at, err := mounttable.Locate(mountpoint, mounts)
	if err != nil {
		return fmt.Errorf("unmounting %s: %w", mountpoint, err)
	}
	if at.Mount == nil {
		return fmt.Errorf("%s: not mounted", mountpoint)
	}
	if !at.Mount.IsKernelView() {
		return fmt.Errorf("%s: not a kernel view (%s %s)", mountpoint, at.Mount.FSType, at.Mount.Source)
	}
	if _, err := mounttable.UnmountAt(at.Path, *at.Mount); err != nil {
		return fmt.Errorf("unmounting %s: %w", mountpoint, err)
	}
	return nil
}

// writeShims writes every shim on a new tmpfs that is never attached
// anywhere: only this process, through its descriptors, and then the
// overlay, which takes its own private clone of it, can reach it. It
// returns the tmpfs's mount and each shim's directory.
func (p *Plan) writeShims() (tm int, fds []int, err error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, nil, &RefusedError{Reason: Unrepresentable, Detail: "no tmpfs for the shims", Err: err}
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "mode", "0700"); err != nil {
		return -1, nil, fmt.Errorf("tmpfs for the shims: %s: %w", fsLog(fsfd), err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, nil, fmt.Errorf("tmpfs for the shims: %s: %w", fsLog(fsfd), err)
	}
	tm, err = unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, nil, fmt.Errorf("tmpfs for the shims: %w", err)
	}
	defer func() {
		if err != nil {
			closeAll(fds)
			unix.Close(tm)
		}
	}()
	w := &shimWriter{p: p, opaque: trustedOverlay + "opaque"}
	if p.userxattr {
		w.opaque = userOverlay + "opaque"
	}
	for i, s := range p.shims {
		name := fmt.Sprint(i)
		if err := unix.Mkdirat(tm, name, 0o755); err != nil {
			return -1, nil, fmt.Errorf("writing the shims: %w", err)
		}
		if err := w.dir(tm, name, s.root); err != nil {
			return -1, nil, err
		}
		fd, err := unix.Openat(tm, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, nil, fmt.Errorf("writing the shims: %w", err)
		}
		fds = append(fds, fd)
	}
	return tm, fds, nil
}

type shimWriter struct {
	p      *Plan
	opaque string // the opaque attribute's name
}

// dir fills the shim directory name (already made in parent) with d,
// then gives it its attributes: the view's, where the kernel shows it.
func (w *shimWriter) dir(parent int, name string, d *shimDir) error {
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("writing the shims: %w", err)
	}
	defer unix.Close(fd)
	for _, wh := range sortedKeys(d.whiteouts) {
		if err := unix.Mknodat(fd, wh, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("writing a whiteout in the shims: %w", err)
		}
	}
	for _, c := range sortedKeys(d.children) {
		if err := unix.Mkdirat(fd, c, 0o755); err != nil {
			return fmt.Errorf("writing the shims: %w", err)
		}
		if err := w.dir(fd, c, d.children[c]); err != nil {
			return err
		}
	}
	if d.opaque {
		if err := unix.Fsetxattr(fd, w.opaque, []byte("y"), 0); err != nil {
			return &RefusedError{Reason: Unrepresentable, Detail: "tmpfs takes no " + w.opaque, Err: err}
		}
	}
	if d.copied {
		return w.copyAttrs(fd, parent, name, d.copyFrom)
	}
	return nil
}

// copyAttrs gives the shim directory fd (name in parent) the mode,
// owner, atime, mtime and xattrs of the view's directory path.
func (w *shimWriter) copyAttrs(fd, parent int, name, path string) error {
	v := w.p.view
	e, err := v.Lookup(path)
	if err != nil {
		return err
	}
	xs, err := v.Xattrs(path)
	if err != nil {
		return err
	}
	if err := unix.Fchown(fd, int(e.Uid), int(e.Gid)); err != nil {
		return fmt.Errorf("writing the shims: %w", err)
	}
	mode := e.Mode & 0o7777
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("writing the shims: %w", err)
	}
	names := sortedKeys(xs)
	// An ACL sets the mode's group bits from its mask; the view's mode
	// and ACL agree, so set the ACLs, then the mode once more.
	sort.SliceStable(names, func(i, j int) bool {
		return !strings.HasPrefix(names[i], "system.") && strings.HasPrefix(names[j], "system.")
	})
	for _, x := range names {
		if err := unix.Fsetxattr(fd, x, xs[x], 0); err != nil {
			return &RefusedError{Reason: Unrepresentable, Path: path, Detail: fmt.Sprintf("tmpfs takes no copy of attribute %s", x), Err: err}
		}
	}
	if len(names) > 0 {
		if err := unix.Fchmod(fd, mode); err != nil {
			return fmt.Errorf("writing the shims: %w", err)
		}
	}
	ts := []unix.Timespec{{Sec: e.Atime.Unix(), Nsec: int64(e.Atime.Nanosecond())}, {Sec: e.Mtime.Unix(), Nsec: int64(e.Mtime.Nanosecond())}}
	if err := unix.UtimesNanoAt(parent, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("writing the shims: %w", err)
	}
	return nil
}
