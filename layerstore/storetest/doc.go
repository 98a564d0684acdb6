// Package storetest builds real Docker aufs stores on disk for tests, and
// models the merged view they must show.
//
// A Store is a short declarative description: images made of layers,
// layers made of entries (files, directories, links, devices, fifos,
// sockets, whiteouts, opaque markers, with modes, owners, times and
// extended attributes), and containers on top of images. Store.Write lays
// it out under a root directory in either of the two aufs layouts of
// Docker (pre-1.10 graph/ and 1.10+ image/aufs/), with the files, ids,
// hashes and JSON shapes Docker wrote, so that a reader tested against it
// is tested against what it will meet on a real host.
//
// Merge is the reference model of the aufs merged view (stores.md section
// 4), written from the rules alone and kept simple on purpose: it is the
// oracle the FUSE union is checked against. Compare checks a real tree (a
// layer directory or a mounted view) against the nodes Merge or
// LayerNodes return. Generate makes large random layers for benchmarks
// and randomized tests.
//
// A description that cannot be laid out (a path given twice, a file
// inside a symlink, a hard link to nothing) is an error naming the image,
// layer and entry at fault; only Merge, for terse tests, panics on one
// (TryMerge returns it).
//
// Times: an entry without Mtime gets DefaultTime, so that trees are
// reproducible. Reading a tree moves its atimes (relatime): compare
// atimes only on a tree nothing has read yet.
package storetest
