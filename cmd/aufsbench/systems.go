package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/layerstore"
)

// system is one way of mounting an image of the store.
type system struct {
	name    string
	bin     string                        // aufsmount's binary
	mount   func(image, mnt string) error // image: "a" or "b"
	unmount func(mnt string) error
}

// kernelOverlay mounts lowers[image] with the kernel's overlayfs, from
// the directory home when it is set (Docker mounts overlay2 chains by
// their l/ names, relative to the driver's home).
func kernelOverlay(lowers map[string]string, home string) system {
	return system{
		name: "kernel overlayfs",
		mount: func(image, mnt string) error {
			if home != "" {
				wd, err := os.Getwd()
				if err != nil {
					return err
				}
				if err := os.Chdir(home); err != nil {
					return err
				}
				defer os.Chdir(wd)
			}
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

// aufsmountKernel mounts with the kernel path (package kernelview): a
// process of its own, as the command would be, that resolves the
// reference, scans the layers, writes the shims, mounts and exits; its
// mount time includes all of that. (Once the command takes --kernel,
// this can run bin --kernel instead.)
func aufsmountKernel(root string) system {
	self, _ := os.Executable()
	return system{
		name: "aufsmount --kernel",
		mount: func(image, mnt string) error {
			return runQuiet(self, kernelMountCmd, root, "bench:"+image, mnt)
		},
		unmount: func(mnt string) error { return kernelview.Unmount(mnt) },
	}
}

// kernelMountCmd is the hidden first argument that makes aufsbench the
// kernel path's mounting process.
const kernelMountCmd = "__kernel-mount"

// kernelMount is that process: mount ref of the store at root on mnt,
// print the plan's figures as JSON on stdout.
func kernelMount(root, ref, mnt string) error {
	s, err := layerstore.Open(root)
	if err != nil {
		return err
	}
	t, err := s.Resolve(ref)
	if err != nil {
		return err
	}
	if _, err := s.RecoverMarkers(t); err != nil {
		return err
	}
	var layers []fs.Layer
	for _, l := range t.Stack {
		layers = append(layers, fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers})
	}
	m, err := kernelview.Mount(mnt, layers, kernelview.Options{Source: ref})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(kernelFigures{
		Layers: m.Layers, Shims: m.Shims, Whiteouts: m.Whiteouts, Hidden: m.Hidden, Opaque: m.Opaque, Copied: len(m.Copied),
		PrepareMS: ms(m.Prepare), BuildMS: ms(m.Build), MountMS: ms(m.Mount),
	})
}

// kernelFigures are what the kernel path's mounting process reports.
type kernelFigures struct {
	Layers, Shims, Whiteouts, Hidden, Opaque, Copied int
	PrepareMS, BuildMS, MountMS                      float64
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lastKernel holds the figures of the last kernel mount.
var lastKernel kernelFigures

func runQuiet(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()+errb.String()))
	}
	if len(args) > 0 && args[0] == kernelMountCmd {
		if err := json.Unmarshal(out.Bytes(), &lastKernel); err != nil {
			return fmt.Errorf("the kernel mount's figures: %v: %q", err, out.String())
		}
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
