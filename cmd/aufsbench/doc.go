// Command aufsbench measures aufsmount side by side with its peers, kernel
// overlayfs and fuse-overlayfs, on one store it builds with the test-store
// builder: every system mounts the same layer chain in the same run, each
// workload runs several rounds, and the figures are medians with their
// ratio to the kernel's. Two rows are aufsmount's: the FUSE view, and the
// kernel path ("aufsmount --kernel", package kernelview), mounted by a
// process of its own whose mount time includes walking the layers and
// writing the shims (reported apart, with the shims' figures). Run it as
// root (make bench); --smoke is the tiny one-round run that make test
// includes.
package main
