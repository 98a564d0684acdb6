package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// make install puts the binary, its man page, the completions and the
// mount(8) helper link where a packager expects them, under DESTDIR.
func TestMakeInstall(t *testing.T) {
	mk := testenv.Tool(t, "make")
	tmp := t.TempDir()
	for _, tt := range []struct {
		vars  []string
		files []string
	}{
		{nil, []string{
			"/sbin/mount.fuse.aufsmount -> /usr/local/bin/aufsmount",
			"/usr/local/bin/aufsmount",
			"/usr/local/share/bash-completion/completions/aufsmount",
			"/usr/local/share/fish/vendor_completions.d/aufsmount.fish",
			"/usr/local/share/man/man1/aufsmount.1",
			"/usr/local/share/zsh/site-functions/_aufsmount",
		}},
		{[]string{"PREFIX=/usr", "SBINDIR=/usr/sbin"}, []string{
			"/usr/bin/aufsmount",
			"/usr/sbin/mount.fuse.aufsmount -> /usr/bin/aufsmount",
			"/usr/share/bash-completion/completions/aufsmount",
			"/usr/share/fish/vendor_completions.d/aufsmount.fish",
			"/usr/share/man/man1/aufsmount.1",
			"/usr/share/zsh/site-functions/_aufsmount",
		}},
	} {
		dest, err := os.MkdirTemp(tmp, "dest-")
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-C", "../..", "install", "OUT=" + filepath.Join(tmp, "out"), "DESTDIR=" + dest, "VERSION=9.9-test"}, tt.vars...)
		if out, err := exec.Command(mk, args...).CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var got []string
		filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			line := strings.TrimPrefix(p, dest)
			if fi.Mode()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				line += " -> " + target
			}
			got = append(got, line)
			return nil
		})
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(tt.files, "\n") {
			t.Errorf("make install %s put:\n%s\nwant:\n%s", strings.Join(tt.vars, " "), strings.Join(got, "\n"), strings.Join(tt.files, "\n"))
		}
		prefix := "/usr/local"
		if tt.vars != nil {
			prefix = "/usr"
		}
		bin := filepath.Join(dest, prefix, "bin/aufsmount")
		if out, err := exec.Command(bin, "--version").Output(); err != nil || string(out) != "aufsmount version 9.9-test\n" {
			t.Errorf("installed aufsmount --version: %q, %v", out, err)
		}
		// The installed binary is the lean one: no man page generator.
		if out, _ := exec.Command(bin, "gen-man").CombinedOutput(); !strings.Contains(string(out), "gen-man: not a command") {
			t.Errorf("installed aufsmount has gen-man: %q", out)
		}
		man, err := os.ReadFile(filepath.Join(dest, prefix, "share/man/man1/aufsmount.1"))
		if err != nil || !strings.Contains(string(man), ".TH aufsmount 1") || !strings.Contains(string(man), "fuse.aufsmount") || !strings.Contains(string(man), "\n.SH mount-all\n") {
			t.Errorf("aufsmount.1 is not the man page:\n%.300s", man)
		}
		for file, want := range map[string]string{
			"share/bash-completion/completions/aufsmount": bashCompletion,
			"share/zsh/site-functions/_aufsmount":         zshCompletion,
		} {
			if b, err := os.ReadFile(filepath.Join(dest, prefix, file)); err != nil || string(b) != want {
				t.Errorf("%s is not aufsmount completion %s: %v", file, filepath.Base(file), err)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dest, prefix, "share/fish/vendor_completions.d/aufsmount.fish")); !strings.HasPrefix(string(b), "# aufsmount fish shell completion\n") {
			t.Errorf("aufsmount.fish: %.100q", b)
		}
	}
}
