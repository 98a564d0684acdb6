package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// mountFlags are the flags of mount, which is also what aufsmount does
// with two arguments and no command.
func mountFlags() []cli.Flag {
	return append(storeFlags(),
		&cli.BoolFlag{Name: "foreground", Aliases: []string{"f"}, Usage: "stay attached to the terminal instead of serving in the background"},
		&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request: to stderr with -f, else to the --log FILE, which it then needs"},
		&cli.StringFlag{Name: "log", Usage: "in the background, write messages to `FILE` (appended) instead of discarding them"},
		&cli.BoolFlag{Name: "all", Usage: "mount every image, container and layer of the store in one tree at MOUNTPOINT (no REF)"},
		&cli.StringSliceFlag{Name: "filter", Usage: "mount-all: mount only the containers with label `label=KEY[=VALUE]` (several: all of them), as ps --filter picks them: one pod's, one namespace's"},
		&cli.BoolFlag{Name: "kernel", Usage: "serve the view through the kernel's overlayfs, exactly, with no FUSE server (root only; same as -o kernel); falls back to FUSE, saying why, where it cannot be exact"},
		&cli.StringSliceFlag{Name: "o", Usage: "mount `OPTS`, comma-separated: root=DIR, driver=NAME, allow_other, allow_root (root only), nonempty, noexec, noatime, as-is, kernel, fuse, and what mount(8) and fstab pass (ro, rw, defaults, nofail, ...)"},
	)
}

func (e *env) mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "mount an image or container read-only (also what aufsmount REF MOUNTPOINT does)",
		UsageText: "aufsmount mount [-f] [--debug] [--log FILE] [-o OPTS] REF MOUNTPOINT",
		Description: `Mounts the merged layers of REF (an image or container of the store)
read-only at MOUNTPOINT, an empty directory (-o nonempty mounts over one
that is not) outside the store. aufsmount returns once the view answers
and keeps serving it in the background, until "aufsmount umount
MOUNTPOINT" or a SIGTERM. With -f it stays in the foreground; Ctrl-C
unmounts. Its messages go to stderr with -f, and in the background to the
--log FILE, or nowhere without one: --debug (every FUSE request) in the
background therefore needs --log.

A container is shown as Docker ran it: its writable layer over its init
layer over its image, with the /etc/hostname, /etc/hosts and
/etc/resolv.conf Docker kept in containers/<id>/ and its volumes
(volumes/<name>/_data) mounted over them, found in the store. What it
mounted from outside the store (host directories, tmpfs, other volume
drivers) is not shown, and said on stderr.

A copy of a store made without root or without -a (rsync -r, cp -r, a
zip) lost owners, modes, times, xattrs, devices, fifos or hard links.
Image layers get them back from their tar-splits where a copy explains
the difference, and the view is the image's; what somebody changed is
shown as it is on disk. Each layer restored is said once on stderr. -o
as-is shows the directories exactly as they are: the copy itself.

The view is always read-only, nosuid and nodev, and the kernel checks
permissions against the files' owners and modes (default_permissions).
Other users are let in only with -o allow_other. -o also takes what
mount(8) and /etc/fstab pass (root=DIR for the store, rw, nofail, ...):
see aufsmount(1).

Examples:
   aufsmount mount busybox:latest /mnt/img
   aufsmount -f -o allow_other 3f57d9401f8d /mnt/img
   mount -t fuse.aufsmount -o root=/srv/old-host/docker busybox /mnt/img`,
		Flags:  mountFlags(),
		Action: e.mountAction,
	}
}

// defaultAction is aufsmount with no command: a mount, given two arguments.
func (e *env) defaultAction(c *cli.Context) error {
	if c.Bool("all") {
		return e.mountAction(c)
	}
	switch c.NArg() {
	case 0:
		return usageErrorf("expected REF MOUNTPOINT or a command (see aufsmount --help)")
	}
	if err := e.checkCommandTypo(c); err != nil {
		return err
	}
	if c.NArg() == 1 {
		return usageErrorf("%s: not a command, and a mount needs REF MOUNTPOINT (see aufsmount --help)", c.Args().First())
	}
	return e.mountAction(c)
}

