package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// volumeStore is a store with a container "db" of image "dbserver:1" that ran
// with volumes and binds over its layers:
//
//	/var/lib/db        volume dbdata, over the image's /var/lib/db (the
//	                   writable layer has no /var)
//	/var/lib/db/cache  volume cache, inside dbdata, over its cache/
//	/srv/uploads       volume uploads, over the writable layer's
//	                   srv/uploads/, which holds a stale file
//	/legacy            an old-style bind of a directory of the store
//	/host              a bind of a host directory, not in the store
//	/nfs               a volume of driver convoy, not in the store
//
// and the /etc/hostname, /etc/hosts and /etc/resolv.conf Docker keeps in
// containers/<id>/, over its init layer's. The dbdata volume holds a name
// a layer cannot hold: .wh.not-a-whiteout.
type volumeStore struct {
	b   *st.Built
	img *st.Image
	ctr *st.Container
}

// The image's layer has extra too.
func newVolumeStore(t *testing.T, dc driverCase, extra ...st.Entry) *volumeStore {
	t.Helper()
	img := &st.Image{Names: []string{"dbserver:1"}, Layers: []*st.Layer{
		l(append([]st.Entry{st.F("etc/os-release", "db os"), st.F("bin/db", "db").WithMode(0o755),
			st.F("var/lib/db/table", "image table"), st.F("var/lib/db/only-image", "i"), st.F("var/lib/db/cache/c1", "image c1")}, extra...)...),
	}}
	ctr := &st.Container{Name: "db", Image: img, RW: l(st.F("root/.history", "psql"), st.D("srv/uploads"), st.F("srv/uploads/stale", "under the volume"))}
	b := writeDriverStore(t, dc, []*st.Image{img}, []*st.Container{ctr})
	vs := &volumeStore{b: b, img: img, ctr: ctr}
	writeFileAt(t, vs.vol("dbdata")+"/table", "rows\n")
	writeFileAt(t, vs.vol("dbdata")+"/cache/c1", "dbdata c1, under the cache volume")
	writeFileAt(t, vs.vol("dbdata")+"/base/1/t", "t")
	writeFileAt(t, vs.vol("dbdata")+"/.wh.not-a-whiteout", "a volume has no whiteouts")
	writeFileAt(t, vs.vol("cache")+"/c1", "cached")
	writeFileAt(t, vs.vol("uploads")+"/a.png", "png")
	writeFileAt(t, filepath.Join(b.Root, "vfs/dir/oldvolume/legacy"), "from Docker 1.6")
	setMountPoints(t, b, ctr, []map[string]any{
		mountPoint("volume", "dbdata", "", "/var/lib/db", "local"),
		mountPoint("volume", "cache", "", "/var/lib/db/cache", "local"),
		mountPoint("volume", "uploads", "", "/srv/uploads", "local"),
		mountPoint("bind", "", origRoot+"/vfs/dir/oldvolume", "/legacy", ""),
		mountPoint("bind", "", "/srv/host", "/host", ""),
		mountPoint("volume", "remote", "", "/nfs", "convoy"),
	})
	return vs
}

// vol is the data directory of volume name.
func (vs *volumeStore) vol(name string) string {
	return filepath.Join(vs.b.Root, "volumes", name, "_data")
}

