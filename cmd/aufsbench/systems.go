package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// system is one way of mounting an image of the store.
type system struct {
	name    string
	bin     string                        // aufsmount's binary
	mount   func(image, mnt string) error // image: "a" or "b"
	unmount func(mnt string) error
}

func kernelOverlay(lowers map[string]string) system {
	return system{
		name: "kernel overlayfs",
		mount: func(image, mnt string) error {
			return unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+lowers[image])
		},
		unmount: func(mnt string) error { return unix.Unmount(mnt, 0) },
	}
}

func fuseOverlayfs(lowers map[string]string) system {
	return system{
		name: "fuse-overlayfs",
		mount: func(image, mnt string) error {
			return runQuiet("fuse-overlayfs", "-o", "ro,lowerdir="+lowers[image], mnt)
		},
		unmount: func(mnt string) error { return runQuiet("fusermount3", "-u", mnt) },
	}
}

func aufsmount(bin, root string) system {
	return system{
		name:    "aufsmount",
		bin:     bin,
		mount:   func(image, mnt string) error { return runQuiet(bin, "--root", root, "bench:"+image, mnt) },
		unmount: func(mnt string) error { return runQuiet(bin, "umount", mnt) },
	}
}

func runQuiet(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// mountTimed mounts and returns the time until the mount point answers
// (its device differs from its parent's).
func mountTimed(s system, image, mnt string) (time.Duration, error) {
	var parent unix.Stat_t
	if err := unix.Stat(filepath.Dir(mnt), &parent); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := s.mount(image, mnt); err != nil {
		return 0, err
	}
	for {
		var st unix.Stat_t
		if unix.Stat(mnt, &st) == nil && st.Dev != parent.Dev {
			return time.Since(start), nil
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("%s: %s did not answer within 30 s", s.name, mnt)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// timed runs a shell command and returns its wall time; exit status 1 is
// fine (grep finding nothing, diff finding differences).
func timed(script string) (time.Duration, string, error) {
	cmd := exec.Command("bash", "-c", script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return d, "", fmt.Errorf("%s: %v: %s", script, err, strings.TrimSpace(errb.String()))
	}
	return d, out.String(), nil
}

// servingPid finds the aufsmount process serving mnt.
func servingPid(mnt string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) != "aufsmount" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, a := range strings.Split(string(cmdline), "\x00") {
			if a == mnt {
				return pid
			}
		}
	}
	return 0
}

// statusKB reads a field such as VmHWM or VmRSS of /proc/PID/status, in KiB.
func statusKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}