// mountRequest is a parsed mount command line.
type mountRequest struct {
	root, driver      string // the store, and the one driver of it to read ("" all)
	ref, mountpoint   string
	foreground, debug bool
	all               bool // the whole store: mountAll
	logFile           string
	opts              viewplan.MountOptions
	store             layerstore.Options // the other store flags: --namespace ... (--root, --driver: root, driver)
	filter            layerstore.Filter  // mount-all: the containers to mount
}

func (e *env) mountAction(c *cli.Context) error {
	all := c.Bool("all") || c.Command.Name == "mount-all"
	if all && c.NArg() != 1 {
		return usageErrorf("mount-all: expected MOUNTPOINT, got %s (see aufsmount mount-all --help)", nArgs(c.NArg()))
	}
	if !all && c.NArg() != 2 {
		return usageErrorf("mount: expected REF MOUNTPOINT, got %s (see aufsmount mount --help)", nArgs(c.NArg()))
	}
	if !all && c.Args().Get(0) == "" {
		return usageErrorf("mount: REF is empty: name an image or container (see aufsmount images, aufsmount containers)")
	}
	if c.Bool("debug") && !c.Bool("foreground") && c.String("log") == "" {
		// In the background stderr is gone once the mount answers.
		return usageErrorf("mount: --debug in the background has nowhere to write: add --log FILE, or -f to log to stderr")
	}
	opts, err := parseMountOptions(strings.Join(c.StringSlice("o"), ","), os.Geteuid() == 0)
	if err != nil {
		return err
	}
	if c.Bool("kernel") {
		opts.Kernel = true
	}
	if opts.Kernel && opts.FUSE {
		return usageErrorf("mount: -o kernel and -o fuse ask for both ways of serving the view: pick one")
	}
	if opts.ReadWrite && e.report == nil {
		fmt.Fprintln(e.stderr, "aufsmount: note: -o rw: the view is read-only; mounting it read-only")
	}
	req := mountRequest{
		root:       c.String("root"),
		driver:     c.String("driver"),
		ref:        c.Args().Get(0),
		mountpoint: c.Args().Get(1),
		all:        all,
		foreground: c.Bool("foreground"),
		debug:      c.Bool("debug"),
		logFile:    c.String("log"),
		opts:       opts,
		store:      layerstore.Options{Namespace: c.String("namespace"), Platform: c.String("platform"), ContainerdRoot: c.String("containerd-root"), Store: c.String("store")},
	}
	if all {
		req.ref, req.mountpoint = "", c.Args().Get(0)
	}
	if req.filter, err = layerstore.ParseFilter(c.StringSlice("filter")); err != nil {
		return usageErrorf("mount: %v", err)
	}
	if !all && !req.filter.Empty() {
		return usageErrorf("mount: --filter picks the containers of mount-all, and a mount is of one REF")
	}
	if opts.Root != "" {
		req.root = opts.Root
	}
	if opts.Driver != "" {
		req.driver = opts.Driver
	}
	noteStore(c, req.root)
	if opts.Kernel && all && e.report == nil {
		fmt.Fprintln(e.stderr, "aufsmount: note: -o kernel: mount-all is served through FUSE (its views share one tree)")
	}
	var plan *viewplan.Mount // resolved by the kernel path, where it fell back
	if opts.Kernel && !all && e.report == nil {
		if plan, err = e.mountKernel(req); plan == nil || err != nil {
			return err
		}
	}
	switch {
	case e.report != nil:
		return e.serve(req, e.report, nil)
	case req.foreground:
		return e.serve(req, nil, plan)
	}
	return e.daemonize(req, plan)
}

