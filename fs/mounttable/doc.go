// Package mounttable owns aufsmount's views in the kernel's mount table:
// reading /proc/self/mountinfo (Read, Parse, Find), telling our mounts
// from the rest (FUSE views of type fuse.aufsmount, kernel views of type
// overlay with source aufsmount:REF), the record each serving process
// keeps of its view (KeepRecord), finding and probing a view's server
// (Servers, Probe), listing views (List), checking a mount point before
// mounting on it (Locate, CheckMountPoint), and the one unmount used for
// FUSE and kernel views alike (Unmount, UnmountAt, UnmountAll).
//
// It grew out of package mountinfo, the parser alone, rather than sitting
// beside it: every question asked of the mount table here starts from
// the parsed lines, and one package means one place that decides what a
// view of ours is (the command, package fs, package kernelview and the
// tests all ask it). The command keeps only its flags, usage and output.
//
//	mounts, err := mounttable.Read()
//	for _, v := range mounttable.Views(mounts) { ... }
//	u, err := mounttable.Unmount("/mnt/img") // u.Lazy: it was busy, and detached
package mounttable
