package layerstore

import "github.com/aufsmount/aufsmount/layerstore/whiteout"

// fuseOverlayfsDriver keeps overlay2's layout under fuse-overlayfs/; its
// layers were written through fuse-overlayfs, which marks deletions
// either way (whiteout.FuseOverlayfs).
var fuseOverlayfsDriver = stackedOverlay{home: "fuse-overlayfs", enc: whiteout.FuseOverlayfs}
