package integration

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

// podmanStore is a private Podman store run by the test: its own graphroot
// (root), runroot and configuration, as ../shared/docs/stores.md section 8
// of the project's notes says Podman runs on this machine. Nothing of the
// host's /etc/containers or /var/lib/containers is read or written.
type podmanStore struct {
	t                       *testing.T
	bin, dir, root, runroot string
	driver                  string
	storageOpts, env        []string
}

// newPodmanStore makes the directories and configuration of a store with
// driver and storage options; the cleanup unmounts whatever Podman left
// mounted under it, within time limits, so that removing it cannot reach
// through a mount.
func newPodmanStore(t *testing.T, bin, driver string, storageOpts ...string) *podmanStore {
	t.Helper()
	// Not t.TempDir: with a mount_program, Podman refuses a runroot
	// longer than 50 characters.
	dir, err := os.MkdirTemp("", "podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the podman store: %v", err)
		}
	})
	p := &podmanStore{t: t, bin: bin, dir: dir, root: filepath.Join(dir, "root"), runroot: filepath.Join(dir, "run"),
		driver: driver, storageOpts: storageOpts}
	// cgroupfs: no systemd here; the events file in the store's directory,
	// not the journal or /run.
	conf := "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n" +
		"events_logfile_path = \"" + filepath.Join(dir, "events.log") + "\"\n"
	files := map[string]string{
		"containers.conf": conf,
		// The host's is not read; the flags say the same.
		"storage.conf":    fmt.Sprintf("[storage]\ndriver = %q\nrunroot = %q\ngraphroot = %q\n", driver, p.runroot, p.root),
		"registries.conf": "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"disabled\"\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0644); err != nil {
			t.Fatal(err)
		}
	}
	p.env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
		"TMPDIR="+t.TempDir())
	t.Cleanup(p.cleanup) // before the removal
	return p
}

// args is the global options that make every podman command use this
// store alone.
func (p *podmanStore) args() []string {
	a := []string{"--root", p.root, "--runroot", p.runroot, "--tmpdir", filepath.Join(p.dir, "tmp"),
		"--storage-driver", p.driver}
	for _, o := range p.storageOpts {
		a = append(a, "--storage-opt", o)
	}
	return a
}

// podman runs a podman command on the store and returns its standard
// output; a failure, or no end within two minutes, fails the test.
func (p *podmanStore) podman(args ...string) string {
	p.t.Helper()
	out, errb, err := p.try(2*time.Minute, args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errb)
	}
	return out
}

// podmanPath is podman for the commands that print one path.
func (p *podmanStore) podmanPath(args ...string) string {
	p.t.Helper()
	out := strings.TrimSpace(p.podman(args...))
	if !filepath.IsAbs(out) || strings.Contains(out, "\n") {
		p.t.Fatalf("podman %s printed %q, not a path", strings.Join(args, " "), out)
	}
	return out
}

func (p *podmanStore) try(limit time.Duration, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(p.args(), args...)...)
	cmd.Env = p.env
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	if d := time.Since(start); d > 5*time.Second {
		p.t.Logf("podman %s: %v", args[0], d.Round(time.Millisecond))
	}
	return out.String(), errb.String(), err
}

// cleanup unmounts what Podman mounted (its containers' and images'
// roots; the overlay driver's mounts), each try within a time limit, and
// detaches whatever is still mounted under the store's directory.
func (p *podmanStore) cleanup() {
	for _, args := range [][]string{{"umount", "--all", "--force"}, {"image", "umount", "--all", "--force"}} {
		if out, errb, err := p.try(30*time.Second, args...); err != nil {
			p.t.Logf("cleanup: podman %s: %v\n%s%s", strings.Join(args, " "), err, out, errb)
		}
	}
	left := mountsUnder(p.t, p.dir)
	for i := len(left) - 1; i >= 0; i-- {
		forceUnmount(left[i])
	}
	if left := mountsUnder(p.t, p.dir); len(left) > 0 {
		p.t.Errorf("cleanup: still mounted under %s: %q", p.dir, left)
	}
}
