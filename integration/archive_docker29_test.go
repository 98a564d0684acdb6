//go:build docker29

package integration

import (
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestArchiveDocker29Save is TestArchiveDockerSave with a Docker 29
// engine and its containerd image store, whose docker save writes the
// layout of Docker 25 and later (an OCI layout, and manifest.json naming
// its blobs); run it as TestDocker29Engine, with -run TestArchiveDocker29Save.
func TestArchiveDocker29Save(t *testing.T) {
	testenv.FUSE(t)
	dockerd := docker29Dockerd(t)
	docker := testenv.Tool(t, "docker")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	// Its image store keeps no repositories file, nor the old layer
	// directories.
	checkDockerSave(t, startEngine(t, dockerd, docker, "overlayfs"), []string{"manifest.json", "index.json", "oci-layout"}, []string{"repositories"})
}
