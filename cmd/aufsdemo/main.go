// Command aufsdemo shows aufsmount at work, as a terminal session, on a
// sample Docker store it writes itself with the storetest builder: a
// debian:jessie-like base, app:v1 and app:v2 built on it, and a stopped
// container of app:v1, in the 1.10+ layout, then the same store in the
// pre-1.10 layout, overlay2, a lossy copy, a saved archive and an
// oci-archive, a Podman store, and a Kubernetes node's containerd root.
// It lists the store, mounts the images and the container, looks inside,
// diffs the two images, and unmounts everything, also when it fails or is
// interrupted. It needs root (the store has device nodes and files of
// other owners) and /dev/fuse.
//
// make demo runs it from the repository root after building bin/aufsmount.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

const module = "github.com/aufsmount/aufsmount"

func main() {
	os.Exit(run())
}

func run() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "aufsdemo: run me as root: the sample store has device nodes and files of other owners, and the mounts need /dev/fuse")
		return 1
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		fmt.Fprintln(os.Stderr, "aufsdemo: /dev/fuse is missing: load the fuse module (modprobe fuse), or in a container pass --device /dev/fuse")
		return 1
	}
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aufsdemo:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "aufsdemo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "aufsdemo:", err)
		return 1
	}
	s := &session{bin: filepath.Join(repo, "bin", "aufsmount"), dir: dir, out: os.Stdout}

	// Signals: wait for the command under way (children are in their own
	// process group, so a Ctrl-C reaches only us), then clean up.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "\naufsdemo: %v: unmounting and cleaning up\n", sig)
		s.stopping.Store(true)
		s.cmdMu.Lock()
		s.cleanup()
		os.Exit(1)
	}()

	err = s.demo(repo)
	s.cmdMu.Lock() // a signal arriving now must not clean up twice at once
	if cerr := s.cleanup(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aufsdemo:", err)
		return 1
	}
	return 0
}

// repoRoot finds the checkout from the working directory: make runs us
// from its root, but any directory inside it will do.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+module)) {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("%s is not inside the aufsmount checkout (no go.mod of %s above it)", dir, module)
		}
	}
}

