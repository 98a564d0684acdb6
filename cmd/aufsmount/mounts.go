package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// mountedView is one line of aufsmount mounts.
type mountedView struct {
	MountPoint string `json:"mountpoint"`
	Ref        string `json:"ref"`           // as typed; "" for mount-all
	All        bool   `json:"all,omitempty"` // mount-all: the whole store
	Store      string `json:"store"`         // "" when unknown
	Driver     string `json:"driver"`        // "" when unknown
	PID        *int   `json:"pid"`           // the serving process; null when gone or not visible, or served by the kernel
	Gone       bool   `json:"gone,omitempty"`
	Kernel     bool   `json:"kernel,omitempty"` // served by the kernel's overlayfs (mount -o kernel)
}

func (e *env) mountsCommand() *cli.Command {
	return &cli.Command{
		Name:      "mounts",
		Usage:     "list the aufsmount views mounted on this host",
		UsageText: "aufsmount mounts [--json]",
		Description: `Lists every mount of type fuse.aufsmount: its mount point, the reference
it shows ((mount-all) for a whole store), the store and storage driver it
reads and the process serving it. PID says "gone" for a view whose
process died (aufsmount umount clears it); store, driver and PID are "-"
for another user's views unless run as root.

Examples:
   aufsmount mounts
   aufsmount mounts --json`,
		Flags:  append(storeFlags(), jsonFlag()),
		Action: e.mountsAction,
	}
}

// listViews lists our views in this mount namespace, in the order of the
// mount table.
func listViews() ([]mountedView, error) {
	views, err := mounttable.List()
	if err != nil {
		return nil, err
	}
	var out []mountedView
	for _, v := range views {
		mv := mountedView{MountPoint: v.MountPoint, Ref: v.Ref(), Kernel: v.Kernel, Gone: v.Gone}
		if s := v.Server; s != nil {
			pid := s.PID
			mv.PID = &pid
			mv.Ref, mv.All, mv.Store, mv.Driver = s.Record.Ref, s.Record.All, s.Record.Store, s.Record.Driver
		}
		out = append(out, mv)
	}
	return out, nil
}

func (e *env) mountsAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("mounts: takes no arguments (see aufsmount mounts --help)")
	}
	views, err := listViews()
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if views == nil {
			views = []mountedView{}
		}
		return writeJSON(e.stdout, views)
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "MOUNT POINT\tREFERENCE\tSTORE\tDRIVER\tPID")
	for _, v := range views {
		ref := v.Ref
		if v.All {
			ref = "(mount-all)"
		}
		pid := "-"
		switch {
		case v.PID != nil:
			pid = strconv.Itoa(*v.PID)
		case v.Gone:
			pid = "gone"
		case v.Kernel:
			pid = "kernel"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", oneLine(v.MountPoint), oneLine(orDash(ref)), oneLine(orDash(v.Store)), orDash(v.Driver), pid)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// unmountAll unmounts every aufsmount view this user may unmount (as
// root, all of them; otherwise the user's own), innermost first, and says
// on stderr which could not be.
func unmountAll(stderr io.Writer) error {
	failed := 0
	err := mounttable.UnmountAll(func(u mounttable.Unmounted, err error) {
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "aufsmount: unmounting %s: %v\n", u.MountPoint, err)
			failed++
		case u.Lazy:
			fmt.Fprintf(stderr, "aufsmount: %s was busy: detached; it is freed when its last user goes\n", u.MountPoint)
		}
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return errSilent
	}
	return nil
}
