// Command aufsbench measures aufsmount side by side with its peers, kernel
// overlayfs and fuse-overlayfs, on one store it builds with the test-store
// builder: every system mounts the same layer chain in the same run, each
// workload runs several rounds, and the figures are medians with their
// ratio to the kernel's. Run it as root (make bench); --smoke is the tiny
// one-round run that make test includes.
package main
