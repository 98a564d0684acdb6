package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// mountIn mounts ref of namespace ns of the containerd root at root, as
// mountRef does, and unmounts it when the test ends.
func mountIn(t *testing.T, root, ns, ref string) string {
	t.Helper()
	testenv.FUSE(t)
	mnt := t.TempDir()
	_, stderr, code := run(t, "--root", root, "--namespace", ns, "mount", ref, mnt)
	t.Cleanup(func() { unmountRef(t, mnt) })
	if code != 0 {
		t.Fatalf("aufsmount --namespace %s mount %s: exit %d: %s", ns, ref, code, stderr)
	}
	return mnt
}

// TestContainerdRules mounts every rule case as an image of a containerd
// root written by storetest, and a container over each, and compares the
// whole tree with the model.
func TestContainerdRules(t *testing.T) {
	requireKernelView(t)
	ns := &st.CDNamespace{Name: "default"}
	var imgs []*st.CDImage
	for i, tc := range ruleCases() {
		img := &st.CDImage{Names: []string{fmt.Sprintf("docker.io/test/rule:%d", i)}, Layers: tc.layers}
		imgs = append(imgs, img)
		ns.Images = append(ns.Images, img)
		ns.Containers = append(ns.Containers, &st.CDContainer{ID: fmt.Sprintf("c%d", i), Image: img,
			RW: st.NewLayer("", st.F("ran", "yes"), st.WH("etc"))})
	}
	b, err := (&st.Containerd{Namespaces: []*st.CDNamespace{ns}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			compareView(t, mountRef(t, b.Root, fmt.Sprintf("test/rule:%d", i)), b.View(imgs[i]))
			compareView(t, mountRef(t, b.Root, ns.Containers[i].ID), b.ContainerView(ns.Containers[i]))
			// The kernel path: the same tree.
			checkKernelModel(t, b.Root, refLayers(t, b.Root, fmt.Sprintf("test/rule:%d", i)), b.View(imgs[i]))
			checkKernelModel(t, b.Root, refLayers(t, b.Root, ns.Containers[i].ID), b.ContainerView(ns.Containers[i]))
		})
	}
	// mount-all: each container once, under its id, which is its name.
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", b.Root, "mount-all", all); code != 0 || stderr != "" {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	compareView(t, filepath.Join(all, "images", "test", "rule:0"), b.View(imgs[0]))
	compareView(t, filepath.Join(all, "containers", "c0"), b.ContainerView(ns.Containers[0]))
}

