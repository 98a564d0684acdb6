package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestHostFilesystem: --root on a host's filesystem finds every store at
// its standard place or where the host's configuration moved it (Docker's
// data-root, behind a symlink that points inside the host; Podman's
// rootful graphroot; a user's rootless one), lists them with a STORE
// column, resolves names unique across them, says which are ambiguous,
// narrows with --store, and mounts each view as its own store shows it.
func TestHostFilesystem(t *testing.T) {
	testenv.FUSE(t)
	host := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, s *st.Store, layout layerstore.Layout) {
		t.Helper()
		if _, err := s.Write(filepath.Join(host, rel), layout); err != nil {
			t.Fatalf("writing %s: %v", rel, err)
		}
	}
	base := l(st.F("etc/os-release", "ID=test\n"), st.F("bin/sh", "sh").WithMode(0o755))
	web := l(st.F("srv/index.html", "docker\n"))
	app := l(st.F("app/main", "podman\n"))
	tool := l(st.F("usr/bin/tool", "alice\n"))

	// Docker's data-root is /data/docker (daemon.json), reached through
	// the host's absolute symlink /data -> /mnt/disk2: both resolved
	// inside the host, never on this machine.
	must(os.MkdirAll(filepath.Join(host, "etc/docker"), 0o755))
	must(os.WriteFile(filepath.Join(host, "etc/docker/daemon.json"), []byte(`{"data-root": "/data/docker"}`), 0o644))
	must(os.MkdirAll(filepath.Join(host, "mnt/disk2"), 0o755))
	must(os.Symlink("/mnt/disk2", filepath.Join(host, "data")))
	must(os.MkdirAll(filepath.Join(host, "var/lib"), 0o755))
	webImg := &st.Image{Names: []string{"web:1"}, Layers: []*st.Layer{base, web}}
	shared := &st.Image{Names: []string{"shared:1"}, Layers: []*st.Layer{base}}
	write("mnt/disk2/docker", &st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{webImg, shared},
		Containers: []*st.Container{{Name: "webc", Image: webImg}}}, layerstore.LayoutCAS)

	appImg := &st.Image{Names: []string{"app:1"}, Layers: []*st.Layer{base, app}}
	shared2 := &st.Image{Names: []string{"shared:1"}, Layers: []*st.Layer{base}}
	write("var/lib/containers/storage", &st.Store{Kind: st.KindContainersStorage, Driver: st.DriverOverlay,
		Images: []*st.Image{appImg, shared2}, Containers: []*st.Container{{Name: "appc", Image: appImg,
			Volumes: []st.Volume{{Name: "cache", Dest: "/app/cache", Files: []st.Entry{st.F("hit", "1")}}}}}}, layerstore.LayoutContainers)

	toolImg := &st.Image{Names: []string{"tool:1"}, Layers: []*st.Layer{base, tool}}
	write("home/alice/.local/share/containers/storage", &st.Store{Kind: st.KindContainersStorage, Driver: st.DriverVFS, Rootless: true,
		Images: []*st.Image{toolImg}}, layerstore.LayoutContainers)
	// A containerd root that is not one: found, and said to be unread.
	must(os.MkdirAll(filepath.Join(host, "var/lib/containerd"), 0o755))

	out, stderr, code := run(t, "--root", host, "images", "--format", "{{.Store}} {{.Repository}}:{{.Tag}}")
	if code != 0 {
		t.Fatalf("images: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := map[string]bool{"docker web:1": true, "docker shared:1": true, "podman localhost/app:1": true,
		"podman localhost/shared:1": true, "podman:alice localhost/tool:1": true}
	if len(lines) != len(want) {
		t.Errorf("images lists %q, want %d lines", lines, len(want))
	}
	for _, line := range lines {
		if !want[line] {
			t.Errorf("images lists %q, which is none of %v", line, want)
		}
	}
	if !strings.Contains(stderr, "aufsmount: note: store containerd ("+filepath.Join(host, "var/lib/containerd")+") found, not read: ") {
		t.Errorf("images does not say the containerd root was found and not read:\n%s", stderr)
	}
	out, _, _ = run(t, "--root", host, "images")
	if !strings.HasPrefix(out, "STORE ") {
		t.Errorf("images has no STORE column first:\n%s", out)
	}
	out, _, code = run(t, "--root", host, "ps", "-a", "--format", "{{.Store}} {{.Names}}")
	if code != 0 || strings.TrimSpace(out) != "docker webc\npodman appc" && strings.TrimSpace(out) != "podman appc\ndocker webc" {
		t.Errorf("ps -a: exit %d:\n%s", code, out)
	}

	checkFile := func(mnt, p, want string) {
		t.Helper()
		if data, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(data) != want {
			t.Errorf("%s: %s = %q, %v; want %q", mnt, p, data, err, want)
		}
	}
	// Unique names mount from their store; the view is that store's.
	checkFile(mountRef(t, host, "web:1"), "srv/index.html", "docker\n")
	checkFile(mountRef(t, host, "app:1"), "app/main", "podman\n")
	checkFile(mountRef(t, host, "tool:1"), "usr/bin/tool", "alice\n")
	checkFile(mountRef(t, host, "webc"), "srv/index.html", "docker\n")
	checkFile(mountRef(t, host, "appc"), "app/main", "podman\n")
	checkFile(mountRef(t, host, "appc"), "app/cache/hit", "1")
	// inspect names the volume where its own store keeps it.
	out, stderr, code = run(t, "--root", host, "inspect", "--format", "{{range .Mounts}}{{.Source}}{{end}}", "appc")
	if want := filepath.Join(host, "var/lib/containers/storage/volumes/cache/_data") + "\n"; code != 0 || out != want {
		t.Errorf("inspect appc: Mounts' Source %q (exit %d: %s), want %q", out, code, stderr, want)
	}

	// shared:1 is in both: ambiguous, and --store picks one.
	_, stderr, code = run(t, "--root", host, "layers", "shared:1")
	if code == 0 || !strings.Contains(stderr, "shared:1: ambiguous") || !strings.Contains(stderr, "(docker, overlay2)") ||
		!strings.Contains(stderr, "(podman, overlay)") || !strings.Contains(stderr, "name the store with --store") {
		t.Errorf("layers shared:1: exit %d: %s", code, stderr)
	}
	out, stderr, code = run(t, "--root", host, "--store", "podman", "layers", "shared:1")
	if code != 0 || !strings.Contains(out, "/var/lib/containers/storage/overlay/") {
		t.Errorf("--store podman layers shared:1: exit %d: %s%s", code, out, stderr)
	}
	_, stderr, code = run(t, "--root", host, "--store", "nosuch", "images")
	if code == 0 || !strings.Contains(stderr, `no store "nosuch" here (it has containerd, docker, podman, podman:alice)`) {
		t.Errorf("--store nosuch: exit %d: %s", code, stderr)
	}

	// mount-all: each store's views under its name.
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", host, "mount-all", all); code != 0 {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	checkFile(filepath.Join(all, "docker"), "images/web:1/srv/index.html", "docker\n")
	checkFile(filepath.Join(all, "podman"), "images/localhost/app:1/app/main", "podman\n")
	checkFile(filepath.Join(all, "podman:alice"), "images/localhost/tool:1/usr/bin/tool", "alice\n")
	checkFile(filepath.Join(all, "podman"), "containers/appc/app/main", "podman\n")
}
