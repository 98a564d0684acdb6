package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// These tests mount for real. Without root (or fusermount3) and /dev/fuse
// they skip, except under CI=true, where they must run.
func needFUSE(t *testing.T) {
	t.Helper()
	why := ""
	if fi, err := os.Stat("/dev/fuse"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		why = "no /dev/fuse"
	} else if _, err := mounttable.FusermountPath(); os.Geteuid() != 0 && err != nil {
		why = "not root and no fusermount3"
	}
	testenv.Require(t, why == "", "cannot mount: %s", why)
}

func mountAt(t *testing.T, mnt string) (mounttable.Mount, bool) {
	t.Helper()
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	return mounttable.Find(mounts, mnt)
}

// daemonPID finds the process serving mnt: argv[0] "aufsmount", mnt last.
func daemonPID(t *testing.T, mnt string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if args[0] == "aufsmount" && args[len(args)-1] == mnt {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	t.Fatalf("no aufsmount process serving %s", mnt)
	return 0
}

// gone says whether pid has exited (a zombie waiting for an init that
// reaps slowly counts as exited).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountDaemon mounts ref at a new directory in the background and makes
// sure the test leaves no mount or process behind.
func mountDaemon(t *testing.T, root, ref string, extra ...string) (mnt string, pid int) {
	t.Helper()
	mnt = t.TempDir()
	args := append([]string{"--root", root}, extra...)
	r := aufsmount(t, nil, append(args, ref, mnt)...)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("mounting %s: exit %d, stdout %q, stderr %q", ref, r.code, r.stdout, r.stderr)
	}
	t.Cleanup(func() {
		if _, ok := mountAt(t, mnt); ok {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	pid = daemonPID(t, mnt)
	t.Cleanup(func() {
		if !gone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return mnt, pid
}

func TestMountDaemon(t *testing.T) {
	needFUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			s := writeSample(t, layout)
			mnt, pid := mountDaemon(t, s.Root, "user/app:v1")

			m, ok := mountAt(t, mnt)
			if !ok || m.FSType != "fuse.aufsmount" || m.Source != "user/app:v1" {
				t.Fatalf("mount table at %s: %+v, %v", mnt, m, ok)
			}
			if strings.Contains(m.SuperOptions, "allow_other") {
				t.Errorf("allow_other without -o allow_other: %s", m.SuperOptions)
			}
			// The view is the image: the app layer's file, the base's
			// file, the base's /bin/sh whited out.
			if b, err := os.ReadFile(filepath.Join(mnt, "etc/motd")); err != nil || string(b) != "hello\n" {
				t.Errorf("etc/motd: %q, %v", b, err)
			}
			if _, err := os.ReadFile(filepath.Join(mnt, "etc/passwd")); err != nil {
				t.Errorf("etc/passwd: %v", err)
			}
			if _, err := os.Lstat(filepath.Join(mnt, "bin/sh")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("bin/sh whited out, but Lstat says %v", err)
			}

			// A daemon: named aufsmount, its own session, no terminal.
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(b)) != "aufsmount" {
				t.Errorf("serving process named %q", b)
			}
			if sid, _ := unix.Getsid(pid); sid != pid {
				t.Errorf("serving process in session %d, want its own (%d)", sid, pid)
			}
			for fd := 0; fd <= 2; fd++ {
				if target, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd)); target != "/dev/null" {
					t.Errorf("serving process fd %d is %q, want /dev/null", fd, target)
				}
			}

			mustFail(t, 1, []string{"already a mount point", "fuse.aufsmount"}, "--root", s.Root, "busybox", mnt)

			mustSucceed(t, nil, "umount", mnt)
			if _, ok := mountAt(t, mnt); ok {
				t.Errorf("%s still mounted after umount", mnt)
			}
			waitFor(t, "the serving process to exit after umount", func() bool { return gone(pid) })
			mustFail(t, 1, []string{"not an aufsmount mount"}, "umount", mnt)
		})
	}
}