// TestWhichBinds asks which of paths a container's binds and volumes
// provide: which names the bind's source in the store, as the mount's
// user.aufsmount.layer does, and every layer's entry under it as mounted
// over, a nested volume over the one it is in.
func TestWhichBinds(t *testing.T) {
	testenv.FUSE(t)
	for _, dc := range driverCasesNamed(t, "aufs-graph", "aufs") {
		t.Run(dc.name, func(t *testing.T) {
			vs := newVolumeStore(t, dc)
			root, cid := vs.b.Root, vs.b.ContainerID[vs.ctr]
			mnt := t.TempDir()
			if _, stderr, code := run(t, "--root", root, "mount", "db", mnt); code != 0 {
				t.Fatalf("mount db: exit %d: %s", code, stderr)
			}
			t.Cleanup(func() { daemonUnmount(t, mnt) })
			rwDir, initDir, imgDir := vs.b.ContainerChain[vs.ctr][0], vs.b.ContainerChain[vs.ctr][1], vs.b.Chain[vs.img][0]
			rw, init, img := filepath.Base(rwDir), filepath.Base(initDir), filepath.Base(imgDir)
			hosts, dbdata, cache := "containers/"+cid+"/hosts", "volumes/dbdata/_data", "volumes/cache/_data"
			for _, tc := range []struct {
				path string
				want []providerOut
				code int
			}{
				{"/etc/hosts", []providerOut{
					{ID: hosts, Dir: root + "/" + hosts, Status: "provides"},
					{ID: init, Dir: initDir, Status: "hidden", Reason: "mounted over", By: hosts, At: "/etc/hosts"},
				}, 0},
				{"/var/lib/db/table", []providerOut{
					{ID: dbdata, Dir: root + "/" + dbdata, Status: "provides"},
					{ID: img, Dir: imgDir, Status: "hidden", Reason: "mounted over", By: dbdata, At: "/var/lib/db"},
				}, 0},
				{"/var/lib/db/cache/c1", []providerOut{
					{ID: cache, Dir: root + "/" + cache, Status: "provides"},
					{ID: dbdata, Dir: root + "/" + dbdata, Status: "hidden", Reason: "mounted over", By: cache, At: "/var/lib/db/cache"},
					{ID: img, Dir: imgDir, Status: "hidden", Reason: "mounted over", By: dbdata, At: "/var/lib/db"},
				}, 0},
				{"/srv/uploads", []providerOut{
					{ID: "volumes/uploads/_data", Dir: root + "/volumes/uploads/_data", Status: "provides"},
					{ID: rw, Dir: rwDir, Status: "hidden", Reason: "mounted over", By: "volumes/uploads/_data", At: "/srv/uploads"},
				}, 0},
				{"/legacy/legacy", []providerOut{
					{ID: "vfs/dir/oldvolume", Dir: root + "/vfs/dir/oldvolume", Status: "provides"},
				}, 0},
				{"/var/lib/db/only-image", []providerOut{
					{ID: img, Dir: imgDir, Status: "hidden", Reason: "mounted over", By: dbdata, At: "/var/lib/db"},
				}, 1},
			} {
				stdout, stderr, code := run(t, "--root", root, "which", "--json", "--no-trunc", "db", tc.path)
				var got []providerOut
				if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != tc.code {
					t.Errorf("which db %s: exit %d, %q, %v; stderr %q", tc.path, code, stdout, err, stderr)
					continue
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("which db %s =\n%+v\nwant\n%+v", tc.path, got, tc.want)
				}
				if tc.code != 0 {
					continue
				}
				// The mount says the same.
				if x, err := getxattr(filepath.Join(mnt, tc.path), "user.aufsmount.layer"); err != nil || x != tc.want[0].ID {
					t.Errorf("%s: user.aufsmount.layer = %q, %v; which says %q", tc.path, x, err, tc.want[0].ID)
				}
			}
			// The table cuts the ids in a bind's source as it cuts them
			// in a directory.
			stdout, stderr, code := run(t, "--root", root, "which", "db", "/etc/hosts")
			want := []string{
				"LAYER ID DIR STATUS",
				"containers/" + cid[:12] + ".../hosts .../containers/" + cid[:12] + ".../hosts provides",
				init[:12] + "-init " + shortLayerDir(initDir, root) + " hidden: /etc/hosts mounted over by containers/" + cid[:12] + ".../hosts",
			}
			var lines []string
			for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
				lines = append(lines, strings.Join(strings.Fields(line), " "))
			}
			if code != 0 || !reflect.DeepEqual(lines, want) {
				t.Errorf("which db /etc/hosts: exit %d, stderr %q, printed\n%s\nwant\n%s", code, stderr, strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// providerOut is one layer of which --json.
type providerOut struct {
	ID, Dir, Status, Reason, By, At string
}

// shortLayerDir is how which shows an aufs layer directory of the store
// at root: .../aufs/diff/ and the id cut to 12 characters.
func shortLayerDir(dir, root string) string {
	id := filepath.Base(dir)
	return ".../aufs/diff/" + id[:12] + "..." + strings.TrimPrefix(id, id[:64])
}

// savedStderr splits what save said into lines, its last the image id of
// the committed container, which it checks against the archive's.
func savedStderr(t *testing.T, stderr string, a *savedArchive) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	id := strings.TrimPrefix(a.item(t, "").Config, "blobs/sha256/")
	if last := lines[len(lines)-1]; last != "aufsmount: container db committed: saved as image "+id {
		t.Errorf("save db: last line %q, want the committed image %s", last, id)
	}
	return lines[:len(lines)-1]
}

// readRootfs reads the files of an unpacked image: path -> content, a
// directory "dir".
func readRootfs(t *testing.T, rootfs string, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		switch {
		case err != nil:
			out[p] = "missing"
		case fi.IsDir():
			out[p] = "dir"
		default:
			data, err := os.ReadFile(filepath.Join(rootfs, p))
			if err != nil {
				t.Fatal(err)
			}
			out[p] = string(data)
		}
	}
	return out
}

// TestSaveContainerMounts saves container db: its volumes and binds are
// left out, as docker commit leaves them out, and save says which; with
// --with-volumes, the data of its volumes in the store is in its layer at
// their destinations, opaque there, what its writable layer had under
// them left out, and the archive is whole (every layer's digest its diff
// id, skopeo copying it, umoci unpacking it). In every driver: vfs's and
// overlay's container layers are diffs against their init layers' trees.
func TestSaveContainerMounts(t *testing.T) {
	for _, dc := range driverCasesNamed(t, "aufs-graph", "aufs", "overlay2", "fuse-overlayfs", "overlay", "vfs") {
		t.Run(dc.name, func(t *testing.T) {
			vs := newVolumeStore(t, dc)
			root := vs.b.Root
			snap := roSnap(t, root)
			paths := []string{"var/lib/db/table", "var/lib/db/only-image", "var/lib/db/cache/c1", "var/lib/db/base/1/t",
				"var/lib/db/.wh.not-a-whiteout", "srv/uploads/stale", "srv/uploads/a.png", "root/.history", "etc/os-release", "legacy", "nfs"}

			file, stderr := saveTo(t, root, "db")
			a := readSaved(t, file)
			a.check(t)
			want := []string{"aufsmount: note: container db: left out of its image, as docker commit leaves them out " +
				"(--with-volumes saves the data of the volumes in the store): " +
				"bind /srv/host at /host: a host path, not in the store; " +
				"bind " + root + "/vfs/dir/oldvolume at /legacy; " +
				"volume remote at /nfs: a volume of driver convoy, which keeps its data outside the store; " +
				"volume uploads at /srv/uploads; volume dbdata at /var/lib/db; volume cache at /var/lib/db/cache"}
			if got := savedStderr(t, stderr, a); !reflect.DeepEqual(got, want) {
				t.Errorf("save db said\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			rootfs := umociUnpack(t, skopeoOCI(t, file, "@0"), "img")
			wantFiles := map[string]string{
				"var/lib/db/table": "image table", "var/lib/db/only-image": "i", "var/lib/db/cache/c1": "image c1", "var/lib/db/base/1/t": "missing",
				"var/lib/db/.wh.not-a-whiteout": "missing", "srv/uploads/stale": "under the volume", "srv/uploads/a.png": "missing",
				"root/.history": "psql", "etc/os-release": "db os", "legacy": "missing", "nfs": "missing",
			}
			if got := readRootfs(t, rootfs, paths...); !reflect.DeepEqual(got, wantFiles) {
				t.Errorf("save db, unpacked: %v\nwant %v", got, wantFiles)
			}

			file, stderr = saveTo(t, root, "--with-volumes", "db")
			a = readSaved(t, file)
			a.check(t)
			want = []string{
				"aufsmount: note: container db: its layer holds the data of volume uploads at /srv/uploads; volume dbdata at /var/lib/db; volume cache at /var/lib/db/cache",
				"aufsmount: note: container db: left out of its image, as docker commit leaves them out: " +
					"bind /srv/host at /host: a host path, not in the store; " +
					"bind " + root + "/vfs/dir/oldvolume at /legacy; " +
					"volume remote at /nfs: a volume of driver convoy, which keeps its data outside the store",
				"aufsmount: warning: container db: /var/lib/db/.wh.not-a-whiteout left out of its layer: a layer cannot hold a name that starts with .wh. (it is a whiteout there)",
			}
			if got := savedStderr(t, stderr, a); !reflect.DeepEqual(got, want) {
				t.Errorf("save --with-volumes db said\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			rootfs = umociUnpack(t, skopeoOCI(t, file, "@0"), "img")
			wantFiles = map[string]string{
				"var/lib/db/table": "rows\n", "var/lib/db/only-image": "missing", "var/lib/db/cache/c1": "cached", "var/lib/db/base/1/t": "t",
				"var/lib/db/.wh.not-a-whiteout": "missing", "srv/uploads/stale": "missing", "srv/uploads/a.png": "png",
				"root/.history": "psql", "etc/os-release": "db os", "legacy": "missing", "nfs": "missing",
			}
			if got := readRootfs(t, rootfs, paths...); !reflect.DeepEqual(got, wantFiles) {
				t.Errorf("save --with-volumes db, unpacked: %v\nwant %v", got, wantFiles)
			}
			// Each volume whole, as the store holds it: modes, owners,
			// mtimes, sizes, contents.
			sameTree(t, "volume uploads", walk(t, noatimeView(t, vs.vol("uploads"))+"/."), walk(t, filepath.Join(rootfs, "srv/uploads")))
			sameTree(t, "volume cache", walk(t, noatimeView(t, vs.vol("cache"))+"/."), walk(t, filepath.Join(rootfs, "var/lib/db/cache")))
			// The image's layers and the container's (check found each
			// layer's file holding its diff id).
			if c, _ := a.config(t, a.item(t, "")); len(c.RootFS.DiffIDs) != len(vs.img.Layers)+1 {
				t.Errorf("committed image: diff ids %q, want the image's and its own", c.RootFS.DiffIDs)
			}
			checkStoreUnchanged(t, root, "save", snap)

			if _, stderr, code := run(t, "--root", root, "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "--with-volumes", "dbserver:1"); code != 2 || !strings.Contains(stderr, "--with-volumes puts a container's volumes in its layer: give a container") {
				t.Errorf("save --with-volumes of an image: exit %d, %q; want a usage error", code, stderr)
			}
		})
	}
}

// TestSaveWithVolumesDockerLoad loads a container saved with its volumes
// into a real engine (Docker 20.10) and runs it: the volumes' files are
// at their destinations, and what they hid is not.
func TestSaveWithVolumesDockerLoad(t *testing.T) {
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	bb, err := os.ReadFile(requireStaticBusybox(t))
	if err != nil {
		t.Fatal(err)
	}
	vs := newVolumeStore(t, driverCasesNamed(t, "overlay2")[0], st.F("bin/busybox", string(bb)).WithMode(0o755))
	file, _ := saveTo(t, vs.b.Root, "--with-volumes", "--tag", "saved/db:1", "db")
	a := readSaved(t, file)
	a.check(t)
	wantID := "sha256:" + strings.TrimPrefix(a.item(t, "saved/db:1").Config, "blobs/sha256/")
	e := startEngine(t, dockerd, docker, "overlay2")
	e.docker("load", "-i", file)
	if got := strings.TrimSpace(e.docker("image", "inspect", "--format", "{{.Id}}", "saved/db:1")); got != wantID {
		t.Errorf("docker load: id %s, want %s", got, wantID)
	}
	e.docker("run", "--rm", "--network", "none", "saved/db:1", "/bin/busybox", "sh", "-c",
		`test "$(cat /var/lib/db/table)" = "rows" && test "$(cat /var/lib/db/cache/c1)" = cached && test "$(cat /var/lib/db/base/1/t)" = t && `+
			`test ! -e /var/lib/db/only-image && test ! -e /var/lib/db/.wh.not-a-whiteout && `+
			`test "$(cat /srv/uploads/a.png)" = png && test ! -e /srv/uploads/stale && test "$(cat /root/.history)" = psql`)
	e.stop()
}
