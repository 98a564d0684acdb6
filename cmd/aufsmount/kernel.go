package main

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// mountKernel mounts req's view through the kernel's overlayfs
// (kernelview), in this process: the kernel serves it, nothing stays
// behind. done is false when the kernel path cannot show the view
// exactly (not root, too many layers, content overlayfs would read
// itself ...): the reason is said on stderr and the caller serves the
// view through FUSE instead.
func (e *env) mountKernel(req mountRequest) (done bool, err error) {
	plan, err := resolvePlan(req, e.stderr)
	if err != nil {
		return false, err
	}
	if len(plan.Binds) > 0 {
		fmt.Fprintln(e.stderr, "aufsmount: note: -o kernel: the container's bind-mounted files and volumes need the FUSE view; serving through FUSE")
		return false, nil
	}
	mnt, err := mounttable.CheckMountPoint(req.mountpoint, plan.Root, req.opts.NonEmpty)
	if err != nil {
		return false, err
	}
	kp, err := kernelview.Prepare(plan.Layers)
	if r, refused := kernelview.IsRefused(err); refused {
		fmt.Fprintf(e.stderr, "aufsmount: note: -o kernel: %v; serving through FUSE\n", r)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer kp.Close()
	_, err = kp.Mount(mnt, kernelview.Options{Source: req.ref, NoExec: req.opts.NoExec})
	if r, refused := kernelview.IsRefused(err); refused {
		fmt.Fprintf(e.stderr, "aufsmount: note: -o kernel: %v; serving through FUSE\n", r)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mounting %s on %s: %w", req.ref, req.mountpoint, err)
	}
	return true, nil
}
