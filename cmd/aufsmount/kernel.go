package main

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/fs/viewplan"
)

// mountKernel mounts req's view through the kernel's overlayfs
// (kernelview), in this process: the kernel serves it, nothing stays
// behind. When the kernel path cannot show the view exactly (not root,
// too many layers, content overlayfs would read itself ...), the reason
// is said on stderr and the plan it resolved is returned, for the caller
// to serve through FUSE without resolving again (and saying again what
// it restored); plan is nil once mounted.
func (e *env) mountKernel(req mountRequest) (fallback *viewplan.Mount, err error) {
	plan, err := resolvePlan(req, e.stderr)
	if err != nil {
		return nil, err
	}
	if len(plan.Binds) > 0 {
		fmt.Fprintln(e.stderr, "aufsmount: note: -o kernel: the container's bind-mounted files and volumes need the FUSE view; serving through FUSE")
		return plan, nil
	}
	mnt, err := mounttable.CheckMountPoint(req.mountpoint, plan.Root, req.opts.NonEmpty)
	if err != nil {
		return nil, err
	}
	kp, err := kernelview.Prepare(plan.Layers)
	if r, refused := kernelview.IsRefused(err); refused {
		fmt.Fprintf(e.stderr, "aufsmount: note: -o kernel: %v; serving through FUSE\n", r)
		return plan, nil
	}
	if err != nil {
		return nil, err
	}
	defer kp.Close()
	_, err = kp.Mount(mnt, kernelview.Options{Source: req.ref, NoExec: req.opts.NoExec})
	if r, refused := kernelview.IsRefused(err); refused {
		fmt.Fprintf(e.stderr, "aufsmount: note: -o kernel: %v; serving through FUSE\n", r)
		return plan, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mounting %s on %s: %w", req.ref, req.mountpoint, err)
	}
	return nil, nil
}
