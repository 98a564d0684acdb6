package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

func TestCompletionAnswers(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS)
	refs := "alpine@sha256:" + strings.Repeat("5c", 32) + "\nbusybox:latest\nregistry:5000/team/app:v2\nuser/app:v1\nuser/app:v2\nweb\n"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--root", s.Root, "layers"}, refs},
		{[]string{"history", "--root", s.Root}, refs},
		{[]string{"--root", s.Root, "diff", "busybox"}, refs},
		{[]string{"--root", s.Root, "diff", "busybox", "web"}, ""},
		{[]string{"--root", s.Root, "mount", "busybox"}, ""}, // MOUNTPOINT: the shell's file names
		{[]string{"--root", s.Root, "which", "--no-tr"}, "--no-trunc\n"},
		{[]string{"images", "--j"}, "--json\n"},
		{[]string{"completion"}, "bash\nzsh\nfish\n"},
		{[]string{"--root", "/nonexistent", "layers"}, ""}, // no store: nothing, and no error
	}
	for _, tt := range tests {
		expectRun(t, 0, tt.want, "", append(tt.args, "--generate-bash-completion")...)
	}
	// The first word: every command, then the references.
	out := mustSucceed(t, nil, "--root", s.Root, "--generate-bash-completion")
	if !strings.HasPrefix(out, "mount\nmount-all\numount\nimages\n") || !strings.HasSuffix(out, "\nmounts\ncompletion\nversion\nhelp\n"+refs) {
		t.Errorf("completion of the first word:\n%s", out)
	}
	if cmds := mustSucceed(t, nil, "help", "--generate-bash-completion"); !strings.HasSuffix(out, cmds+refs) || cmds == "" {
		t.Errorf("help's completion %q is not the list of commands", cmds)
	}
}

// The bash script, sourced into bash, completes through the binary.
func TestBashCompletionScript(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	s := writeSample(t, layerstore.LayoutCAS)
	script := filepath.Join(t.TempDir(), "aufsmount")
	if err := os.WriteFile(script, []byte(mustSucceed(t, nil, "completion", "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _aufsmount; printf '%s\n' "${COMPREPLY[@]}"; complete -p aufsmount`
		cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", prog, "bash", script, binary}, words...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v\n%s", words, err, out)
		}
		return string(out)
	}
	registered := "complete -F _aufsmount aufsmount\n"
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"--root", s.Root, "ima"}, "images\n"},
		{[]string{"--root", s.Root, "layers", "user/"}, "user/app:v1\nuser/app:v2\n"},
		{[]string{"--root", s.Root, "mount", "w"}, "web\n"},
		{[]string{"images", "--no"}, "--no-trunc\n"},
		{[]string{"completion", "f"}, "fish\n"},
	} {
		if got := complete(tt.words...); got != tt.want+registered {
			t.Errorf("completing %q: %q, want %q", tt.words, got, tt.want+registered)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	zsh := mustSucceed(t, nil, "completion", "zsh")
	if !strings.HasPrefix(zsh, "#compdef aufsmount\n") || !strings.Contains(zsh, "--generate-bash-completion") {
		t.Errorf("zsh completion:\n%s", zsh)
	}
	fish := mustSucceed(t, nil, "completion", "fish")
	for _, want := range []string{
		"complete -r -c aufsmount -n '__fish_aufsmount_no_subcommand' -a 'mount-all' -d 'mount every image, container and layer of the store in one read-only tree'\n",
		"complete -c aufsmount -n '__fish_seen_subcommand_from images' -f -l json -d 'print a JSON array instead of a table'\n",
		"complete -c aufsmount -n 'not string match -q -- \"-*\" (commandline -ct)' -a '(__fish_aufsmount_ask)'\n",
	} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish completion lacks %q", want)
		}
	}
	if strings.Count(fish, "complete -c aufsmount -n '__fish_aufsmount_no_subcommand' -f -l help -s h -d 'show help'\n") != 1 {
		t.Errorf("fish completion repeats --help")
	}
	for _, sh := range []struct{ name, script string }{{"zsh", zsh}, {"fish", fish}} {
		if p, err := exec.LookPath(sh.name); err == nil {
			cmd := exec.Command(p, "-n")
			cmd.Stdin = strings.NewReader(sh.script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", sh.name, err, out)
			}
		}
	}
}
