package viewplan

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// ServeOptions say how Serve mounts a plan.
type ServeOptions struct {
	// Ref is the reference as typed: the view's name in the mount table
	// and in its record; unused for mount-all, named by its store.
	Ref string
	// All says the plan is mount-all's (its Tree).
	All bool
	// NonEmpty lets the mount point be a directory that has entries.
	NonEmpty bool
	// Logger makes the server's log, once the mount point and FUSE are
	// checked, so that no log file is made for a mount that cannot be;
	// nil: nothing is logged.
	Logger func() (*log.Logger, error)
	// FS is how the view is served; Serve sets FsName, Logger and
	// DefaultPermissions (the kernel always checks permissions).
	FS fs.Options
}

// Serve mounts m over FUSE at mountpoint: it gives the layers back the
// loaders a plan that came over a pipe lost (WithLoaders), checks the
// mount point (mounttable.CheckMountPoint) and FUSE, mounts the view or
// mount-all's tree, and keeps the view's record (mounttable.KeepRecord),
// whose failure is logged: the view works without it. It returns the
// server, the mount point as checked and the log.
func (m *Mount) Serve(mountpoint string, o ServeOptions) (*fuse.Server, string, *log.Logger, error) {
	WithLoaders(m.Layers)
	for _, e := range m.Tree {
		WithLoaders(e.Layers)
	}
	mnt, err := mounttable.CheckMountPoint(mountpoint, m.Root, o.NonEmpty)
	if err != nil {
		return nil, "", nil, err
	}
	if err := mounttable.CheckFUSE(); err != nil {
		return nil, "", nil, err
	}
	logger := log.New(io.Discard, "", 0)
	if o.Logger != nil {
		if logger, err = o.Logger(); err != nil {
			return nil, "", nil, err
		}
	}
	fo := o.FS
	fo.FsName, fo.Logger, fo.DefaultPermissions = o.Ref, logger, true
	var srv *fuse.Server
	if o.All {
		fo.FsName = m.Root
		srv, err = fs.MountTree(mnt, m.Tree, fo)
	} else {
		srv, err = fs.MountBinds(mnt, m.Layers, m.Binds, fo)
	}
	if err != nil {
		// fs says "mounting MNT: why"; say what was mounted where, once.
		why := strings.TrimPrefix(err.Error(), "mounting "+mnt+": ")
		if o.All {
			return nil, "", nil, fmt.Errorf("mounting the store %s on %s: %s", m.Root, mountpoint, why)
		}
		return nil, "", nil, fmt.Errorf("mounting %s on %s: %s", o.Ref, mountpoint, why)
	}
	rec := mounttable.Record{MountPoint: mnt, Ref: o.Ref, All: o.All, Store: m.Root, Driver: m.Driver}
	if err := mounttable.KeepRecord(rec); err != nil {
		logger.Print(err)
	}
	return srv, mnt, logger, nil
}
