package storetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"golang.org/x/sys/unix"
)

// podmanStore is a store with two images sharing a base (one with an
// opaque directory and whiteouts over it), a container that changed
// files, and one with a named volume.
func podmanStore(driver string, mountProgram bool, runRoot string) (*Store, *Image, *Image, *Container, *Container) {
	base := NewLayer("#(nop) ADD file:base in /",
		F("bin/busybox", "bb").WithMode(0755), L("bin/sh", "busybox"),
		F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), F("etc/motd", "hi\n"),
		D("tmp").WithMode(01777), F("home/u/notes", "mine").WithOwner(1000, 1000),
		Mknod("dev/null", CharDev, 1, 3).WithMode(0666), H("bin/sh2", "bin/busybox"))
	app := NewLayer("apt-get install app",
		F("usr/bin/app", "app").WithMode(0755).WithXattr("user.note", "x"),
		OPQ("etc"), F("etc/app.conf", "x=1\n"), WH("home/u"), WH("bin/sh2"))
	img1 := &Image{Names: []string{"localhost/base:1"}, Layers: []*Layer{base}}
	img2 := &Image{Names: []string{"localhost/app:1", "docker.io/library/app:latest"}, Layers: []*Layer{base, {CreatedBy: "#(nop) ENV A=b", Empty: true}, app}, Created: t2001}
	web := &Container{Name: "web", Image: img2, Command: []string{"/bin/sh", "-c", "app"}, Ran: true, Created: t2001,
		RW: NewLayer("", F("root/.ash_history", "ls\n"), WH("etc/app.conf"), WH("bin/busybox"), D("usr/bin").WithMode(0700))}
	db := &Container{Name: "db", Image: img1, Created: t2001,
		Volumes: []Volume{{Name: "data", Dest: "/var/lib/db", Files: []Entry{F("db.sqlite", "rows"), D("logs").WithOwner(70, 70)}}}}
	s := &Store{Kind: KindContainersStorage, Driver: driver, MountProgram: mountProgram, RunRoot: runRoot,
		Images: []*Image{img1, img2}, Containers: []*Container{web, db}}
	return s, img1, img2, web, db
}

// TestContainersStorageAgainstPodman has a real Podman read what Write
// lays out: it lists the images, containers and volumes by their ids and
// names, and mounts each image and container to the view the fixture's
// model says.
func TestContainersStorageAgainstPodman(t *testing.T) {
	testenv.Root(t, "podman with a private root")
	podman := testenv.Tool(t, "podman")
	for _, tc := range []struct {
		name, driver string
		mountProgram bool
		opts         []string
		fsType       int64 // of podman's mounts
	}{
		{"vfs", DriverVFS, false, nil, 0},
		{"overlay", DriverOverlay, false, []string{"--storage-opt", "overlay.mount_program="}, unix.OVERLAYFS_SUPER_MAGIC},
		{"fuse-overlayfs", DriverOverlay, true, []string{"--storage-opt", "overlay.mount_program=" + testenv.Tool(t, "fuse-overlayfs")}, unix.FUSE_SUPER_MAGIC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			// Podman refuses a run root longer than 50 characters.
			run, err := os.MkdirTemp("", "podman-run")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(run) })
			conf := filepath.Join(dir, "containers.conf")
			if err := os.WriteFile(conf, []byte("[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"), 0644); err != nil {
				t.Fatal(err)
			}
			s, img1, img2, web, db := podmanStore(tc.driver, tc.mountProgram, run)
			b, err := s.Write(root, layerstore.LayoutContainers)
			if err != nil {
				t.Fatal(err)
			}
			pm := func(args ...string) string {
				t.Helper()
				full := append([]string{"--root", root, "--runroot", run, "--storage-driver", tc.driver}, tc.opts...)
				cmd := exec.Command(podman, append(full, args...)...)
				cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
				out, err := cmd.Output()
				if err != nil {
					stderr := ""
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = string(ee.Stderr)
					}
					t.Fatalf("podman %v: %v\n%s%s", args, err, out, stderr)
				}
				return strings.TrimSpace(string(out))
			}
			lines := func(s string) []string {
				l := strings.Split(s, "\n")
				slices.Sort(l)
				return l
			}
			wantImages := lines(strings.Join([]string{
				"localhost/base:1 sha256:" + b.ImageID[img1],
				"localhost/app:1 sha256:" + b.ImageID[img2],
				"docker.io/library/app:latest sha256:" + b.ImageID[img2],
			}, "\n"))
			got := lines(pm("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
			if !slices.Equal(got, wantImages) {
				t.Errorf("podman images:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantImages, "\n"))
			}
			wantPs := lines(strings.Join([]string{
				"web " + b.ContainerID[web] + " localhost/app:1 /bin/sh -c app Exited (0)",
				"db " + b.ContainerID[db] + " localhost/base:1 sh Created",
			}, "\n"))
			got = lines(pm("ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.ID}} {{.Image}} {{.Command}} {{.State}}"))
			for i, l := range got {
				// "Exited (0) 25 years ago": how long ago depends on today.
				if j := strings.Index(l, " Exited (0) "); j >= 0 {
					got[i] = l[:j] + " Exited (0)"
				}
			}
			if !slices.Equal(got, wantPs) {
				t.Errorf("podman ps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantPs, "\n"))
			}
			if got, want := pm("volume", "inspect", "--format", "{{.Mountpoint}}", "data"), b.VolumeDir["data"]; got != want {
				t.Errorf("volume mount point %q, want %q", got, want)
			}
			if got, want := pm("inspect", "--format", "{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}", "db"), "data /var/lib/db"; got != want {
				t.Errorf("db's mounts %q, want %q", got, want)
			}
			for _, c := range []*Container{web, db} {
				mnt := pm("mount", c.Name)
				t.Cleanup(func() { pm("umount", c.Name) })
				checkFSType(t, mnt, tc.fsType)
				if err := Compare(mnt, b.ContainerView(c), CompareOptions{SkipLinks: tc.mountProgram}); err != nil {
					t.Errorf("container %s through podman mount: %v", c.Name, err)
				}
			}
			for _, img := range []*Image{img1, img2} {
				mnt := pm("image", "mount", img.Names[0])
				t.Cleanup(func() { pm("image", "umount", img.Names[0]) })
				checkFSType(t, mnt, tc.fsType)
				if err := Compare(mnt, b.View(img), CompareOptions{SkipLinks: tc.mountProgram}); err != nil {
					t.Errorf("image %s through podman image mount: %v", img.Names[0], err)
				}
			}
		})
	}
}

// checkFSType checks that podman mounted mnt with the file system the
// test is about (the kernel's overlayfs, or fuse-overlayfs): it falls
// back to fuse-overlayfs by itself where it finds the kernel's lacking.
func checkFSType(t *testing.T, mnt string, want int64) {
	t.Helper()
	if want == 0 {
		return
	}
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != want {
		t.Errorf("%s is a mount of file system type %#x, want %#x", mnt, st.Type, want)
	}
}
