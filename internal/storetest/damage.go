package storetest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Loss is what a careless copy of a store loses (docs/drivers.md, "Stores
// copied without xattrs or device nodes").
type Loss int

const (
	// LostXattrs is a copy made without xattrs (cp without -a, rsync
	// without -X, tar without --xattrs): overlay's opaque markers are
	// gone.
	LostXattrs Loss = 1 << iota
	// LostDevices is a copy made without root: overlay's 0/0 whiteout
	// devices are gone.
	LostDevices
	// LostOwners: every entry is owned by the copier (CopierUID:CopierGID),
	// the layer directories too.
	LostOwners
	// LostModes: setuid, setgid and sticky bits are dropped, and the
	// umask 022 applied.
	LostModes
	// LostTimes: every entry's times are the copy's: when it wrote them.
	LostTimes
	// LostAllXattrs: every extended attribute is gone, security.capability
	// and the overlay markers alike.
	LostAllXattrs
	// LostSpecials: every device node and fifo is gone.
	LostSpecials
	// LostLinks: hard links are split into files of their own.
	LostLinks
)

// LostMetadata is what cp -r or rsync -r by a user does to a store.
const LostMetadata = LostOwners | LostModes | LostTimes | LostAllXattrs | LostSpecials | LostLinks

// The copier that Damage makes the copy as.
const (
	CopierUID = 338377
	CopierGID = 5000
)

// opaqueXattrs are the xattrs that mark an opaque directory.
var opaqueXattrs = []string{"trusted.overlay.opaque", "user.overlay.opaque"}

// Damage makes b look like a copy that lost loss: from every layer
// directory of an overlay2, fuse-overlayfs or overlay store, of images
// and containers alike, it removes the xattrs trusted.overlay.opaque and
// user.overlay.opaque (LostXattrs) and the 0/0 character devices
// (LostDevices), keeping the times of the directories they were in. The
// tar-splits stay as written: image layers can be recovered from them,
// container layers cannot. It returns the layer directories it changed,
// sorted.
func (b *Built) Damage(loss Loss) ([]string, error) {
	switch b.Driver {
	case DriverOverlay2, DriverFuseOverlayfs, DriverOverlay:
	default:
		if loss&(LostXattrs|LostDevices) != 0 {
			return nil, fmt.Errorf("damaging store %s: driver %s has no overlay markers to lose", b.Root, b.Driver)
		}
	}
	var dirs []string
	for _, c := range b.ContainerChain {
		dirs = append(dirs, c...)
	}
	for _, c := range b.Chain {
		dirs = append(dirs, c...)
	}
	slices.Sort(dirs)
	var changed []string
	for _, dir := range slices.Compact(dirs) {
		n, err := damageDir(dir, loss)
		if err == nil && loss&LostMetadata != 0 {
			var m int
			m, err = copyLoss(dir, loss)
			n += m
		}
		if err != nil {
			return changed, fmt.Errorf("damaging layer %s: %w", dir, err)
		}
		if n > 0 {
			changed = append(changed, dir)
		}
	}
	return changed, nil
}

// damageDir takes loss from one layer directory, and says how many names
// it changed.
func damageDir(dir string, loss Loss) (int, error) {
	var devices []string
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if loss&LostXattrs != 0 && d.IsDir() { // where the markers are
			for _, x := range opaqueXattrs {
				if err := unix.Lremovexattr(p, x); err == nil {
					n++
				} else if !errors.Is(err, unix.ENODATA) && !errors.Is(err, unix.ENOTSUP) {
					return fmt.Errorf("removing xattr %s of %s: %w", x, p, err)
				}
			}
		}
		if loss&LostDevices != 0 && d.Type()&fs.ModeCharDevice != 0 {
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				return err
			}
			if st.Rdev == 0 {
				devices = append(devices, p)
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	for _, p := range devices {
		// The copy never made it: its directory keeps its times.
		parent := filepath.Dir(p)
		var st unix.Stat_t
		if err := unix.Lstat(parent, &st); err != nil {
			return n, err
		}
		if err := unix.Unlink(p); err != nil {
			return n, err
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, parent, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
