package main

import (
	"path/filepath"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
)

// A storage driver aufsmount does not read is a mistake in the command
// line (exit 2), wherever it is named; one it reads that the store lacks
// is the store's (exit 1). --debug in the background without --log has
// nowhere to go, and says so (exit 2) before anything is mounted.
func TestDriverAndDebugMistakes(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS) // an aufs store
	mnt := t.TempDir()
	const notRead = ": not a storage driver aufsmount reads (it reads aufs, overlay2, fuse-overlayfs, overlay, vfs, overlayfs, native)\n"
	tests := []struct {
		code int
		args []string
		msg  string
	}{
		{2, []string{"--root", s.Root, "--driver", "zfs", "images"}, "aufsmount: --driver zfs" + notRead},
		{2, []string{"--root", s.Root, "images", "--driver", "zfs"}, "aufsmount: --driver zfs" + notRead},
		{2, []string{"--root", s.Root, "--driver=overlay3", "ps"}, "aufsmount: --driver overlay3" + notRead},
		{2, []string{"--root", s.Root, "--driver", "", "images"}, "aufsmount: --driver names no storage driver (it takes aufs, overlay2, fuse-overlayfs, overlay, vfs, overlayfs, native)\n"},
		{2, []string{"--root", s.Root, "-o", "driver=zfs", "busybox", mnt}, "aufsmount: -o driver=zfs" + notRead},
		{2, []string{"--root", s.Root, "--driver", "btrfs", "busybox", mnt}, "aufsmount: --driver btrfs" + notRead},
		{1, []string{"--root", s.Root, "--driver", "overlay2", "images"}, "aufsmount: opening store " + s.Root + ": no overlay2 store here (it has aufs)\n"},
		{2, []string{"--root", s.Root, "--debug", "busybox", mnt}, "aufsmount: mount: --debug in the background has nowhere to write: add --log FILE, or -f to log to stderr\n"},
		{2, []string{"--root", s.Root, "mount-all", "--debug", mnt}, "aufsmount: mount: --debug in the background has nowhere to write: add --log FILE, or -f to log to stderr\n"},
		// With --log, --debug goes on to the mount, which fails here for
		// a reason of its own: the store's root as the mount point.
		{1, []string{"--root", s.Root, "--debug", "--log", filepath.Join(mnt, "log"), "busybox", s.Root}, "aufsmount: " + s.Root + ": is the store " + s.Root + ": choose a mount point outside it\n"},
	}
	for _, tt := range tests {
		expectRun(t, tt.code, "", tt.msg, tt.args...)
	}
}