// TestContainerdDocker29 mounts a Docker 29 root's image and container:
// its images in namespace moby of <root>/containerd/daemon, its
// container's config in containers/, with an init snapshot.
func TestContainerdDocker29(t *testing.T) {
	testenv.FUSE(t)
	base := st.NewLayer("base", st.D("etc"), st.F("etc/motd", "hello"), st.F("etc/passwd", "root"))
	img := &st.CDImage{Names: []string{"docker.io/library/app:1"}, Layers: []*st.Layer{base, st.NewLayer("top", st.WH("etc/motd"))}, Index: true}
	ct := &st.CDContainer{ID: strings.Repeat("ab", 32), Image: img, Docker: true,
		Init: st.NewLayer("", st.F(".dockerenv", ""), st.F("etc/hostname", ""), st.F("etc/hosts", ""), st.F("etc/resolv.conf", "")),
		RW:   st.NewLayer("", st.F("etc/new", "n"))}
	docker := filepath.Join(t.TempDir(), "docker")
	b, err := (&st.Containerd{DockerRoot: docker, Namespaces: []*st.CDNamespace{
		{Name: "moby", Images: []*st.CDImage{img}, Containers: []*st.CDContainer{ct}},
		{Name: "default", Images: []*st.CDImage{{Names: []string{"docker.io/library/other:1"}, Layers: []*st.Layer{base}}}},
	}}).Write(filepath.Join(docker, "containerd", "daemon"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "--root", docker, "images")
	if code != 0 || !strings.Contains(stdout, "app ") || strings.Contains(stdout, "other") {
		t.Errorf("images of the Docker root (namespace moby only): exit %d\n%s%s", code, stdout, stderr)
	}
	compareView(t, mountRef(t, docker, "app:1"), b.View(img))
	// Its /etc/hostname ... are Docker's binds of its files.
	c := &st.Container{}
	want := withBindNodes(t, &st.Built{Root: docker, ContainerID: map[*st.Container]string{c: ct.ID}}, c, b.ContainerView(ct))
	compareView(t, mountRef(t, docker, ct.ID[:12]), want)
}

// cdEngine is a private containerd (stores.md section 8).
type cdEngine struct {
	t         *testing.T
	dir, sock string
	cmd       *exec.Cmd
	done      chan error
}

// startContainerd starts containerd with a root of its own in a short
// temporary directory (its socket's path must fit), the CRI plugin off.
func startContainerd(t *testing.T) *cdEngine {
	t.Helper()
	bin := testenv.Tool(t, "containerd")
	testenv.Tool(t, "ctr")
	dir, err := os.MkdirTemp("", "cd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &cdEngine{t: t, dir: dir, sock: filepath.Join(dir, "c.sock"), done: make(chan error, 1)}
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), e.sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	e.cmd = exec.Command(bin, "--config", filepath.Join(dir, "config.toml"))
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	go func() { e.done <- e.cmd.Wait() }()
	t.Cleanup(e.stop)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if _, err := exec.Command("ctr", "-a", e.sock, "version").Output(); err == nil {
			return e
		}
		if time.Since(start) > 30*time.Second {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("containerd: no answer on %s in 30 s:\n%s", e.sock, log)
		}
	}
}