func (s *session) demo(repo string) error {
	if _, err := os.Stat(s.bin); err != nil {
		fmt.Fprintln(s.out, "# bin/aufsmount is missing: building it")
		build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", s.bin, "./cmd/aufsmount")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building %s: %w", s.bin, err)
		}
	}

	store, v1, _ := sampleStore()
	b, err := store.Write(filepath.Join(s.dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		return fmt.Errorf("writing the sample store: %w", err)
	}
	s.comment("A Docker store (aufs driver, 1.10+ layout) written by the storetest builder:\n" +
		"debian:jessie, app:v1 and app:v2 built on it, and a stopped container of app:v1.")
	fmt.Fprintf(s.out, "$ cd %s\n", s.dir)
	s.sh(0, "aufsmount", "--root", "docker", "images")
	s.sh(0, "aufsmount", "--root", "docker", "containers")
	s.sh(0, "aufsmount", "--root", "docker", "layers", "app:v1")
	s.mkdirs("v1", "v2", "web", "v1-old")
	s.mount("docker", "app:v1", "v1")
	s.mount("docker", "app:v2", "v2")

	s.comment("The view is the image: app:v1 removed /etc/motd and replaced /var/cache/apt.")
	s.sh(0, "ls", "-la", "v1/etc", "v1/var/cache/apt")
	s.sh(0, "ls", "-la", "v1/opt/app")
	s.sh(0, "cat", "v1/opt/app/config.yml")
	s.comment("Hard links, symlinks, devices and setuid bits are as the layer has them.")
	s.sh(0, "ls", "-li", "v1/bin", "v1/usr/bin/vi", "v1/dev/null")
	s.showXattrs(map[string]string{
		"v1/bin/ping":           filepath.Base(b.LayerDir(v1, 0)),
		"v1/opt/app/config.yml": filepath.Base(b.LayerDir(v1, 2)),
	}, "v1/bin/ping", "v1/opt/app/config.yml", "v1/etc")

	s.comment("What changed from app:v1 to app:v2 (diff exits 1: they differ):")
	s.sh(1, "diff", "-r", "--no-dereference", "v1", "v2")

	s.comment("A container: its writable layer over its init layer over app:v1.")
	s.mount("docker", "web", "web")
	s.sh(0, "cat", "web/var/log/app.log")
	s.sh(1, "diff", "-r", "--no-dereference", "v1", "web")

	s.comment("The same store in the pre-1.10 layout gives the same tree: diff says nothing.\n" +
		"(-x dev: GNU diff calls two device nodes different when their ctimes differ,\n" +
		"and the two stores were not written in the same second.)")
	s.step(func() error {
		old, _, _ := sampleStore()
		if _, err := old.Write(filepath.Join(s.dir, "docker-1.9"), layerstore.LayoutGraph); err != nil {
			return fmt.Errorf("writing the pre-1.10 sample store: %w", err)
		}
		return nil
	})
	s.sh(0, "aufsmount", "--root", "docker-1.9", "images")
	s.mount("docker-1.9", "app:v1", "v1-old")
	s.sh(0, "diff", "-r", "--no-dereference", "-x", "dev", "v1", "v1-old")

	s.comment("The same images in an overlay2 store, as most hosts have them today: whiteouts are\n" +
		"0/0 character devices and opaque directories an xattr. The view is the same tree.")
	var o2Base string // the base layer's directory in the overlay2 store, relative
	s.step(func() error {
		o2, _, o2v2 := sampleStore()
		o2.Driver = st.DriverOverlay2
		ob, err := o2.Write(filepath.Join(s.dir, "docker-overlay2"), layerstore.LayoutCAS)
		if err != nil {
			return fmt.Errorf("writing the overlay2 sample store: %w", err)
		}
		chain := ob.Chain[o2v2]
		o2Base, err = filepath.Rel(s.dir, chain[len(chain)-1])
		return err
	})
	s.sh(0, "aufsmount", "--root", "docker-overlay2", "layers", "app:v1")
	s.mkdirs("v1-overlay2")
	s.mount("docker-overlay2", "app:v1", "v1-overlay2")
	s.sh(0, "diff", "-r", "--no-dereference", "-x", "dev", "v1", "v1-overlay2")

	s.comment("A copy of the store made without -a and handed to another user (cp -r, then\n" +
		"chown -R) lost owners, modes, times, xattrs, devices and hard links. The image\n" +
		"layers' tar-splits still record them: the view of the copy is the image's, and\n" +
		"says what it restored. -o as-is shows the copy itself.")
	s.sh(0, "bash", "-c", "cp -r docker-overlay2 docker-copy && chown -R 1000:1000 docker-copy")
	s.mkdirs("v1-copy", "v1-copy-as-is")
	s.mount("docker-copy", "app:v1", "v1-copy")
	s.mount("docker-copy", "app:v1", "v1-copy-as-is", "-o", "as-is")
	s.sh(0, "ls", "-ln", "--time-style=+%F", "v1-overlay2/bin", "v1-copy/bin", "v1-copy-as-is/bin")
	s.comment("verify tells a copy's losses from changes: exit 3, the contents intact.")
	s.sh(3, "aufsmount", "--root", "docker-copy", "verify", "app:v1")

	s.comment("verify rebuilds each image layer's original tar from the tar-split Docker kept\n" +
		"of it, without writing it anywhere, and checks it against the layer's diff id.\n" +
		"A file changed in place since the image was pulled is found, with its layer.")
	s.sh(0, "aufsmount", "--root", "docker-overlay2", "verify", "app:v2")
	s.step(func() error {
		return s.command(0, "bash", "-c", "printf X | dd of="+shellQuote(o2Base+"/etc/passwd")+" bs=1 conv=notrunc status=none")
	})
	s.sh(1, "aufsmount", "--root", "docker-overlay2", "verify", "app:v2")

	s.comment("save writes what docker save writes, the layers as their original streams, so\n" +
		"docker load on any host gives the image its id back; the aufs image is one no\n" +
		"current engine can start in place.")
	s.sh(0, "aufsmount", "--root", "docker", "save", "-o", "app-v1.tar", "app:v1")
	s.sh(0, "bash", "-c", "tar -tf app-v1.tar | sort | head -n 12")

	s.comment("An archive is a store of its own: --root FILE reads a docker save, an oci-archive\n" +
		"or an OCI layout, and mounts its images from their layer streams, never extracted\n" +
		"(gzip and zstd layers too: one pass indexes each, cached for the next mount).\n" +
		"A reference can also name its archive as skopeo does: docker-archive:FILE:NAME:TAG.")
	s.step(func() error {
		_, v1, v2 := sampleStore()
		_, err := (&st.Archive{Kind: st.OCIArchive, Compression: "gzip", Images: []*st.Image{v1, v2}}).Write(filepath.Join(s.dir, "app.oci.tar"))
		if err != nil {
			return fmt.Errorf("writing the sample oci-archive: %w", err)
		}
		return nil
	})
	s.sh(0, "aufsmount", "--root", "app.oci.tar", "images")
	s.sh(0, "aufsmount", "--root", "app.oci.tar", "layers", "app:v2")
	s.mkdirs("v1-saved", "v2-oci")
	s.mount("", "docker-archive:app-v1.tar:app:v1", "v1-saved")
	s.mount("app.oci.tar", "app:v2", "v2-oci")
	s.sh(0, "diff", "-r", "--no-dereference", "-x", "dev", "v1", "v1-saved")
	s.sh(0, "diff", "-r", "--no-dereference", "-x", "dev", "v2", "v2-oci")

	s.comment("A host that switched from aufs to overlay2 keeps both trees in one root.\n" +
		"The listings say whose each image is; a name both have needs --driver.")
	s.step(func() error {
		old, _, _ := sampleStore()
		if _, err := old.Write(filepath.Join(s.dir, "docker-mixed"), layerstore.LayoutCAS); err != nil {
			return fmt.Errorf("writing the mixed store: %w", err)
		}
		cur, _, _ := sampleStore()
		cur.Driver, cur.Containers = st.DriverOverlay2, nil
		cur.Images = cur.Images[len(cur.Images)-1:]
		cur.Images[0].Names = []string{"app:v2", "app:latest"}
		if _, err := cur.Write(filepath.Join(s.dir, "docker-mixed"), layerstore.LayoutCAS); err != nil {
			return fmt.Errorf("writing the mixed store's overlay2 images: %w", err)
		}
		return nil
	})
	s.sh(0, "aufsmount", "--root", "docker-mixed", "images")
	s.mkdirs("mixed-v2", "mixed-all")
	s.sh(1, "aufsmount", "--root", "docker-mixed", "app:v2", "mixed-v2")
	s.mount("docker-mixed", "app:v2", "mixed-v2", "--driver", "overlay2")
	s.step(func() error {
		s.mu.Lock()
		s.mounts = append(s.mounts, filepath.Join(s.dir, "mixed-all"))
		s.mu.Unlock()
		return s.command(0, "aufsmount", "--root", "docker-mixed", "mount-all", "mixed-all")
	})
	s.sh(0, "ls", "mixed-all", "mixed-all/aufs/images", "mixed-all/overlay2/images")

	s.comment("The same images and container in a Podman store (containers/storage, overlay\n" +
		"driver), as podman load would have named them: localhost/app:v1 ... A short name\n" +
		"is found as podman finds it, and the view is the same tree.")
	s.step(func() error {
		pm, _, _ := sampleStore()
		pm.Kind, pm.Driver = st.KindContainersStorage, st.DriverOverlay
		if _, err := pm.Write(filepath.Join(s.dir, "containers-storage"), layerstore.LayoutContainers); err != nil {
			return fmt.Errorf("writing the Podman sample store: %w", err)
		}
		return nil
	})
	s.sh(0, "aufsmount", "--root", "containers-storage", "images")
	s.sh(0, "aufsmount", "--root", "containers-storage", "ps", "-a")
	s.mkdirs("v1-podman", "web-podman")
	s.mount("containers-storage", "app:v1", "v1-podman")
	s.sh(0, "diff", "-r", "--no-dereference", "-x", "dev", "v1", "v1-podman")
	s.mount("containers-storage", "web", "web-podman")
	s.sh(0, "cat", "web-podman/var/log/app.log")
	s.sh(0, "aufsmount", "--root", "containers-storage", "verify", "localhost/app:v2")

	s.comment("A Kubernetes node's containerd root (namespace k8s.io, a pod with its sandbox)\n" +
		"beside plain ctr use (namespace default). Images are named as containerd names them;\n" +
		"a pod's container by its pod, its sandbox shown with -a only, as crictl does.")
	s.step(func() error {
		_, v1, _ := sampleStore()
		app := &st.CDImage{Names: []string{"docker.io/library/app:v1"}, Layers: v1.Layers}
		pause := &st.CDImage{Names: []string{"registry.k8s.io/pause:3.9"}, Layers: []*st.Layer{st.NewLayer("", st.F("pause", "\x7fELF pause").WithMode(0755))}}
		k8s := &st.CDNamespace{Name: "k8s.io", Images: []*st.CDImage{app, pause}, Containers: []*st.CDContainer{
			{ID: strings.Repeat("5a", 32), Image: pause, Labels: st.PodLabels("prod", "shop-7f9c", "")},
			{ID: strings.Repeat("7c", 32), Image: app, Labels: st.PodLabels("prod", "shop-7f9c", "web"),
				RW: st.NewLayer("", st.F("var/log/app.log", "2016-04-23 09:12:01 serving on :8080 (pod shop-7f9c)\n"))},
		}}
		def := &st.CDNamespace{Name: "default", Images: []*st.CDImage{app}}
		_, err := (&st.Containerd{Namespaces: []*st.CDNamespace{k8s, def}}).Write(filepath.Join(s.dir, "containerd"))
		if err != nil {
			return fmt.Errorf("writing the containerd sample root: %w", err)
		}
		return nil
	})
	s.sh(0, "aufsmount", "--root", "containerd", "images")
	s.sh(0, "aufsmount", "--root", "containerd", "ps")
	s.sh(0, "aufsmount", "--root", "containerd", "ps", "-a")
	s.mkdirs("web-k8s")
	s.mount("containerd", "prod/shop-7f9c/web", "web-k8s")
	s.sh(0, "cat", "web-k8s/var/log/app.log")
	s.sh(0, "aufsmount", "--root", "containerd", "--namespace", "default", "verify", "app:v1")

	s.comment("Done: unmount everything.")
	for _, m := range []string{"v1", "v2", "web", "v1-old", "v1-overlay2", "v1-copy", "v1-copy-as-is", "v1-saved", "v2-oci", "mixed-v2", "mixed-all", "v1-podman", "web-podman", "web-k8s"} {
		s.sh(0, "aufsmount", "umount", m)
	}
	s.step(s.checkUnmounted)
	return s.err
}
