package fs

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/workpool"
)

// defaultTimeout is how long the kernel may trust an entry or attribute.
// Nothing changes while mounted, so a day is safe; short timeouts made a
// warm walk of 100k entries take seconds instead of a fraction of one.
const defaultTimeout = 24 * time.Hour

// newUnion opens every layer, top first. Layer numbers count from the
// base, so the base's inode numbers stay the same in every image built on
// it.
func newUnion(layers []Layer, logger *log.Logger) (*union, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("no layers to mount")
	}
	if len(layers) >= 1<<(64-inoBits) {
		return nil, fmt.Errorf("%d layers: at most %d can be mounted", len(layers), 1<<(64-inoBits)-1)
	}
	u := &union{log: logger, pf: newPrefetcher(), layers: make([]*layer, len(layers))}
	// Opening a layer of an image archive reads its blob's index from
	// the cache, or on first sight the blob whole: open them on every
	// core.
	errs := make([]error, len(layers))
	workpool.Each(len(layers), workpool.Cores(), func(i int) {
		u.layers[i], errs[i] = openLayer(layers[i], uint64(len(layers)-i), logger)
	})
	for _, err := range errs {
		if err != nil { // the topmost layer's that failed
			u.close()
			return nil, err
		}
	}
	return u, nil
}

func (u *union) close() {
	for _, l := range u.layers {
		if l != nil {
			l.close()
		}
	}
}

// rootEntry describes the union's root: the top layer's root directory,
// merged with every layer below.
func (u *union) rootEntry() (*entry, error) {
	var st unix.Stat_t
	if err := u.layers[0].statRoot(&st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.layers[0].dir, err)
	}
	e := &entry{}
	fillAttr(u.layers[0], &st, &e.attr)
	for i := 1; i < u.stackLen(); i++ {
		e.lowers = append(e.lowers, int32(i))
	}
	return e, nil
}

// root makes the root directory: the top layer's root, merged with every
// layer below.
func (u *union) root() (*dirNode, error) {
	e, err := u.rootEntry()
	if err != nil {
		return nil, err
	}
	// An unreadable top layer fails the mount, not the first ls; nothing
	// more is read now, so mounting costs the same for any image size.
	d, err := u.layers[0].openDir("")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.layers[0].dir, err)
	}
	d.close()
	return &dirNode{node: node{u: u, ent: e}}, nil
}

// Mount opens every layer (top first) and mounts their read-only union at
// mountpoint; it returns once the mount answers. The mount has type
// fuse.aufsmount and o.FsName as its source. As root it mounts directly,
// otherwise through fusermount3.
func Mount(mountpoint string, layers []Layer, o Options) (*fuse.Server, error) {
	return MountBinds(mountpoint, layers, nil, o)
}

func (o Options) logger() *log.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return log.New(os.Stderr, "aufsmount: ", log.LstdFlags)
}

// fuseLogger is logger for go-fuse's own messages, without the one it
// writes when the kernel ends a lazily detached mount by aborting its
// connection while a read is pending (ECONNABORTED, where it mostly says
// ENODEV): that is the end of the mount, not a fault.
func fuseLogger(l *log.Logger) *log.Logger {
	return log.New(dropWriter{w: l.Writer(), drop: []byte("Failed to read from fuse conn: 103=")}, l.Prefix(), l.Flags())
}

// dropWriter writes what it is given but the lines that hold drop.
type dropWriter struct {
	w    io.Writer
	drop []byte
}

func (d dropWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, d.drop) {
		return len(p), nil
	}
	return d.w.Write(p)
}

// mount serves root at mountpoint with the options every aufsmount mount has.
func mount(mountpoint string, root fs.InodeEmbedder, rootIno uint64, o Options, logger *log.Logger) (*fuse.Server, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	mo := fuse.MountOptions{
		FsName:               o.FsName,
		Name:                 mounttable.Subtype, // the type is mounttable.FUSEType
		AllowOther:           o.AllowOther,
		Debug:                o.Debug,
		Logger:               fuseLogger(logger),
		DirectMount:          os.Geteuid() == 0,
		DirectMountFlags:     syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV,
		EnableSymlinkCaching: true,
		MaxWrite:             1 << 20,
	}
	if !mo.DirectMount {
		mo.Options = append(mo.Options, "ro", "nosuid", "nodev")
	}
	if o.NoExec {
		mo.DirectMountFlags |= syscall.MS_NOEXEC
		if !mo.DirectMount {
			mo.Options = append(mo.Options, "noexec")
		}
	}
	if o.NoAtime {
		mo.DirectMountFlags |= syscall.MS_NOATIME
		if !mo.DirectMount {
			mo.Options = append(mo.Options, "noatime")
		}
	}
	if o.DefaultPermissions {
		mo.Options = append(mo.Options, "default_permissions")
	}
	opts := &fs.Options{
		MountOptions:    mo,
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		RootStableAttr:  &fs.StableAttr{Ino: rootIno},
		NullPermissions: true, // mode 0000 (say /etc/shadow) must show as 0000
		Logger:          logger,
	}
	var server *fuse.Server
	err := withHelperStderr(func() (err error) {
		server, err = fuse.NewServer(newNoDirOpen(fs.NewNodeFS(root, opts)), mountpoint, &opts.MountOptions)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mounting %s: %w", mountpoint, err)
	}
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		return nil, fmt.Errorf("mounting %s: %w", mountpoint, err)
	}
	return server, nil
}
