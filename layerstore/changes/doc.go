// Package changes computes what differs between two views of a Docker
// store: the paths one image or container adds, deletes or changes
// against another (Between), and what a container changed as docker diff
// reports it (OfContainer). It returns the changes, sorted by path, and
// never prints: how they are shown is the caller's.
//
// It owns the comparison of two views (fs.View): which paths to look at
// (only those the layers the two do not share touch), and when one path
// shows the same in both; and Docker 20.10's rules for docker diff, which
// the container's driver picks (layerstore.Target.ContainerDiff).
package changes
