// Command aufsmount mounts an image or container of an offline Docker
// store (any storage driver) as a read-only filesystem, lists, diffs and
// verifies what the store holds, and saves it out. It is a thin command
// over the library packages (docs/architecture.md): flags, usage text,
// tables, JSON, daemonizing and completion are its own.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// env is what the commands share: where to print, and, in the daemon
// child, the pipe on which the parent waits for the mount to answer.
type env struct {
	args           []string // the command line as given, without argv[0]: the daemon child gets it again
	stdout, stderr io.Writer
	report         *os.File
	plan           *os.File // in the daemon child: where the resolved mount comes from
	now            func() time.Time
}

// run executes one command line and returns the exit status: 0, 1 for an
// error, 2 for a usage error. Errors are one line on stderr.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must still read as one line, not a stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "aufsmount: internal error: %v\n", r)
			code = 1
		}
	}()
	if helperName(args[0]) {
		// Run by mount(8) as its mount.fuse.aufsmount helper.
		translated, fake, err := helperArgs(args)
		if err != nil {
			fmt.Fprintf(stderr, "aufsmount: %s\n", err)
			return 2
		}
		if fake {
			return 0
		}
		args = translated
	}
	e := &env{
		args:   args[1:],
		stdout: stdout,
		stderr: stderr,
		report: takeDaemonReport(),
		plan:   takeDaemonPlan(),
		now:    clock,
	}
	app := e.newApp()
	normalized := normalizeArgs(app, args)
	err := app.Run(normalized)
	if err == nil {
		return 0
	}
	if errors.Is(err, errSilent) {
		return 1
	}
	var es exitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	msg := strings.TrimSpace(oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		msg = asTyped(app, normalized, msg)
	}
	msg = explainPermission(app, msg)
	fmt.Fprintf(stderr, "aufsmount: %s\n", msg)
	if ue != nil {
		return 2
	}
	return 1
}

// errSilent fails a command that has said why on its own (verify's
// report): exit status 1, nothing more printed.
var errSilent = errors.New("failed")

// exitStatus is errSilent with a status of its own (verify's 3 and 4).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func (e *env) newApp() *cli.App {
	return &cli.App{
		Name:  "aufsmount",
		Usage: "browse the images and containers of an offline Docker store, read-only",
		UsageText: `aufsmount [--root DIR] [mount] [-f] [--debug] [--log FILE] [-o OPTS] REF MOUNTPOINT
aufsmount [--root DIR] COMMAND [OPTIONS] [ARGS...]
mount -t fuse.aufsmount -o root=DIR[,OPTS] REF MOUNTPOINT`,
		Description: `Mounts the image or container REF of a Docker store (storage drivers aufs,
overlay2, fuse-overlayfs, overlay and vfs) read-only at MOUNTPOINT, with no
Docker daemon, lists the store's images, containers and layers, compares
two of them (diff) and tells which layer a path comes from (which). REF is
what docker takes: name[:tag], name@sha256:..., an image id or unique
prefix, a container id, prefix or name; or an image of an archive, as
skopeo names one: docker-archive:FILE[:NAME:TAG], oci-archive:FILE[:REF],
oci:DIR[:REF] (or :@N, its Nth image). mount(8) and /etc/fstab
mount views as type fuse.aufsmount.

Examples:
   aufsmount busybox:latest /mnt/img
   aufsmount --root /srv/old-host/docker images
   aufsmount mounts
   aufsmount umount /mnt/img`,
		Version: versionString(),
		// cli adds --help itself only when no command is named help.
		Flags:                append(mountFlags(), cli.HelpFlag),
		Action:               e.defaultAction,
		Commands:             e.commands(),
		Writer:               e.stdout,
		ErrWriter:            e.stderr,
		HideHelpCommand:      true, // help is one of commands(), without cli's alias h
		EnableBashCompletion: true,
		BashComplete:         completeTop,
		Metadata:             map[string]any{},
		OnUsageError:         onUsageError("aufsmount"),
		// Errors are printed once, by run, which also picks the exit code.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func (e *env) commands() []*cli.Command {
	cmds := []*cli.Command{
		e.mountCommand(),
		e.mountAllCommand(),
		umountCommand(),
		e.imagesCommand(),
		e.layersCommand(),
		e.historyCommand(),
		e.containersCommand(),
		e.inspectCommand(),
		e.diffCommand(),
		e.whichCommand(),
		e.verifyCommand(),
		e.saveCommand(),
		e.mountsCommand(),
		completionCommand(),
		versionCommand(),
		helpCommand(),
	}
	if manCommand != nil {
		cmds = append(cmds, manCommand())
	}
	for _, c := range cmds {
		c.OnUsageError = onUsageError("aufsmount " + c.Name)
		if c.BashComplete == nil {
			c.BashComplete = completeArgs(refArgs[c.Name])
		}
	}
	return cmds
}

