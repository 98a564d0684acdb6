// Package storetest builds real Docker stores on disk for tests, and
// models the merged view they must show.
//
// A Store is a short declarative description: images made of layers,
// layers made of entries (files, directories, links, devices, fifos,
// sockets, whiteouts, opaque markers, with modes, owners, times and
// extended attributes), and containers on top of images. Store.Write lays
// it out under a root directory, with the files, ids, hashes and JSON
// shapes Docker wrote, so that a reader tested against it is tested
// against what it will meet on a real host: for the aufs driver in either
// of its two layouts (pre-1.10 graph/ and 1.10+ image/aufs/), for
// overlay2, fuse-overlayfs, overlay (v1) and vfs in the 1.10+ layout
// (docs/drivers.md). Several drivers' stores may share one root.
//
// A description says what a layer holds the aufs way, with .wh. names.
// Every non-empty image layer comes from a real tar stream made from it
// (WriteTar; whiteouts and opaque markers are .wh. files there, whatever
// the driver): its sha256 is the layer's diff id, and its tar-split, made
// from the same stream with github.com/vbatts/tar-split as Docker does,
// is in layerdb (1.10+) or graph/<id>/tar-data.json.gz (pre-1.10). Each
// driver keeps the layer its own way: aufs as described; overlay2 with
// 0/0 whiteout devices and opaque xattrs; fuse-overlayfs with .wh. files
// (or as overlay2); overlay and vfs as whole trees, the view so far. They
// leave out what aufs would not show (its bookkeeping names, anything
// under a whiteout name), so that the view is the same whatever the
// driver: Built says where each layer and each view's stack of
// directories are, and Built.View what the view holds. Built.Damage makes
// an overlay store look like a careless copy of one, for the recovery
// from tar-splits.
//
// Merge is the reference model of the merged view (docs/whiteouts.md),
// written from the rules alone and kept simple on purpose: it is the
// oracle the FUSE union is checked against. Compare checks a real tree (a
// layer directory or a mounted view) against the nodes Merge, View or
// LayerNodes return. Generate makes large random layers for benchmarks
// and randomized tests.
//
// A description that cannot be laid out (a path given twice, a file
// inside a symlink, a hard link to nothing, two layers with the same tar
// over the same layers that differ on disk) is an error naming the image,
// layer and entry at fault; only Merge, for terse tests, panics on one
// (TryMerge returns it).
//
// Times: an entry without Mtime gets DefaultTime, so that trees are
// reproducible (and ids, links and the rest are derived from the
// description where Docker's are random). Reading a tree moves its atimes
// (relatime): compare atimes only on a tree nothing has read yet.
package storetest
