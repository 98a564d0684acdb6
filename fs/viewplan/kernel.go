package viewplan

import (
	"fmt"

	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// ServeKernel mounts m at mountpoint through the kernel's overlayfs
// (package kernelview), in this process: the kernel serves it, nothing
// stays behind. o's Ref, NonEmpty and FS.NoExec apply. Where the kernel
// path cannot show the view exactly (a container's binds, not root, too
// many layers, content overlayfs would read itself ...), nothing is
// mounted and fallback says why, for the caller to Serve m through FUSE
// instead. mount-all's tree is not for the kernel path.
func (m *Mount) ServeKernel(mountpoint string, o ServeOptions) (fallback string, err error) {
	if len(m.Binds) > 0 {
		return "the container's bind-mounted files and volumes need the FUSE view", nil
	}
	mnt, err := mounttable.CheckMountPoint(mountpoint, m.Root, o.NonEmpty)
	if err != nil {
		return "", err
	}
	kp, err := kernelview.Prepare(m.Layers)
	if r, refused := kernelview.IsRefused(err); refused {
		return r.Error(), nil
	}
	if err != nil {
		return "", err
	}
	defer kp.Close()
	_, err = kp.Mount(mnt, kernelview.Options{Source: o.Ref, NoExec: o.FS.NoExec})
	if r, refused := kernelview.IsRefused(err); refused {
		return r.Error(), nil
	}
	if err != nil {
		return "", fmt.Errorf("mounting %s on %s: %w", o.Ref, mountpoint, err)
	}
	return "", nil
}
