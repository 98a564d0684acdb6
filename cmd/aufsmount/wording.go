package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is what the completion scripts end a command line with.
const completionFlag = "--generate-bash-completion"

// refArgs is, per command, how many of its first arguments are references
// that shell completion offers the store's names for.
var refArgs = map[string]int{"mount": 1, "layers": 1, "history": 1, "which": 1, "diff": 2, "inspect": 1, "verify": 1}

// manCommand, when the build has urfave/cli's man-page generator (not
// with -tags urfave_cli_no_docs, as the Makefile builds the binary),
// makes the hidden command that make runs to write aufsmount.1.
var manCommand func() *cli.Command

// splitGluedO splits "-oro,allow_other" into "-o" "ro,allow_other", as
// mount(8) and sshfs take it, before the flag parser reads a flag named
// "oro". Nothing after "--" is touched.
func splitGluedO(tokens []string, app *cli.App) []string {
	out := make([]string, 0, len(tokens)+1)
	for i, t := range tokens {
		if t == "--" {
			return append(out, tokens[i:]...)
		}
		if len(t) > 2 && strings.HasPrefix(t, "-o") && t[2] != '-' && t[2] != '=' && !definedFlag(app, flagName(t)) {
			out = append(out, "-o", t[2:])
			continue
		}
		out = append(out, t)
	}
	return out
}

func definedFlag(app *cli.App, name string) bool {
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// flagInError finds the flags the standard flag package names in its
// errors, which it always writes with one dash ("flag provided but not
// defined: -format").
var flagInError = regexp.MustCompile(`(not defined: |needs an argument: |for flag |for )-([A-Za-z0-9][A-Za-z0-9_.-]*)`)

// asTyped rewrites a usage error in the words the user typed: a long flag
// with the two dashes it is written with, and a command by the alias it
// was called by (history for layers, ps for containers, unmount for umount).
func asTyped(app *cli.App, args []string, msg string) string {
	msg = flagInError.ReplaceAllStringFunc(msg, func(m string) string {
		sub := flagInError.FindStringSubmatch(m)
		if len(sub[2]) > 1 {
			return sub[1] + "--" + sub[2]
		}
		return m
	})
	typed := commandWord(app, args)
	if typed == "" {
		return msg
	}
	cmd := app.Command(typed)
	if cmd == nil || cmd.Name == typed {
		return msg
	}
	if rest, ok := strings.CutPrefix(msg, cmd.Name+": "); ok {
		msg = typed + ": " + rest
	}
	return strings.ReplaceAll(msg, "aufsmount "+cmd.Name+" --help", "aufsmount "+typed+" --help")
}

// commandWord is the command name or alias in a normalized command line,
// or "".
func commandWord(app *cli.App, args []string) string {
	for i := 1; i < len(args); i++ {
		t := args[i]
		if t == "--" {
			return ""
		}
		if isFlagToken(t) {
			i += flagTokens(args[i:], app.Flags) - 1
			continue
		}
		if app.Command(t) != nil {
			return t
		}
		return ""
	}
	return ""
}

// noteStore records which store the command reads, so that a
// "permission denied" under it can be explained.
func noteStore(c *cli.Context, root string) {
	if c.App.Metadata == nil {
		return
	}
	roots, _ := c.App.Metadata["stores"].([]string)
	roots = append(roots, root)
	if abs, err := filepath.Abs(root); err == nil {
		roots = append(roots, abs)
	}
	c.App.Metadata["stores"] = roots
}

// explainPermission adds what to do to an error that is a user's lack of
// permission to read the store (a real /var/lib/docker is root's alone).
func explainPermission(app *cli.App, msg string) string {
	if os.Geteuid() == 0 || !strings.Contains(msg, "permission denied") {
		return msg
	}
	roots, _ := app.Metadata["stores"].([]string)
	for _, r := range roots {
		if r != "" && strings.Contains(msg, r) {
			return msg + " (reading the store needs root: run aufsmount as root, e.g. with sudo)"
		}
	}
	return msg
}
