// Package testenv is the one place that decides what a test does when this
// machine lacks a tool, a device or a privilege the test needs: it skips,
// except under CI=true, where a skip would hide a broken setup and so fails.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Require skips t unless ok, or fails it under CI=true. format and args say
// what is missing.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	why := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true forbids skipping", why)
	}
	t.Skip(why)
}

// Tool returns the path of the program name, requiring it to be installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, "%s not installed", name)
	return p
}

// Root requires the test to run as root.
func Root(t testing.TB, what string) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "%s needs root", what)
}

// FUSE requires what a FUSE mount in this process needs: root and /dev/fuse.
func FUSE(t testing.TB) {
	t.Helper()
	Root(t, "mounting")
	_, err := os.Stat("/dev/fuse")
	Require(t, err == nil, "cannot mount: %v", err)
}
