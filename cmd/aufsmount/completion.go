package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

// Shell completion: the scripts ask the binary itself, which answers a
// command line ending in --generate-bash-completion with the words that
// may come next (commands, flags, the store's references, mount points).
// An empty answer falls back to the shell's file names (a MOUNTPOINT).

const bashCompletion = `# bash completion for aufsmount                       -*- shell-script -*-
# Installed as share/bash-completion/completions/aufsmount, or:
#   source <(aufsmount completion bash)
_aufsmount() {
    local cur words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -n =: || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local req=("${words[@]:0:cword}")
    [[ $cur == -* ]] && req+=("$cur")
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${req[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
    if [[ ${#COMPREPLY[@]} -eq 0 ]]; then
        compopt -o default 2>/dev/null
        return
    fi
    if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
        __ltrim_colon_completions "$cur"
    fi
}
complete -F _aufsmount aufsmount
`

const zshCompletion = `#compdef aufsmount
# zsh completion for aufsmount. Installed as site-functions/_aufsmount, or:
#   source <(aufsmount completion zsh)
_aufsmount() {
  local cur=${words[CURRENT]}
  local -a req opts
  req=("${(@)words[1,CURRENT-1]}")
  [[ $cur == -* ]] && req+=("$cur")
  opts=("${(@f)$("${(@)req}" --generate-bash-completion 2>/dev/null)}")
  if [[ -n ${opts[1]} ]]; then
    compadd -Q -a opts
  else
    _files
  fi
}
if [[ ${funcstack[1]} == _aufsmount ]]; then
  _aufsmount "$@"
else
  compdef _aufsmount aufsmount
fi
`

// fishDynamic completes the arguments fish's static list from cli
// cannot know: the store's references, and the mounted views for umount.
const fishDynamic = `
# References of the store and mounted views, from aufsmount itself.
function __fish_aufsmount_ask
    set -l words (commandline -opc)
    $words --generate-bash-completion 2>/dev/null
end
complete -c aufsmount -n 'not string match -q -- "-*" (commandline -ct)' -a '(__fish_aufsmount_ask)'
`

// dedupeLines drops repeated lines (cli lists --help and --version twice
// when the app defines them itself), keeping the first of each.
func dedupeLines(s string) string {
	seen := map[string]bool{}
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "complete ") {
			if seen[line] {
				continue
			}
			seen[line] = true
		}
		b.WriteString(line)
	}
	return b.String()
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "aufsmount completion bash|zsh|fish",
		Description: `Prints a script that completes aufsmount's commands, flags and the
store's image and container names in the shell named. make install puts
them where each shell finds them; to try one now:

Examples:
   source <(aufsmount completion bash)
   source <(aufsmount completion zsh)
   aufsmount completion fish | source`,
		Flags: storeFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("completion: expected one of bash, zsh, fish, got %s (see aufsmount completion --help)", nArgs(c.NArg()))
			}
			switch sh := c.Args().First(); sh {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, dedupeLines(script)+fishDynamic)
			default:
				return usageErrorf("completion: %s: not a shell aufsmount completes (bash, zsh, fish)", sh)
			}
			return nil
		},
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				for _, sh := range []string{"bash", "zsh", "fish"} {
					fmt.Fprintln(c.App.Writer, sh)
				}
			}
		},
	}
}

// completeArgs completes a command whose first refs positional arguments
// are references (and whose others are paths: left to the shell); flags
// are completed as cli does.
func completeArgs(refs int) cli.BashCompleteFunc {
	return func(c *cli.Context) {
		if completingFlag(c) {
			cli.DefaultCompleteWithFlags(c.Command)(c)
			return
		}
		if c.NArg() < refs {
			printRefs(c)
		}
	}
}

// completeTop completes aufsmount's first word: a command, or the REF of
// a mount.
func completeTop(c *cli.Context) {
	if completingFlag(c) {
		cli.DefaultCompleteWithFlags(nil)(c)
		return
	}
	if c.NArg() == 0 {
		printCommands(c)
		printRefs(c)
	}
}

// completeMounted completes umount's MOUNTPOINT with the views mounted.
func completeMounted(c *cli.Context) {
	if completingFlag(c) {
		cli.DefaultCompleteWithFlags(c.Command)(c)
		return
	}
	if c.NArg() > 0 {
		return
	}
	views, _ := listViews()
	for _, v := range views {
		fmt.Fprintln(c.App.Writer, v.MountPoint)
	}
}

// completingFlag says whether the word being completed is a flag: the
// scripts then pass it before --generate-bash-completion.
// cli's own completion of flags reads os.Args the same way.
func completingFlag(*cli.Context) bool {
	n := len(os.Args)
	return n > 2 && strings.HasPrefix(os.Args[n-2], "-")
}

func printCommands(c *cli.Context) {
	for _, cmd := range c.App.Commands {
		if !cmd.Hidden {
			fmt.Fprintln(c.App.Writer, cmd.Name)
		}
	}
}

// printRefs prints the store's image names and container names; nothing
// when the store cannot be read.
func printRefs(c *cli.Context) {
	s, err := layerstore.OpenWith(c.String("root"), layerstore.Options{Driver: c.String("driver")})
	if err != nil {
		return
	}
	for _, n := range layerstore.RefNames(s) {
		fmt.Fprintln(c.App.Writer, n)
	}
}