// serve mounts and serves until unmounted or signalled. In the daemon
// child, report gets "ok" or the error once the mount answers or fails.
// plan, when not nil, is what to mount, resolved already.
func (e *env) serve(req mountRequest, report *os.File, plan *viewplan.Mount) error {
	// Catch signals before the mount exists, so that one sent as soon as
	// it shows in the mount table unmounts it rather than killing us.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// A serving daemon holds a node for every entry the kernel knows:
	// trade a little GC time for a smaller peak (about 10% less RSS).
	debug.SetGCPercent(50)
	srv, mnt, logger, err := mountView(req, plan, e.plan)
	if report != nil {
		msg := "ok"
		if err != nil {
			msg = strings.TrimSpace(oneLine(err.Error()))
		}
		fmt.Fprintln(report, msg)
		report.Close()
	}
	if err != nil {
		return err
	}
	if report != nil {
		// A daemon must not keep the directory it was started in busy.
		_ = os.Chdir("/")
	}
	return waitServing(srv, mnt, sigs, logger)
}

// resolvePlan opens the store and resolves the reference to its chain
// and binds, or for mount-all lays out the whole tree; warnings go to
// warn.
func resolvePlan(req mountRequest, warn io.Writer) (*viewplan.Mount, error) {
	o := req.store
	o.Driver, o.Refs = req.driver, []string{req.ref}
	s, err := layerstore.OpenWith(req.root, o)
	if err != nil {
		return nil, err
	}
	p := plannerFiltered(s, warn, req.opts.AsIs, req.filter)
	if !req.all {
		return p.Mount(req.ref)
	}
	m := p.MountAll()
	for i, n := range m.Notes {
		m.Notes[i] = oneLine(n)
	}
	return m, nil
}

// mountView mounts plan, or where it is nil the plan the command sent on
// planFile, or resolves the reference (viewplan.Mount.Serve).
func mountView(req mountRequest, plan *viewplan.Mount, planFile *os.File) (*fuse.Server, string, *log.Logger, error) {
	var err error
	switch {
	case plan != nil:
	case planFile != nil:
		plan, err = readPlan(planFile)
	default:
		plan, err = resolvePlan(req, os.Stderr)
	}
	if err != nil {
		return nil, "", nil, err
	}
	newLogger := func() (*log.Logger, error) {
		logger := log.New(os.Stderr, "aufsmount: ", log.LstdFlags)
		if req.logFile != "" {
			f, err := os.OpenFile(req.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return nil, fmt.Errorf("opening log: %w", err)
			}
			logger.SetOutput(f)
		}
		if planFile != nil {
			// Said on the command's stderr already; the log keeps them too.
			for _, n := range plan.Notes {
				logger.Print(n)
			}
		}
		return logger, nil
	}
	return plan.Serve(req.mountpoint, viewplan.ServeOptions{Ref: req.ref, All: req.all, NonEmpty: req.opts.NonEmpty, Logger: newLogger,
		FS: fs.Options{AllowOther: req.opts.AllowOther, Debug: req.debug, NoExec: req.opts.NoExec, NoAtime: req.opts.NoAtime}})
}

// within says whether path is dir or below it, for the checks of save.
func within(path, dir string) bool { return mounttable.Within(path, dir) }

// waitServing returns when the view is unmounted from outside (aufsmount
// umount, fusermount3 -u, umount), or unmounts it on SIGINT, SIGTERM or
// SIGHUP and returns nil.
func waitServing(srv *fuse.Server, mnt string, sigs <-chan os.Signal, logger *log.Logger) error {
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case sig := <-sigs:
		logger.Printf("%v: unmounting %s", sig, mnt)
	}
	u, err := mounttable.Unmount(mnt)
	if err != nil {
		return err
	}
	if u.Lazy {
		// Detached, so that the path is free; give the last users a
		// moment before the process goes.
		logger.Printf("unmounting %s: %s; detaching it lazily", mnt, u.Busy)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return nil
}
