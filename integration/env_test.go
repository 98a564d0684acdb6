package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	afs "github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// binary is the aufsmount command built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aufsmount-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "aufsmount")
	// Built as the Makefile builds it: static, without the man-page generator.
	build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", binary, "github.com/aufsmount/aufsmount/cmd/aufsmount")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building aufsmount:", err)
		os.Exit(1)
	}
	// The marker cache of the binaries under test, out of the home directory.
	os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mountLayers mounts dirs (top first) in this process and unmounts in cleanup.
func mountLayers(t testing.TB, dirs []string) string {
	t.Helper()
	return mountLayersWith(t, dirs, afs.Options{FsName: "test", DefaultPermissions: true})
}

// mountLayersWith is mountLayers with the given options.
func mountLayersWith(t testing.TB, dirs []string, o afs.Options) string {
	t.Helper()
	testenv.FUSE(t)
	mnt := t.TempDir()
	var layers []afs.Layer
	for _, d := range dirs {
		layers = append(layers, afs.Layer{ID: filepath.Base(d), Dir: d})
	}
	srv, err := afs.Mount(mnt, layers, o)
	if err != nil {
		t.Fatalf("mounting %d layers: %v", len(dirs), err)
	}
	t.Cleanup(func() { unmountServer(t, srv, mnt) })
	return mnt
}

func unmountServer(t testing.TB, srv *fuse.Server, mnt string) {
	done := make(chan error, 1)
	go func() { done <- srv.Unmount() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
			forceUnmount(mnt)
		}
	case <-time.After(promptly):
		t.Errorf("unmounting %s: not done in %v", mnt, promptly)
		forceUnmount(mnt)
	}
}

// forceUnmount clears a mount that will not go: lazily detach it.
func forceUnmount(mnt string) {
	unix.Unmount(mnt, unix.MNT_DETACH)
}

// isMounted tells whether mnt is a mount point.
func isMounted(t testing.TB, mnt string) bool {
	t.Helper()
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	_, ok := mounttable.Find(mounts, mnt)
	return ok
}

// run runs the aufsmount binary and returns stdout, stderr and exit code.
func run(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	return runIn(t, "", args...)
}

// runIn is run in the directory dir ("": this one), for relative paths.
func runIn(t testing.TB, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &errb, dir
	cmd.Env = append(os.Environ(), "AUFSMOUNT_ROOT=")
	code := runBounded(t, cmd)
	return out.String(), errb.String(), code
}

// runBounded runs cmd to its end, killing it and failing the test after
// a minute, and returns its exit code.
func runBounded(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		// Say where it is stuck: its goroutines (a Go program dumps them
		// on SIGQUIT) and every aufsmount process's kernel stacks.
		stacks := kernelStacks()
		cmd.Process.Signal(unix.SIGQUIT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		var dump string
		if b, ok := cmd.Stderr.(*bytes.Buffer); ok {
			dump = b.String()
		}
		t.Fatalf("%s %q: timed out\n%s\n%s", cmd.Path, cmd.Args[1:], stacks, dump)
	}
	return cmd.ProcessState.ExitCode()
}

// kernelStacks gives the kernel stack of every thread of every aufsmount
// process, for a report of what hung.
func kernelStacks() string {
	var b strings.Builder
	procs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range procs {
		comm, err := os.ReadFile(c)
		if err != nil || strings.TrimSpace(string(comm)) != "aufsmount" {
			continue
		}
		dir := filepath.Dir(c)
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		fmt.Fprintf(&b, "process %s: %s\n", filepath.Base(dir), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		tasks, _ := filepath.Glob(filepath.Join(dir, "task/[0-9]*/stack"))
		for _, st := range tasks {
			stack, _ := os.ReadFile(st)
			if bytes.Contains(stack, []byte("futex_wait")) || bytes.Contains(stack, []byte("ep_poll")) {
				continue // an idle Go thread
			}
			fmt.Fprintf(&b, "  thread %s:\n%s", filepath.Base(filepath.Dir(st)), stack)
		}
	}
	return b.String()
}
