package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs/mounttable"
)

func umountCommand() *cli.Command {
	return &cli.Command{
		Name:      "umount",
		Aliases:   []string{"unmount"},
		Usage:     "unmount a view mounted by aufsmount",
		UsageText: "aufsmount umount MOUNTPOINT\naufsmount umount --all",
		Description: `Unmounts MOUNTPOINT, which must be an aufsmount mount (type fuse.aufsmount
in /proc/self/mountinfo). A mount whose process died (reads fail with
"Transport endpoint is not connected") is cleared too. If the view is busy,
it is detached lazily: it disappears now and is freed when its last user
goes. The serving process exits by itself once unmounted. With --all,
every aufsmount view (see aufsmount mounts) is unmounted: as root all of
them, otherwise the user's own.

Examples:
   aufsmount umount /mnt/img
   aufsmount umount --all`,
		Flags: append(storeFlags(),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "unmount every aufsmount view (as root, every user's)"},
		),
		Action: umountAction,
	}
}

func umountAction(c *cli.Context) error {
	if c.Bool("all") {
		if c.NArg() != 0 {
			return usageErrorf("umount: --all takes no MOUNTPOINT (see aufsmount umount --help)")
		}
		return unmountAll(c.App.ErrWriter)
	}
	if c.NArg() != 1 {
		return usageErrorf("umount: expected one MOUNTPOINT, got %s (see aufsmount umount --help)", nArgs(c.NArg()))
	}
	arg := c.Args().First()
	u, err := mounttable.Unmount(arg)
	if err != nil {
		return err
	}
	if u.Lazy {
		fmt.Fprintf(c.App.ErrWriter, "aufsmount: %s was busy: detached; it is freed when its last user goes\n", arg)
	}
	return nil
}
