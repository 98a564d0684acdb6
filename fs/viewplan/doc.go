// Package viewplan turns what a user names into what package fs serves:
// it resolves a reference in a store (package layerstore), restores what
// the image layers of a copied store lost (whiteouts and opaque markers,
// owners, modes, times, xattrs, devices, fifos and hard links;
// docs/copies.md), and gives the layers and binds of the view, or of
// every view of the store for one tree (mount-all). It is the one place
// where a store's layers become fs.Layers. It serves a plan, through
// FUSE (Mount.Serve) or the kernel's overlayfs where that is exact
// (Mount.ServeKernel, package kernelview), and reads what mount -o asks
// of a view (ParseMountOptions), mount(8)'s and fstab's options included.
//
// It never prints: what it worked around or restored is handed to
// Options.Say once per layer, for the caller to tell the user.
package viewplan
