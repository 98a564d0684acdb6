package viewplan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aufsmount/aufsmount/layerstore"
)

// MountOptions is what mount -o asked for. The view is always
// read-only, nosuid and nodev, and the kernel always checks permissions
// (default_permissions), so those options, and the ones mount(8),
// mount.fuse3 and /etc/fstab pass along (defaults, rw, suid, dev, auto,
// nofail, _netdev, x-systemd.*, ...), are accepted and change nothing.
type MountOptions struct {
	AllowOther bool
	AllowRoot  bool
	NoExec     bool   // noexec: nothing in the view can be executed
	NoAtime    bool   // noatime
	NonEmpty   bool   // nonempty: mounting over a directory that has entries is fine
	ReadWrite  bool   // rw was asked for: mounted read-only all the same, with a note
	Root       string // root=DIR: the store, as --root
	Driver     string // driver=NAME: as --driver
	Kernel     bool   // kernel: serve the view through the kernel's overlayfs (kernelview)
	FUSE       bool   // fuse: never through the kernel's overlayfs
	// AsIs (as-is): the layer directories exactly as they are, with nothing
	// restored from tar-splits that a copy of the store lost.
	AsIs bool
}

// OptionError is a mount option that is unknown, malformed or
// impossible: a mistake in the command line.
type OptionError struct{ Msg string }

func (e *OptionError) Error() string { return e.Msg }

func optionErrorf(format string, a ...any) error {
	return &OptionError{Msg: fmt.Sprintf(format, a...)}
}

// ErrAllowRoot says allow_root was asked for by a user other than root.
// The kernel only knows allow_other; libfuse emulates allow_root by
// checking each caller in the daemon, which this program does not do, so
// mapping it to allow_other would let every user in.
var ErrAllowRoot = errors.New("allow_root needs aufsmount to run as root (a non-root mount cannot let root in without letting everyone in); use -o allow_other, or mount as root")

// ignoredOptions are accepted and have no effect: the view is read-only,
// nosuid and nodev whatever they say, and the rest are for mount(8),
// systemd and fstab, not for the filesystem. mount.fuse3 adds dev and suid
// to every mount whose options do not say nodev and nosuid.
var ignoredOptions = map[string]bool{
	"ro": true, "nosuid": true, "nodev": true, "default_permissions": true,
	"suid": true, "dev": true, "exec": true,
	"atime": true, "relatime": true, "strictatime": true, "nodiratime": true, "lazytime": true, "nolazytime": true,
	"sync": true, "async": true, "dirsync": true,
	"defaults": true, "auto": true, "noauto": true, "user": true, "users": true, "nouser": true,
	"owner": true, "group": true, "nofail": true, "_netdev": true,
}

// ParseMountOptions reads a comma-separated list of mount options, as
// mount(8) takes after -o. asRoot tells whether the mount is made by
// root, for whom allow_root is what happens anyway. An unknown or
// impossible option is an *OptionError; allow_root by non-root is
// ErrAllowRoot.
func ParseMountOptions(s string, asRoot bool) (MountOptions, error) {
	var o MountOptions
	for _, opt := range strings.Split(s, ",") {
		opt = strings.TrimSpace(opt)
		name, value, hasValue := strings.Cut(opt, "=")
		switch {
		case opt == "":
			// mount(8) ignores empty items ("-o ro,,nodev").
		case ignoredOptions[opt]:
		case strings.HasPrefix(opt, "x-") || name == "comment":
			// x-systemd.automount, x-mount.mkdir, comment=...: for mount(8)
			// and systemd (mount(8) itself passes none of them on).
		case opt == "kernel":
			o.Kernel = true
		case opt == "fuse":
			o.FUSE = true
		case opt == "rw":
			o.ReadWrite = true
		case opt == "noexec":
			o.NoExec = true
		case opt == "noatime":
			o.NoAtime = true
		case opt == "nonempty":
			o.NonEmpty = true
		case opt == "as-is":
			o.AsIs = true
		case opt == "allow_other":
			o.AllowOther = true
		case opt == "allow_root":
			if !asRoot {
				return o, ErrAllowRoot
			}
			o.AllowRoot = true
		case name == "root" && hasValue:
			if value == "" {
				return o, optionErrorf("-o root=: names no directory")
			}
			o.Root = value
		case name == "driver" && hasValue:
			if err := layerstore.CheckDriverName("-o driver=", value); err != nil {
				return o, &OptionError{Msg: err.Error()}
			}
			o.Driver = value
		case opt == "nodefault_permissions":
			return o, optionErrorf("-o %s: not supported: the kernel always checks the files' owners and modes", opt)
		default:
			return o, optionErrorf("-o %s: unknown mount option (known: root=DIR, driver=NAME, allow_other, allow_root, nonempty, noexec, noatime, as-is, kernel, fuse, and mount(8)'s ro, rw, nosuid, nodev, defaults, nofail, _netdev, x-*, ...)", opt)
		}
	}
	if o.AllowOther && o.AllowRoot {
		return o, optionErrorf("-o allow_other and allow_root exclude each other")
	}
	return o, nil
}
