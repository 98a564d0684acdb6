package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mountinfo"
)

// fsType is the type the kernel shows for our mounts: "fuse." and the
// subtype the fs package mounts with.
const fsType = "fuse.aufsmount"

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
	mounts, err := mountinfo.Read()
	if err != nil {
		return err
	}
	at, err := locateMountPoint(arg, mounts)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: no such file or directory", arg)
		}
		return fmt.Errorf("%s: %w", arg, err)
	}
	if at.Mount == nil {
		return fmt.Errorf("%s: not an aufsmount mount (not a mount point)", arg)
	}
	if kernelview.IsKernelView(*at.Mount) {
		if err := kernelview.Unmount(at.Path); err != nil {
			return fmt.Errorf("unmounting %s: %w", arg, err)
		}
		return nil
	}
	if at.Mount.FSType != fsType {
		return fmt.Errorf("%s: not an aufsmount mount (it is %s)", arg, at.Mount.FSType)
	}
	lazy, err := unmount(at.Path)
	if err != nil {
		if owner, ok := mountOwner(at.Mount); ok && os.Geteuid() != 0 && owner != os.Geteuid() {
			return fmt.Errorf("unmounting %s: %w (it was mounted by uid %d: only that user or root can unmount it)", arg, err, owner)
		}
		return fmt.Errorf("unmounting %s: %w", arg, err)
	}
	if lazy {
		fmt.Fprintf(c.App.ErrWriter, "aufsmount: %s was busy: detached; it is freed when its last user goes\n", arg)
	}
	return nil
}

// unmount unmounts the FUSE mount at path (absolute, no symlinks, known
// from the mount table to be ours), lazily if it stays busy. lazy says
// which was needed.
func unmount(path string) (lazy bool, err error) {
	if os.Geteuid() != 0 {
		return fusermountUnmount(path)
	}
	for try := 0; ; try++ {
		err = syscall.Unmount(path, 0)
		if err == nil {
			return false, nil
		}
		// EBUSY: a file is open or a process has its cwd inside; it may be
		// a moment from closing.
		if !errors.Is(err, syscall.EBUSY) || try == 10 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !errors.Is(err, syscall.EBUSY) {
		return false, err
	}
	if err := syscall.Unmount(path, syscall.MNT_DETACH); err != nil {
		return false, fmt.Errorf("lazy unmount: %w", err)
	}
	return true, nil
}

// fusermountUnmount asks the setuid helper, as a user must.
func fusermountUnmount(path string) (lazy bool, err error) {
	bin, err := fusermountPath()
	if err != nil {
		return false, err
	}
	first := runQuiet(bin, "-u", path)
	if first == nil {
		return false, nil
	}
	if err := runQuiet(bin, "-u", "-z", path); err != nil {
		return false, first
	}
	return true, nil
}

// runQuiet runs a command and folds what it said on stderr into its error.
func runQuiet(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := foldLines(stderr.String()); msg != "" {
			if strings.HasPrefix(msg, name+": ") || strings.HasPrefix(msg, filepath.Base(name)+": ") {
				return errors.New(msg) // the helper names itself
			}
			return fmt.Errorf("%s: %s", name, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// foldLines puts a helper's message on one line.
func foldLines(s string) string { return strings.Join(strings.Fields(s), " ") }

// unmountReason is why an unmount failed, on one line: go-fuse's error
// holds fusermount's message with its line break, and then the exit
// status, which says nothing more.
func unmountReason(err error) string {
	msg := foldLines(err.Error())
	if i := strings.LastIndex(msg, " (code exit status "); i >= 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	return msg
}

// fusermountPath finds the helper non-root users mount and unmount with,
// where go-fuse looks for it.
func fusermountPath() (string, error) {
	for _, name := range []string{"fusermount3", "fusermount"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if p := "/bin/" + name; isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("fusermount3 not found: a user other than root needs it to mount and unmount (install the fuse3 package)")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// mountOwner is the uid a FUSE mount was made by (its user_id option).
func mountOwner(m *mountinfo.Mount) (int, bool) {
	for _, o := range strings.Split(m.SuperOptions, ",") {
		if v, ok := strings.CutPrefix(o, "user_id="); ok {
			uid, err := strconv.Atoi(v)
			return uid, err == nil
		}
	}
	return 0, false
}
