// Package kernelview serves a view exactly as package fs merges it, but
// through the kernel's own overlayfs: no FUSE round trips, no process
// left serving. overlayfs reads overlay2's whiteouts (0/0 devices) and
// opaque attributes itself; aufs's .wh. files it takes for plain files.
// Generated "shim" layers, interleaved with the real ones, stand for what
// overlayfs does not read, so that the kernel shows the tree the rules
// of docs/whiteouts.md make, without a byte of the store written.
//
// # API
//
//	err := kernelview.Check(layers)        // nil, or a *RefusedError saying why not
//	m, err := kernelview.Mount(mnt, layers, kernelview.Options{Source: ref})
//	...
//	err = m.Unmount()                      // or kernelview.Unmount(mnt)
//
// layers are the view's, top first, as fs.Mount takes them (encodings and
// tar-split markers included). Check reads every layer, as Mount does;
// Prepare and Plan.Mount split the two, so that a caller that checks and
// then mounts reads the layers once. Whenever the kernel path cannot show
// the view exactly, Check, Prepare and Mount return a *RefusedError
// (IsRefused) with its Reason, the layer and path at fault, and nothing is
// mounted: the caller serves the view through FUSE instead. Available
// says before any layer is read whether this process and kernel can
// mount kernel views at all (root, overlayfs, the new mount API and
// lowerdir+, Linux 6.8).
//
// A kernel view is an overlay mount with source
// mounttable.KernelSourcePrefix+Source
// ("aufsmount:busybox:latest"), read-only, nosuid, nodev (noexec with
// Options.NoExec). Once Mount returns, nothing of this process is needed:
// the kernel serves it until it is unmounted, by Unmount, umount(8) or
// aufsmount umount. Package mounttable tells its mount-table entries
// (Mount.IsKernelView) and owns the unmount.
//
// # The shims
//
// Every layer is walked once (Prepare), in its encoding: the names the
// view takes for markers (aufs .wh.NAME whiteouts, .wh..wh..opq opaque
// markers, .wh..wh.* bookkeeping, and the tar-split markers a copy lost),
// which overlayfs would not read. The view (fs.OpenView, fs.View.DirLayers)
// says which layers make up each directory that has any, as its merge
// reads them. From both come the entries the shims must hold, each with
// the window of gaps between layers where it may sit:
//
//   - a whiteout (a 0/0 device) of DIR/NAME for each aufs whiteout that
//     hides something: below its layer (or higher, up to the nearest layer
//     above that has NAME), above the first lower layer of DIR's stack
//     that has an entry NAME. One that meets another whiteout first, or
//     nothing, hides nothing and is dropped. Where the whiting-out layer
//     also holds the directory NAME (the rules then show it, and nothing
//     below), an opaque directory does the same and keeps it merged;
//   - an opaque directory (trusted.overlay.opaque=y) for each opaque
//     marker that hides something: below its layer, above the next layer
//     whose directory would merge. overlayfs never honours opacity on a
//     lower layer's root, so an opaque root becomes a whiteout of every
//     name the roots below hold;
//   - a whiteout of DIR/.wh.* for each marker name itself, anywhere above
//     the topmost layer of DIR's stack that has it;
//   - an empty opaque directory below a layer's directory that nothing
//     merges with and that holds overlayfs's own 0/0 whiteouts: overlayfs
//     lists those (though lookup finds nothing) in a directory of one
//     layer, and leaves them out of a merged one.
//
// The entries are packed into as few shims as their windows allow (the
// greedy that stabs intervals with the fewest points), a shim per gap at
// most; a shim's directories on the way to its entries are plain. A
// shim directory the kernel shows (no real layer above it has that
// directory: the root of a shim above every layer, or the directory of a
// marker held by the directory's topmost layer) gets the mode, owner,
// atime, mtime and extended attributes of the view's directory (the
// topmost real one, as the rules resolve it). The shims are written on a
// tmpfs that is never attached anywhere (fsopen, fsmount): reachable only
// through this process's descriptors while it builds them, then only
// through overlayfs's private clone; it goes with the view.
//
// The overlay is made with the new mount API: fsopen("overlay"), one
// lowerdir+ per layer (by descriptor, so no path or page-size limit
// applies), redirect_dir=nofollow, metacopy=off, index=off, xino=on
// (inode numbers stable across drop_caches), and userxattr when the
// layers are a rootless engine's (user.overlay.*). The real layers go in
// as the read-only, noatime, nodev, nosuid, detached clones package
// beneath opens (open_tree, mount_setattr), so no atime of the store
// moves. Kernels before 6.15 refuse detached mounts as layers; there the
// clones and the tmpfs are attached for the moment in a private
// directory (mode 0700, on a private mount) and detached again once the
// overlay exists. A single layer gets an empty one below it: overlayfs
// wants two.
//
// # Refusals
//
// Not root (NotRoot); no overlayfs (NoOverlay); no fsopen or lowerdir+
// (OldKernel); more than MaxLayers (500) layers with the shims
// (TooManyLayers); content overlayfs would take otherwise than the view
// (OverlayContent): a trusted.overlay.* attribute or a 0/0 device in an
// aufs or whole-tree layer, an overlayfs attribute it acts on (redirect,
// metacopy, whiteout, ...) or one the view hides and overlayfs would show
// (user.overlay.* beside trusted.overlay.*, user.fuseoverlayfs.*) in an
// overlay layer, a 0/0 device named .wh.*; a mount inside a layer
// (MountInLayer); a .wh.* name the view shows from an overlay or
// whole-tree layer with an aufs marker of that name above it, or between
// directories it merges (NameConflict); an attribute tmpfs will not take,
// a source over 255 bytes, directories nested deeper than 2048
// (Unrepresentable); and the kernel's own refusal of the mount, with its
// message (MountFailed).
//
// # What differs from the FUSE view
//
//   - user.aufsmount.layer is not there (ENODATA); aufsmount which answers
//     which layer provides a path, the same either way.
//   - A merged directory (more than one layer, shims included) has link
//     count 1, overlayfs's way; the FUSE view shows the topmost layer's.
//   - A directory the kernel shows from a shim (Stats.Copied: the root
//     whenever a shim sits above every layer) has tmpfs's size, blocks and
//     ctime (ctime cannot be set); its mode, owner, atime, mtime and
//     xattrs are the view's.
//   - Inode numbers are overlayfs's (xino), not the FUSE view's; both are
//     stable, hard links share theirs either way.
//   - statfs answers for the topmost layer's filesystem, which is the
//     shims' tmpfs when a shim sits above every layer; the FUSE view
//     answers for the top layer's.
//   - Every user sees the view, subject to the files' own modes (and
//     POSIX ACLs, which overlayfs honours), where a FUSE view is the
//     mounting user's alone unless mounted allow_other.
//   - Nothing serves it: no aufsmount process, no --log, no --debug.
package kernelview
