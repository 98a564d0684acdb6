package main

import "testing"

// TestShellQuote: the commands the demo prints can be pasted into a
// shell as they are.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"ls":               "ls",
		"v1-overlay2/bin":  "v1-overlay2/bin",
		"--time-style=+%F": "'--time-style=+%F'",
		"":                 "''",
		"a b":              "'a b'",
		"it's":             `'it'\''s'`,
		"docker.io/app:v1": "docker.io/app:v1",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
