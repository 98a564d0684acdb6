package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

// version is set by the Makefile (-ldflags "-X main.version=...");
// otherwise it comes from the build information Go records.
var version string

func init() {
	// --version only: -v means verbose to mount(8) and its helpers.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
}

// versionString is this build's version: the one the Makefile gave, the
// module version go install recorded, or the VCS revision of the tree it
// was built from.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version (also: --version)",
		UsageText: "aufsmount version",
		Flags:     storeFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageErrorf("version: takes no arguments")
			}
			cli.ShowVersion(c)
			return nil
		},
	}
}

func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of aufsmount, or of COMMAND (also: COMMAND --help)",
		UsageText: "aufsmount help [COMMAND]",
		Flags:     storeFlags(),
		Action: func(c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if cmd := c.App.Command(name); cmd == nil {
					msg := fmt.Sprintf("help: %s: no such command", name)
					if near := nearCommand(c.App, name); near != "" {
						msg += fmt.Sprintf(" (did you mean %s?)", near)
					}
					return usageErrorf("%s (see aufsmount --help)", msg)
				}
				cmd := c.App.Command(name)
				if !hasFlag(cmd.Flags, "help") {
					cmd.Flags = append(cmd.Flags, cli.HelpFlag) // what COMMAND --help shows
				}
				tmpl := cmd.CustomHelpTemplate
				if tmpl == "" {
					tmpl = cli.CommandHelpTemplate
				}
				cli.HelpPrinter(c.App.Writer, tmpl, cmd)
				return nil
			}
			return usageErrorf("help: expected at most one COMMAND, got %s", nArgs(c.NArg()))
		},
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				printCommands(c)
			}
		},
	}
}

// checkCommandTypo refuses a first word that is close to a command name
// and, when a mount would take it as its REF, names nothing in the store:
// "aufsmount umont /mnt" suggests umount rather than failing to find an
// image called umont.
func (e *env) checkCommandTypo(c *cli.Context) error {
	if e.report != nil || c.NArg() == 0 {
		return nil
	}
	word := c.Args().First()
	near := nearCommand(c.App, word)
	if near == "" {
		return nil
	}
	if c.NArg() != 2 {
		return usageErrorf("%s: not a command (did you mean aufsmount %s?)", word, near)
	}
	root, driver := c.String("root"), c.String("driver")
	if o, err := parseMountOptions(strings.Join(c.StringSlice("o"), ","), true); err == nil {
		if o.Root != "" {
			root = o.Root
		}
		if o.Driver != "" {
			driver = o.Driver
		}
	}
	if s, err := layerstore.OpenWith(root, layerstore.Options{Driver: driver}); err == nil {
		var nf *layerstore.NotFoundError
		if _, err := s.Resolve(word); !errors.As(err, &nf) {
			return nil // a reference of the store (maybe a broken one): mount it
		}
	}
	return usageErrorf("%s: not a command, nor an image or container of the store (did you mean aufsmount %s?)", word, near)
}

// nearCommand returns the visible command whose name (or alias) word is
// most probably a typo of: a few edits away, or cut short (at least 3
// characters of it); "" when none is.
func nearCommand(app *cli.App, word string) string {
	best, bestD := "", -1
	if len(word) < 2 {
		return ""
	}
	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		for _, name := range cmd.Names() {
			if name == word {
				return ""
			}
			d := layerstore.EditDistance(word, name)
			switch {
			case len(word) >= 3 && strings.HasPrefix(name, word):
				d = 1
			case len(word) <= 4 && d > 1, d > 2:
				continue
			}
			if bestD < 0 || d < bestD {
				best, bestD = name, d
			}
		}
	}
	return best
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