func TestMountAllowOtherAndLog(t *testing.T) {
	needFUSE(t)
	testenv.Root(t, "allow_other without user_allow_other in /etc/fuse.conf")
	s := writeSample(t, layerstore.LayoutCAS)
	logFile := filepath.Join(t.TempDir(), "log")
	mnt, pid := mountDaemon(t, s.Root, "busybox", "-o", "ro,allow_other", "--debug", "--log", logFile)
	if m, _ := mountAt(t, mnt); !strings.Contains(m.SuperOptions, "allow_other") {
		t.Errorf("-o allow_other: super options %q", m.SuperOptions)
	}
	if _, err := os.ReadFile(filepath.Join(mnt, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	// --debug logs FUSE traffic to --log when in the background.
	if b, err := os.ReadFile(logFile); err != nil || !bytes.Contains(b, []byte("passwd")) {
		t.Errorf("--debug --log: log holds %d bytes (%v), no trace of the read of passwd", len(b), err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SIGTERM to unmount", func() bool { _, ok := mountAt(t, mnt); return !ok })
	waitFor(t, "the serving process to exit on SIGTERM", func() bool { return gone(pid) })
}

func TestMountForegroundSignals(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutGraph)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			mnt := t.TempDir()
			var stderr bytes.Buffer
			cmd := exec.Command(binary, "-f", "--root", s.Root, "web", mnt)
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				if _, ok := mountAt(t, mnt); ok {
					syscall.Unmount(mnt, syscall.MNT_DETACH)
				}
			})
			waitFor(t, "the foreground mount", func() bool { _, ok := mountAt(t, mnt); return ok })
			// The container's own layer is on top.
			if b, err := os.ReadFile(filepath.Join(mnt, "tmp/scratch")); err != nil || string(b) != "x" {
				t.Errorf("tmp/scratch: %q, %v", b, err)
			}
			cmd.Process.Signal(sig)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("aufsmount -f after %v: %v; stderr %q", sig, err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("aufsmount -f did not exit on %v", sig)
			}
			if _, ok := mountAt(t, mnt); ok {
				t.Errorf("still mounted after %v", sig)
			}
		})
	}
}

func TestUmountStale(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutCAS)
	mnt, pid := mountDaemon(t, s.Root, "busybox")
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the serving process to die", func() bool { return gone(pid) })
	// The view is dead: reading it fails (ENOTCONN, ECONNABORTED or EIO,
	// depending on what was in flight; a stat may still answer from the
	// kernel's attribute cache).
	if _, err := os.ReadDir(mnt); err == nil {
		t.Fatalf("reading a mount whose daemon died: no error")
	}
	mustSucceed(t, nil, "umount", mnt)
	if _, ok := mountAt(t, mnt); ok {
		t.Errorf("stale mount %s still there after umount", mnt)
	}
}

func TestUmountBusy(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutCAS)
	mnt, pid := mountDaemon(t, s.Root, "user/app:v2")
	f, err := os.Open(filepath.Join(mnt, "etc/motd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := aufsmount(t, nil, "unmount", mnt)
	if r.code != 0 || !strings.Contains(r.stderr, "busy") {
		t.Fatalf("unmount of a busy view: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, ok := mountAt(t, mnt); ok {
		t.Errorf("busy view not detached")
	}
	// Detached, not torn down: the open file still reads, until closed.
	b := make([]byte, 16)
	if n, err := f.Read(b); err != nil || string(b[:n]) != "hello\n" {
		t.Errorf("reading an open file after a lazy unmount: %q, %v", b[:n], err)
	}
	if gone(pid) {
		t.Errorf("the serving process exited while a file of its view was open")
	}
	f.Close()
	waitFor(t, "the serving process to exit once its last file closed", func() bool { return gone(pid) })
}

// Errors found before mounting come back from the background process to
// the command, which exits 1; none needs FUSE.
func TestMountErrors(t *testing.T) {
	s := writeSample(t, layerstore.LayoutCAS)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fg := range [][]string{nil, {"-f"}} {
		base := append([]string{"--root", s.Root}, fg...)
		mustFail(t, 1, []string{"busybx: not found"}, append(base, "busybx", dir)...)
		mustFail(t, 1, []string{filepath.Join(dir, "missing") + ": mount point does not exist"}, append(base, "busybox", filepath.Join(dir, "missing"))...)
		mustFail(t, 1, []string{file + ": mount point is not a directory"}, append(base, "mount", "busybox", file)...)
		mustFail(t, 1, []string{"inside the store"}, append(base, "busybox", filepath.Join(s.Root, "aufs"))...)
		mustFail(t, 1, []string{"/proc: already a mount point"}, append(base, "busybox", "/proc")...)
	}
	if os.Geteuid() != 0 {
		mustFail(t, 1, []string{"allow_root needs"}, "--root", s.Root, "-o", "allow_root", "busybox", dir)
	}
}

// A daemon that stops answering must not stop umount.
func TestUmountHung(t *testing.T) {
	needFUSE(t)
	s := writeSample(t, layerstore.LayoutGraph)
	mnt, pid := mountDaemon(t, s.Root, "busybox")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	start := time.Now()
	mustSucceed(t, nil, "umount", mnt)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("umount of a hung view took %v", d)
	}
	if _, ok := mountAt(t, mnt); ok {
		t.Errorf("hung view %s still mounted after umount", mnt)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	waitFor(t, "the serving process to exit once resumed", func() bool { return gone(pid) })
}