// onUsageError turns cli's flag parsing errors into usage errors (exit 2)
// instead of printing the whole help.
func onUsageError(name string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		if name == "aufsmount" {
			return usageErrorf("%v (see aufsmount --help)", err)
		}
		return usageErrorf("%s: %v (see %s --help)", strings.TrimPrefix(name, "aufsmount "), err, name)
	}
}

// storeFlags say which store to read: its directory, and optionally one
// storage driver of it. Every command defines them, so that they can
// come before or after the command name (see normalizeArgs).
func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "root",
			Usage:   "read the Docker store (its root directory, or a copy of it) in `DIR`",
			Value:   "/var/lib/docker",
			EnvVars: []string{"AUFSMOUNT_ROOT"},
		},
		&cli.StringFlag{
			Name:   "driver",
			Usage:  "read only the images and containers of storage driver `NAME` (" + strings.Join(layerstore.DriverNames(), ", ") + ")",
			Action: func(_ *cli.Context, name string) error { return checkDriver("--driver ", name) },
		},
		&cli.StringFlag{Name: "namespace", Usage: "read only the containerd namespace `NS` (moby, k8s.io, default ...)"},
		&cli.StringFlag{Name: "platform", Usage: "take a multi-platform image's manifest for `OS/ARCH[/VARIANT]` (default: this host's)"},
		&cli.StringFlag{Name: "containerd-root", Usage: "a Docker root's images are in the containerd root `DIR`"},
		&cli.StringFlag{Name: "store", Usage: "with --root on a host's filesystem, read only its store `NAME` (docker, containerd, k3s, podman, podman:USER)"},
	}
}

// isStoreFlag says whether a flag name is one of storeFlags.
func isStoreFlag(name string) bool {
	return name == "root" || name == "driver" || name == "namespace" || name == "platform" || name == "containerd-root" || name == "store"
}

// openStore opens the store the command line names.
func openStore(c *cli.Context) (layerstore.Source, error) {
	noteStore(c, c.String("root"))
	s, err := layerstore.OpenWith(c.String("root"), layerstore.Options{Driver: c.String("driver"),
		Namespace: c.String("namespace"), Platform: c.String("platform"), ContainerdRoot: c.String("containerd-root"), Store: c.String("store"), Refs: c.Args().Slice()})
	if err != nil {
		return nil, err // not a nil *Store in a non-nil Source
	}
	return s, nil
}

// normalizeArgs rearranges a command line for cli/v2, whose parser stops
// at the first argument that is not a flag: flags after arguments
// ("layers busybox --json") are moved before them, and a --root given
// or --driver before the command name is handed to the command, which
// defines them too.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	// Shell completion asks with a last word that must stay last.
	if n := len(args); n > 1 && args[n-1] == completionFlag {
		return append(normalizeArgs(app, args[:n-1]), completionFlag)
	}
	rest := splitGluedO(args[1:], app)
	var global, root []string
	i := 0
	for i < len(rest) && rest[i] != "--" && isFlagToken(rest[i]) {
		n := flagTokens(rest[i:], app.Flags)
		if isStoreFlag(flagName(rest[i])) {
			root = append(root, rest[i:i+n]...)
		} else {
			global = append(global, rest[i:i+n]...)
		}
		i += n
	}
	out := []string{args[0]}
	if i < len(rest) && rest[i] != "--" {
		if cmd := app.Command(rest[i]); cmd != nil {
			out = append(out, global...)
			out = append(out, rest[i])
			out = append(out, root...)
			return append(out, hoistFlags(rest[i+1:], cmd.Flags)...)
		}
	}
	// No command: the default action (mount) takes the whole line.
	return append(out, hoistFlags(rest, app.Flags)...)
}

// hoistFlags moves every flag (with its value) before the positional
// arguments, keeping the order of each; "--" ends the flags.
func hoistFlags(tokens []string, flags []cli.Flag) []string {
	var fl, pos []string
	dashdash := false
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t == "--":
			dashdash = true
			pos = append(pos, tokens[i+1:]...)
			i = len(tokens)
		case isFlagToken(t):
			n := flagTokens(tokens[i:], flags)
			fl = append(fl, tokens[i:i+n]...)
			i += n - 1
		default:
			pos = append(pos, t)
		}
	}
	if dashdash || (len(pos) > 0 && strings.HasPrefix(pos[0], "-")) {
		fl = append(fl, "--")
	}
	return append(fl, pos...)
}

func isFlagToken(t string) bool { return len(t) > 1 && t[0] == '-' }

// flagName is the name in "-x", "--name" or "--name=value".
func flagName(t string) string {
	name := strings.TrimLeft(t, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name
}

// flagTokens says how many tokens the flag at tokens[0] spans: 2 for a
// flag that takes a value given separately, else 1.
func flagTokens(tokens []string, flags []cli.Flag) int {
	t := tokens[0]
	if strings.Contains(t, "=") || len(tokens) < 2 {
		return 1
	}
	name := flagName(t)
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, isBool := f.(*cli.BoolFlag); isBool {
				return 1
			}
			return 2
		}
	}
	return 1
}
