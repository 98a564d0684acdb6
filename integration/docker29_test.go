//go:build docker29

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestDocker29Engine needs a Docker 29 engine that takes about ten minutes
// to build here (stores.md section 8), so it is not part of make test:
// run it with
//
//	AUFSMOUNT_DOCKER29=DIR go test -tags docker29 -run TestDocker29Engine ./integration/
//
// where DIR holds Docker 29's dockerd and containerd 2.4's containerd and
// containerd-shim-runc-v2. make test's containerd tests use Debian's
// containerd 1.6 and a fixture of a Docker 29 root.

// TestDocker29Engine has a Docker 29 engine (stores.md section 8; its
// dockerd, containerd 2 and shim in the directory $AUFSMOUNT_DOCKER29)
// load an archive and create a container, as a fresh install keeps them:
// images in namespace moby of the containerd it starts under
// <root>/containerd/daemon. The image and the container, read from the
// Docker root, must be what Docker's containerd's own mount plans show.
func TestDocker29Engine(t *testing.T) {
	testenv.FUSE(t)
	dockerd := docker29Dockerd(t)
	testenv.Tool(t, "ctr")
	docker := testenv.Tool(t, "docker")
	archive := writeEngineArchive(t, writeEngineRootfs(t, requireStaticBusybox(t)), buildXattrHelper(t))
	e := startEngine(t, dockerd, docker, "overlayfs")
	e.docker("load", "-i", archive)
	cid := strings.TrimSpace(e.docker("create", "--name", engineMade, engineLoaded, "sh"))
	cd := &cdEngine{t: t, sock: filepath.Join(e.dir, "exec", "containerd", "containerd.sock")}
	var top string
	for _, l := range strings.Split(cd.ctr("moby", "snapshots", "ls"), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == cid+"-init" {
			top = f[1]
		}
	}
	if top == "" {
		t.Fatalf("no snapshot %s-init in ctr -n moby snapshots ls", cid)
	}
	plans := map[string][]string{engineLoaded: cd.viewPlan("moby", "overlayfs", top), engineMade: cd.plan("moby", "overlayfs", cid)}
	e.stop()
	if _, err := os.Stat(filepath.Join(e.root, "containerd", "daemon", "io.containerd.metadata.v1.bolt", "meta.db")); err != nil {
		t.Fatalf("Docker 29 kept its images elsewhere: %v", err)
	}
	if stdout, stderr, code := run(t, "--root", e.root, "verify", engineLoaded); code != 0 || !strings.Contains(stdout, "OK            image "+engineLoaded) {
		t.Errorf("verify: exit %d:\n%s%s", code, stdout, stderr)
	}
	for ref, plan := range plans {
		theirs := kernelTree(t, plan)
		ours := walk(t, mountRef(t, e.root, ref))
		if ref == engineMade {
			if !hasPath(ours, ".dockerenv") {
				t.Errorf("%s: no .dockerenv of its init layer", ref)
			}
			// Docker binds /etc/hostname, hosts and resolv.conf over the
			// init layer's: the view shows the container's own files.
			for _, f := range []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"} {
				delete(theirs, f)
				delete(ours, f)
			}
		}
		if diffs := diffTrees(theirs, ours, kernelOwn); len(diffs) > 0 {
			t.Errorf("%s: Docker's containerd's mount (want) and aufsmount (got) differ:\n%s", ref, strings.Join(head(diffs, 30), "\n"))
		}
	}
}

// docker29Dockerd is Docker 29's dockerd in $AUFSMOUNT_DOCKER29, that
// directory put first in PATH: dockerd starts the containerd it finds
// first.
func docker29Dockerd(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("AUFSMOUNT_DOCKER29")
	testenv.Require(t, bin != "", "AUFSMOUNT_DOCKER29 names no directory with Docker 29's dockerd, containerd 2 and containerd-shim-runc-v2")
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return filepath.Join(bin, "dockerd")
}