// ctr runs ctr in namespace ns and returns its output.
func (e *cdEngine) ctr(ns string, args ...string) string {
	e.t.Helper()
	out, err := exec.Command("ctr", append([]string{"-a", e.sock, "-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("ctr -n %s %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeSnapshots removes every snapshot of namespace ns, each after
// those whose parent it is (ctr snapshots rm refuses a parent).
func (e *cdEngine) removeSnapshots(ns string) {
	e.t.Helper()
	for range 100 {
		keys, parents := map[string]bool{}, map[string]bool{}
		for _, l := range strings.Split(e.ctr(ns, "snapshots", "ls"), "\n")[1:] {
			if f := strings.Fields(l); len(f) == 3 {
				keys[f[0]], parents[f[1]] = true, true
			}
		}
		if len(keys) == 0 {
			return
		}
		for k := range keys {
			if !parents[k] {
				e.ctr(ns, "snapshots", "rm", k)
			}
		}
	}
	e.t.Fatalf("namespace %s: snapshots remain after 100 rounds of ctr snapshots rm", ns)
}

// stop stops containerd (and the shims of its containers) and waits.
func (e *cdEngine) stop() {
	if e.cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
}

// plan is the tree containerd's own mount plan of key shows (ctr
// snapshots mounts): a bind of one directory is that directory; an
// overlay is mounted read-only by the kernel, its upper directory as the
// top lower one, so that nothing is written.
func (e *cdEngine) plan(ns, snapshotter, key string) []string {
	e.t.Helper()
	return e.planOf(e.ctr(ns, "snapshots", "--snapshotter", snapshotter, "mounts", "/mnt", key))
}

// viewPlan makes a view of the committed snapshot parent and returns its
// mount plan, printed as it is made: an unused view may be collected as
// soon as ctr's lease ends.
func (e *cdEngine) viewPlan(ns, snapshotter, parent string) []string {
	e.t.Helper()
	return e.planOf(e.ctr(ns, "snapshots", "--snapshotter", snapshotter, "view", "-t", "/mnt", "image-view", parent))
}

// planOf parses the mount command ctr prints.
func (e *cdEngine) planOf(out string) []string {
	e.t.Helper()
	line := strings.Fields(out)
	if len(line) < 6 || line[0] != "mount" || line[1] != "-t" {
		e.t.Fatalf("not a mount command of ctr: %q", out)
	}
	if line[2] == "bind" {
		return []string{line[3]}
	}
	var upper string
	var lower []string
	for _, o := range strings.Split(line[len(line)-1], ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "upperdir":
			upper = v
		case "lowerdir":
			lower = strings.Split(v, ":")
		}
	}
	if upper != "" {
		lower = append([]string{upper}, lower...)
	}
	return lower
}

// kernelOwn leaves out of a comparison with a kernel mount what is the
// kernel's own: inode numbers, atimes, and a merged directory's link
// count.
func kernelOwn(p string, w, g *info) {
	w.Ino, g.Ino = 0, 0
	w.Atime, g.Atime = unix.Timespec{}, unix.Timespec{}
	if w.Mode&unix.S_IFMT == unix.S_IFDIR {
		w.Nlink, g.Nlink = 0, 0
	}
}

// kernelTree is the tree of a plan: a lone directory as it is, a stack
// mounted by kernel overlayfs.
func kernelTree(t *testing.T, dirs []string) map[string]info {
	if len(dirs) == 1 {
		return walk(t, dirs[0])
	}
	return walk(t, mountKernelOverlay(t, dirs, false))
}

// TestRealContainerd imports an archive into a private containerd, in two
// namespaces of the overlayfs snapshotter and one of the native one, runs a container that changes files, and checks each image
// and container whole against containerd's own mount plan of it, mounted
// by the kernel; a live containerd is reported as in use, and the store's
// databases are left as they were.
func TestRealContainerd(t *testing.T) {
	testenv.FUSE(t)
	busybox := requireStaticBusybox(t)
	archive := writeEngineArchive(t, writeEngineRootfs(t, busybox), buildXattrHelper(t))
	e := startContainerd(t)
	const ref = "docker.io/" + engineLoaded
	for _, ns := range []string{"default", "k8s.io"} {
		e.ctr(ns, "images", "import", archive)
	}
	e.ctr("native", "images", "import", "--snapshotter", "native", archive)
	// Namespace blobs keeps the image's blobs, its snapshots removed: the
	// view is served from the blobs.
	e.ctr("blobs", "images", "import", archive)
	e.removeSnapshots("blobs")
	e.ctr("default", "run", ref, "ran", "sh", "-c", "echo ran > /ran && rm -rf /opt && echo new > /etc/added")
	var top string
	for _, l := range strings.Split(e.ctr("default", "snapshots", "ls"), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "ran" {
			top = f[1]
		}
	}
	if top == "" {
		t.Fatal("no snapshot ran in ctr snapshots ls")
	}
	plans := map[string][]string{"container": e.plan("default", "overlayfs", "ran")}
	for ns, sn := range map[string]string{"default": "overlayfs", "k8s.io": "overlayfs", "native": "native"} {
		plans[ns] = e.viewPlan(ns, sn, top) // top is a chain id: the same key in each
	}
	root := filepath.Join(e.dir, "root")

	_, stderr, code := run(t, "--root", root, "images")
	if code == 0 || !strings.Contains(stderr, "in use: a live containerd holds it") {
		t.Errorf("images while containerd runs: exit %d: %s", code, stderr)
	}
	e.stop()
	dbs := []string{filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"), filepath.Join(root, "io.containerd.snapshotter.v1.overlayfs", "metadata.db"),
		filepath.Join(root, "io.containerd.snapshotter.v1.native", "metadata.db")}
	before := statAll(t, dbs)

	stdout, stderr, code := run(t, "--root", root, "images")
	if code != 0 || strings.Count(stdout, "test/loaded") != 4 {
		t.Errorf("images: exit %d:\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := run(t, "--root", root, "mount", engineLoaded, t.TempDir()); code == 0 || !strings.Contains(stderr, "ambiguous") {
		t.Errorf("a name of two namespaces: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		ns, ref, plan string
		fromBlobs     bool
	}{
		{"default", engineLoaded, "default", false},
		{"k8s.io", engineLoaded, "k8s.io", false},
		{"native", engineLoaded, "native", false},
		// From its blobs: what the layer tars do not record is left out,
		// the root's mtime too (containerd's is when it unpacked).
		{"blobs", engineLoaded, "default", true},
		{"default", "ran", "container", false},
	} {
		theirs := kernelTree(t, plans[c.plan])
		ours := walk(t, mountIn(t, root, c.ns, c.ref))
		own := kernelOwn
		if c.fromBlobs {
			own = func(p string, w, g *info) {
				kernelOwn(p, w, g)
				tarOwn(p, w, g)
				if p == "" {
					w.Mtime, g.Mtime = unix.Timespec{}, unix.Timespec{}
				}
			}
		}
		if diffs := diffTrees(theirs, ours, own); len(diffs) > 0 {
			t.Errorf("%s of namespace %s: containerd's mount (want) and aufsmount (got) differ:\n%s", c.ref, c.ns, strings.Join(head(diffs, 30), "\n"))
		}
		if c.ref == "ran" && (ours["ran"].Size != 4 || hasPath(ours, "opt") || !hasPath(ours, "etc/added")) {
			t.Errorf("the container's changes are not in its view")
		}
	}
	// verify checks each snapshot against its layer blob; save keeps the
	// image's own manifest, config and layer blobs.
	for _, ns := range []string{"default", "blobs"} { // blobs: each blob against its digest and diff id
		if stdout, stderr, code := run(t, "--root", root, "--namespace", ns, "verify", engineLoaded); code != 0 || !strings.Contains(stdout, "OK            image "+engineLoaded) {
			t.Errorf("verify in namespace %s: exit %d:\n%s%s", ns, code, stdout, stderr)
		}
	}
	inspect, _, _ := run(t, "--root", root, "--namespace", "default", "inspect", "--format", "{{.Id}}", engineLoaded)
	target := strings.TrimPrefix(strings.TrimSpace(inspect), "sha256:")
	archiveOut := filepath.Join(t.TempDir(), "saved.tar")
	if _, stderr, code := run(t, "--root", root, "--namespace", "default", "save", "-o", archiveOut, engineLoaded); code != 0 {
		t.Errorf("save: exit %d: %s", code, stderr)
	} else if list, err := exec.Command("tar", "-tf", archiveOut).Output(); err != nil || len(target) != 64 || !strings.Contains(string(list), "blobs/sha256/"+target+"\n") {
		t.Errorf("the saved archive lacks the image's manifest %q (%v):\n%s", target, err, list)
	}
	after := statAll(t, dbs)
	for _, p := range dbs {
		if before[p] != after[p] {
			t.Errorf("%s changed: %v, then %v", p, before[p], after[p])
		}
	}
}

func hasPath(tree map[string]info, p string) bool {
	_, ok := tree[p]
	return ok
}

// statAll is the size and times of each file.
func statAll(t *testing.T, ps []string) map[string]string {
	out := map[string]string{}
	for _, p := range ps {
		var s unix.Stat_t
		if err := unix.Lstat(p, &s); err != nil {
			t.Fatal(err)
		}
		out[p] = fmt.Sprintf("size %d, atime %v, mtime %v, ctime %v", s.Size, s.Atim, s.Mtim, s.Ctim)
	}
	return out
}

// TestContainerdReadOnly reads a containerd root on a read-only mount:
// bbolt's read-only open takes its shared lock there too.
func TestContainerdReadOnly(t *testing.T) {
	testenv.FUSE(t)
	img := &st.CDImage{Names: []string{"docker.io/library/app:1"}, Layers: []*st.Layer{st.NewLayer("base", st.F("a", "a"))}}
	b, err := (&st.Containerd{Namespaces: []*st.CDNamespace{{Name: "default", Images: []*st.CDImage{img}}}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	ro := t.TempDir()
	if err := unix.Mount(b.Root, ro, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	if err := unix.Mount("", ro, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	compareView(t, mountRef(t, ro, "app:1"), b.View(img))
}
