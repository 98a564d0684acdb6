package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is aufsmount built once for the tests that run it as users do.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aufsmount-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "aufsmount")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building aufsmount: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
}

// aufsmount runs the binary with args and the extra environment env
// (AUFSMOUNT_ROOT is never inherited). A run that hangs fails the test.
func aufsmount(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUFSMOUNT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("aufsmount %q: timed out; stderr: %s", args, r.stderr)
	}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("aufsmount %q: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// mustSucceed runs aufsmount and fails the test unless it exits 0 with
// nothing on stderr.
func mustSucceed(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := aufsmount(t, env, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("aufsmount %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

// mustFail runs aufsmount and checks it fails with the exit code and one
// line on stderr holding every one of wants.
func mustFail(t *testing.T, code int, wants []string, args ...string) {
	t.Helper()
	r := aufsmount(t, nil, args...)
	if r.code != code {
		t.Errorf("aufsmount %q: exit %d, want %d; stderr %q", args, r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "aufsmount: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("aufsmount %q: stderr %q is not one line starting with \"aufsmount: \"", args, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("aufsmount %q: stderr %q does not say %q", args, r.stderr, w)
		}
	}
	if r.stdout != "" {
		t.Errorf("aufsmount %q: printed %q on stdout", args, r.stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"mount", "--help"}, {"umount", "--help"}, {"unmount", "-h"},
		{"images", "--help"}, {"layers", "--help"}, {"history", "--help"},
		{"containers", "--help"}, {"ps", "--help"},
	} {
		out := mustSucceed(t, nil, args...)
		if !strings.Contains(out, "USAGE:") || !strings.Contains(out, "Example") {
			t.Errorf("aufsmount %q: no usage or example in\n%s", args, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"busybox"},
		{"busybox", "/mnt", "extra"},
		{"images", "--bogus"},
		{"images", "a", "b"},
		{"layers"},
		{"layers", "a", "b"},
		{"containers", "x"},
		{"umount"},
		{"mount", "busybox"},
		{"-o", "bogus", "busybox", "/mnt"},
		{"busybox", "/mnt", "-o", "uid=0"},
		{"mount", "-o", "ro,nodefault_permissions", "busybox", "/mnt"},
		{"--nope", "busybox", "/mnt"},
	}
	for _, args := range tests {
		mustFail(t, 2, nil, args...)
	}
}

func TestUmountRefusesOthers(t *testing.T) {
	dir := t.TempDir()
	mustFail(t, 1, []string{dir + ": not an aufsmount mount"}, "umount", dir)
	mustFail(t, 1, []string{"/proc: not an aufsmount mount"}, "umount", "/proc")
	mustFail(t, 1, []string{"no such file or directory"}, "umount", filepath.Join(dir, "missing"))
}
