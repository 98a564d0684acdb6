package fs

import (
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// inoBits is how many bits of an underlying inode number go into ours;
// the bits above carry the layer number. Real filesystems hand out
// numbers far below 2^48; larger ones are folded, which could collide.
const inoBits = 48

// inoOf makes the inode number shown for (layer, underlying inode): the
// same on every lookup, readdir and remount, shared by hard links within
// a layer, and never 0 or 1 (layer numbers start at 1).
func inoOf(layerNum, ino uint64) uint64 {
	const mask = 1<<inoBits - 1
	if ino > mask {
		ino = (ino ^ ino>>inoBits) & mask
	}
	return layerNum<<inoBits | ino
}

// fillAttr turns a layer entry's stat into what the view shows and
// returns its stable identity. Lookup, getattr and readdir all come
// through here, so they never disagree.
func fillAttr(l *layer, st *unix.Stat_t, out *fuse.Attr) fs.StableAttr {
	out.Ino = inoOf(l.num, st.Ino)
	out.Size = uint64(st.Size)
	out.Blocks = uint64(st.Blocks)
	out.Atime, out.Atimensec = uint64(st.Atim.Sec), uint32(st.Atim.Nsec)
	out.Mtime, out.Mtimensec = uint64(st.Mtim.Sec), uint32(st.Mtim.Nsec)
	out.Ctime, out.Ctimensec = uint64(st.Ctim.Sec), uint32(st.Ctim.Nsec)
	out.Mode = st.Mode
	out.Nlink = uint32(st.Nlink)
	out.Uid, out.Gid = st.Uid, st.Gid
	out.Rdev = encodeDev(st.Rdev)
	out.Blksize = uint32(st.Blksize)
	return fs.StableAttr{Mode: st.Mode & unix.S_IFMT, Ino: out.Ino}
}

// encodeDev packs a device number the way the FUSE protocol carries it
// (the kernel's new_encode_dev: 12 bits of major, 20 of minor).
func encodeDev(dev uint64) uint32 {
	major, minor := unix.Major(dev), unix.Minor(dev)
	return minor&0xff | (major&0xfff)<<8 | (minor&^0xff)<<12
}
