package main

import (
	"errors"
	"fmt"
	"strings"
)

// mountOptions is what -o asked for. The view is always read-only, nosuid
// and nodev, and the kernel always checks permissions
// (default_permissions), so those options are accepted and change nothing.
type mountOptions struct {
	AllowOther bool
	AllowRoot  bool
}

// errAllowRoot says allow_root was asked for by a user other than root.
// The kernel only knows allow_other; libfuse emulates allow_root by
// checking each caller in the daemon, which this program does not do, so
// mapping it to allow_other would let every user in.
var errAllowRoot = errors.New("allow_root needs aufsmount to run as root (a non-root mount cannot let root in without letting everyone in); use -o allow_other, or mount as root")

// parseMountOptions reads a comma-separated list of mount options, as
// mount(8) takes after -o. asRoot tells whether the mount is made by root,
// for whom allow_root is what happens anyway. An unknown or impossible
// option is a *usageError; allow_root by non-root is errAllowRoot.
func parseMountOptions(s string, asRoot bool) (mountOptions, error) {
	var o mountOptions
	for _, opt := range strings.Split(s, ",") {
		opt = strings.TrimSpace(opt)
		switch opt {
		case "":
			// mount(8) ignores empty items ("-o ro,,nodev").
		case "ro", "nosuid", "nodev", "default_permissions":
		case "allow_other":
			o.AllowOther = true
		case "allow_root":
			if !asRoot {
				return o, errAllowRoot
			}
			o.AllowRoot = true
		case "rw":
			return o, usageErrorf("-o rw: the view is read-only")
		case "suid", "dev", "nodefault_permissions":
			return o, usageErrorf("-o %s: not supported: the view is always nosuid, nodev and default_permissions", opt)
		default:
			return o, usageErrorf("-o %s: unknown mount option (known: allow_other, allow_root, default_permissions, ro, nosuid, nodev)", opt)
		}
	}
	if o.AllowOther && o.AllowRoot {
		return o, usageErrorf("-o allow_other and allow_root exclude each other")
	}
	return o, nil
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}
