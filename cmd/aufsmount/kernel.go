package main

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/viewplan"
)

// mountKernel mounts req's view through the kernel's overlayfs
// (viewplan.Mount.ServeKernel). When the kernel path cannot show the
// view exactly, the reason is said on stderr and the plan it resolved is
// returned, for the caller to serve through FUSE without resolving again
// (and saying again what it restored); plan is nil once mounted.
func (e *env) mountKernel(req mountRequest) (fallback *viewplan.Mount, err error) {
	plan, err := resolvePlan(req, e.stderr)
	if err != nil {
		return nil, err
	}
	why, err := plan.ServeKernel(req.mountpoint, viewplan.ServeOptions{Ref: req.ref, NonEmpty: req.opts.NonEmpty,
		FS: fs.Options{NoExec: req.opts.NoExec}})
	if err != nil {
		return nil, err
	}
	if why != "" {
		fmt.Fprintf(e.stderr, "aufsmount: note: -o kernel: %s; serving through FUSE\n", why)
		return plan, nil
	}
	return nil, nil
}
