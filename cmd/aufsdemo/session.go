package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"golang.org/x/sys/unix"
)

// session runs the commands of the demo in dir and keeps track of what
// to undo.
type session struct {
	bin string // the aufsmount binary
	dir string // the temporary directory: the stores and the mount points
	out io.Writer

	cmdMu    sync.Mutex  // held while a command runs and while cleaning up
	stopping atomic.Bool // a signal came: run no more steps
	err      error       // the first step that failed

	mu      sync.Mutex
	mounts  []string // mount points that may be mounted, absolute
	cleaned bool
}

// step runs f unless an earlier step failed or a signal came, holding
// cmdMu so that the signal handler waits for it; the first error sticks.
func (s *session) step(f func() error) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	if s.err != nil {
		return
	}
	if s.stopping.Load() {
		s.err = errors.New("interrupted")
		return
	}
	s.err = f()
}

// comment prints text as shell comments, after a blank line.
func (s *session) comment(text string) {
	s.step(func() error {
		fmt.Fprintf(s.out, "\n# %s\n", strings.ReplaceAll(text, "\n", "\n# "))
		return nil
	})
}

// prompt prints a command line as a shell user would type it.
func (s *session) prompt(args ...string) {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintf(s.out, "$ %s\n", strings.Join(quoted, " "))
}

func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// sh runs a command in the session's directory, printing it first, and
// fails unless it exits with want. "aufsmount" is the built binary.
func (s *session) sh(want int, name string, args ...string) {
	s.step(func() error { return s.command(want, name, args...) })
}

func (s *session) command(want int, name string, args ...string) error {
	s.prompt(append([]string{name}, args...)...)
	path := name
	if name == "aufsmount" {
		path = s.bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, s.out, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if code != want {
		return fmt.Errorf("%s %s: exit status %d, expected %d (%v)", name, strings.Join(args, " "), code, want, err)
	}
	return nil
}

func (s *session) mkdirs(names ...string) {
	s.step(func() error { return s.mkdirsNow(names...) })
}

func (s *session) mkdirsNow(names ...string) error {
	s.prompt(append([]string{"mkdir"}, names...)...)
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(s.dir, n), 0755); err != nil {
			return err
		}
	}
	return nil
}

// mount mounts ref of the store in the background, as a user would, and
// remembers the mount point for the cleanup before trying.
// Flags (--driver NAME) go before the reference.
func (s *session) mount(store, ref, at string, flags ...string) {
	s.step(func() error { return s.mountNow(store, ref, at, flags...) })
}

func (s *session) mountNow(store, ref, at string, flags ...string) error {
	mnt := filepath.Join(s.dir, at)
	s.mu.Lock()
	s.mounts = append(s.mounts, mnt)
	s.mu.Unlock()
	args := append(flags, ref, at)
	if store != "" { // "": ref names its archive (docker-archive:FILE:NAME ...)
		args = append([]string{"--root", store}, args...)
	}
	if err := s.command(0, "aufsmount", args...); err != nil {
		return err
	}
	if !isMounted(mnt) {
		return fmt.Errorf("aufsmount %s %s: exit status 0, but nothing is mounted on %s", ref, at, mnt)
	}
	return nil
}

// showXattrs prints the extended attributes of paths, read through the
// mount (no getfattr needed), and the layer each comes from, checking
// the layers of those given in layerOf.
func (s *session) showXattrs(layerOf map[string]string, paths ...string) {
	s.step(func() error { return s.showXattrsNow(layerOf, paths...) })
}

func (s *session) showXattrsNow(layerOf map[string]string, paths ...string) error {
	fmt.Fprintln(s.out, "\n# Extended attributes, read through the mount with llistxattr and lgetxattr;")
	fmt.Fprintln(s.out, "# user.aufsmount.layer (not listed) names the layer a path comes from:")
	for _, p := range paths {
		full := filepath.Join(s.dir, p)
		names, err := listXattrs(full)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "%s:\n", p)
		for _, n := range append(names, "user.aufsmount.layer") {
			val, err := getXattr(full, n)
			if err != nil {
				return fmt.Errorf("getxattr %s %s: %w", p, n, err)
			}
			shown := showValue(val)
			if n == "user.aufsmount.layer" {
				if want, ok := layerOf[p]; ok && string(val) != want {
					return fmt.Errorf("%s: user.aufsmount.layer is %q, but the builder put it in layer %s", p, val, want)
				}
				shown = string(val)
				if len(shown) > 12 {
					shown = shown[:12] // as aufsmount layers shows it
				}
			}
			fmt.Fprintf(s.out, "    %s=%s\n", n, shown)
		}
	}
	return nil
}

func listXattrs(p string) ([]string, error) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return nil, err
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, fmt.Errorf("listxattr %s: %w", p, err)
	}
	return strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00"), nil
}

func getXattr(p, name string) ([]byte, error) {
	sz, err := unix.Lgetxattr(p, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, sz)
	sz, err = unix.Lgetxattr(p, name, buf)
	return buf[:sz], err
}

// showValue prints a value as getfattr does: quoted text, or hex.
func showValue(v []byte) string {
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%x", v)
		}
	}
	return strconv.Quote(string(v))
}

// checkUnmounted makes sure the umount commands left nothing mounted.
func (s *session) checkUnmounted() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.mounts {
		if isMounted(m) {
			return fmt.Errorf("%s is still mounted after aufsmount umount", m)
		}
	}
	return nil
}

// cleanup unmounts whatever is still mounted (aufsmount umount, then a
// lazy detach) and removes the temporary directory, unless something
// could not be unmounted: removing through a mount is never tried.
func (s *session) cleanup() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cleaned {
		return nil
	}
	s.cleaned = true
	var errs []error
	for i := len(s.mounts) - 1; i >= 0; i-- {
		m := s.mounts[i]
		if !isMounted(m) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, s.bin, "umount", m).CombinedOutput()
		cancel()
		if err == nil && !isMounted(m) {
			continue
		}
		fmt.Fprintf(os.Stderr, "aufsdemo: aufsmount umount %s: %v %s; detaching it\n", m, err, bytes.TrimSpace(out))
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && isMounted(m) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; left %s in place", errors.Join(errs...), s.dir)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("removing %s: %w", s.dir, err)
	}
	return nil
}

// isMounted tells whether p is a mount point.
func isMounted(p string) bool {
	mounts, err := mounttable.Read()
	if err != nil {
		return false
	}
	_, ok := mounttable.Find(mounts, p)
	return ok
}
