package main

import (
	"github.com/urfave/cli/v2"
)

func (e *env) mountAllCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount-all",
		Usage:     "mount every image, container and layer of the store in one read-only tree",
		UsageText: "aufsmount mount-all [-f] [--debug] [--log FILE] [-o OPTS] MOUNTPOINT",
		Description: `Mounts the whole store at MOUNTPOINT (also: aufsmount --all MOUNTPOINT):

   images/<name>:<tag>       every tag; a name keeps its slashes as
                             directories (images/user/app:v1,
                             images/registry:5000/team/app:v2), and
                             images/<name>@sha256:<hex> for digest names
   ids/<image id>/           every image, tagged or not
   containers/<name>/        every container, by name and by full id
   containers/<id>/
   layers/<layer id>/        one layer's own files as stored, whiteouts
                             visible, for inspection

Each view is merged on first use. Views share their layers' inodes and
caches, so diff -r images/app:v1 images/app:v2 is as fast as diffing two
single mounts, or faster. A container's view has its volumes and
/etc/hosts as a single mount has them.

A view that cannot be laid out is left out and the rest mounts: a tag
whose path is a directory of other views (x:5000 beside x:5000/z:1; the
image is still under ids/), an image or container whose chain is broken.
What is left out, or mounted from the driver's own files because its
image metadata is damaged, is said on stderr before the mount is made.

Examples:
   aufsmount mount-all /mnt/store
   aufsmount --root /srv/old-host/docker --all /mnt/store`,
		Flags:  mountFlags(),
		Action: e.mountAction,
	}
}
