package integration

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// A container is shown as Docker ran it: over its layers, the
// /etc/hostname, /etc/hosts and /etc/resolv.conf Docker keeps in
// containers/<id>/, and its volumes at their destinations.

// bindFiles are the files Docker bind-mounts into every container, by
// their path in it, from containers/<id>/.
var bindFiles = map[string]string{"etc/hostname": "hostname", "etc/hosts": "hosts", "etc/resolv.conf": "resolv.conf"}

// withBinds is want, the view of container c's layers, with what Docker
// mounted over them: its hostname, hosts and resolv.conf files, and each
// directory of the store in dirs (the view's path -> the store's path)
// with everything below it.
func withBinds(t testing.TB, b *st.Built, c *st.Container, want map[string]info, dirs map[string]string) map[string]info {
	t.Helper()
	maps.Copy(want, containerBindFiles(t, b.Root, b.ContainerID[c]))
	// Parents first: a bind inside another is over it.
	for _, dest := range slices.Sorted(maps.Keys(dirs)) {
		src := dirs[dest]
		for p := range want {
			if p == dest || strings.HasPrefix(p, dest+"/") {
				delete(want, p)
			}
		}
		for p, in := range walk(t, noatimeView(t, src)+"/.") {
			if p == "" {
				want[dest] = in
			} else {
				want[dest+"/"+p] = in
			}
		}
	}
	return want
}

// containerBindFiles is what a view of container cid of the store at
// root shows at etc/hostname, etc/hosts and etc/resolv.conf: the files
// of containers/<cid>/, which Docker bind-mounts there, not its init
// layer's (docker export shows those).
func containerBindFiles(t testing.TB, root, cid string) map[string]info {
	t.Helper()
	view := noatimeView(t, filepath.Join(root, "containers", cid))
	out := map[string]info{}
	for p, f := range bindFiles {
		in, err := describe(view + "/" + f)
		if err != nil {
			t.Fatalf("reading the container's %s: %v", f, err)
		}
		out[p] = in
	}
	return out
}

// editContainerConfig sets fields of container c's config as Docker
// would have written them.
func editContainerConfig(t testing.TB, b *st.Built, c *st.Container, fields map[string]any) {
	t.Helper()
	name := "config.v2.json"
	if b.Layout == layerstore.LayoutGraph {
		name = "config.json"
	}
	f := filepath.Join(b.Root, "containers", b.ContainerID[c], name)
	m := hostileReadJSON(t, f)
	for k, v := range fields {
		m[k] = v
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	hostileWrite(t, f, data)
}

// origRoot is the Docker root the stores of the tests were copied from,
// as their containers' configs name it.
const origRoot = "/var/lib/docker"

// mountPoint is one mount point of a container's config.
func mountPoint(typ, name, src, dest, driver string) map[string]any {
	return map[string]any{"Type": typ, "Name": name, "Source": src, "Destination": dest, "Driver": driver, "RW": true}
}

// setMountPoints gives container c's config the mount points mps, and its
// own files' paths under origRoot.
func setMountPoints(t testing.TB, b *st.Built, c *st.Container, mps []map[string]any) {
	t.Helper()
	cdir := origRoot + "/containers/" + b.ContainerID[c]
	byDest := map[string]any{}
	for _, mp := range mps {
		byDest[mp["Destination"].(string)] = mp
	}
	editContainerConfig(t, b, c, map[string]any{
		"HostnamePath": cdir + "/hostname", "HostsPath": cdir + "/hosts", "ResolvConfPath": cdir + "/resolv.conf",
		"LogPath":     cdir + "/" + b.ContainerID[c] + "-json.log",
		"MountPoints": byDest,
	})
}

func writeFileAt(t testing.TB, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestContainerBinds mounts a database container whose config mounts a
// named volume over a directory of its image, a volume at a directory
// its writable layer made, a volume inside that one, and an old-style
// bind of a directory inside the Docker root; and, which cannot be
// shown, a host directory, a tmpfs, a volume of another driver and a
// volume whose _data is a symlink to /etc. The view is compared whole
// with the layers and what is mounted over them, read-only like the
// rest; what is not shown is said once on stderr and listed by inspect.
func TestContainerBinds(t *testing.T) {
	testenv.FUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			img := &st.Image{Names: []string{"db:1"}, Layers: []*st.Layer{
				l(st.F("etc/os-release", "db os"), st.F("var/lib/db/from-the-image", "hidden by the volume"), st.F("bin/db", "db")),
			}}
			ctr := &st.Container{Name: "db", Image: img, RW: l(st.D("data"), st.F("root/.history", "psql"))}
			b := writeTestStore(t, &st.Store{Images: []*st.Image{img}, Containers: []*st.Container{ctr}}, layout)
			vol := func(name string) string { return filepath.Join(b.Root, "volumes", name, "_data") }
			writeFileAt(t, filepath.Join(vol("dbdata"), "base/1/table"), "rows\n")
			writeFileAt(t, filepath.Join(vol("dbdata"), ".wh.not-a-whiteout"), "a volume has no whiteouts\n")
			writeFileAt(t, filepath.Join(vol("uploads"), "a.png"), "png")
			if err := os.MkdirAll(filepath.Join(vol("uploads"), "cache"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFileAt(t, filepath.Join(vol("cache"), "c1"), "cached")
			writeFileAt(t, filepath.Join(b.Root, "vfs", "dir", "oldvolume", "legacy"), "from Docker 1.6")
			if err := os.MkdirAll(filepath.Join(b.Root, "volumes", "evil"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc", vol("evil")); err != nil {
				t.Fatal(err)
			}
			setMountPoints(t, b, ctr, []map[string]any{
				mountPoint("volume", "dbdata", "", "/var/lib/db", "local"),
				mountPoint("volume", "uploads", "", "/data", "local"),
				mountPoint("volume", "cache", "", "/data/cache", ""),
				mountPoint("bind", "", origRoot+"/vfs/dir/oldvolume", "/legacy", ""),
				mountPoint("bind", "", "/srv/host", "/host", ""),
				mountPoint("tmpfs", "", "", "/run", ""),
				mountPoint("volume", "remote", "", "/nfs", "convoy"),
				mountPoint("volume", "evil", "", "/etc/trap", "local"),
				mountPoint("volume", "cache", "", "/bin/db/not-a-dir", "local"),
			})

			mnt := t.TempDir()
			stdout, stderr, code := run(t, "--root", b.Root, "mount", "db", mnt)
			if code != 0 {
				t.Fatalf("mount db: exit %d: %s", code, stderr)
			}
			t.Cleanup(func() { daemonUnmount(t, mnt) })
			wantNote := "aufsmount: note: container db: not shown, not in the store: " +
				"volume evil at /etc/trap: " + vol("evil") + " is reached through a symlink, which is never followed; " +
				"bind /srv/host at /host: a host path, not in the store; " +
				"volume remote at /nfs: a volume of driver convoy, which keeps its data outside the store; " +
				"tmpfs at /run: a tmpfs: what it held was never on disk\n"
			if stdout != "" || stderr != wantNote {
				t.Errorf("mount db: stdout %q, stderr\n%s\nwant\n%s", stdout, stderr, wantNote)
			}

			want := withBinds(t, b, ctr, containerExpect(t, b, ctr), map[string]string{
				"var/lib/db": vol("dbdata"), "data": vol("uploads"), "data/cache": vol("cache"),
				"legacy": filepath.Join(b.Root, "vfs", "dir", "oldvolume"),
			})
			got := walk(t, mnt)
			if diffs := diffTrees(want, got, nil); len(diffs) > 0 {
				t.Errorf("%d differences:\n%s", len(diffs), strings.Join(head(diffs, 30), "\n"))
			}
			if _, err := os.Lstat(filepath.Join(mnt, "etc/trap")); err == nil {
				t.Errorf("/etc/trap shows: the symlinked volume was followed")
			}
			if data, err := os.ReadFile(filepath.Join(mnt, "etc/hosts")); err != nil || string(data) != "127.0.0.1\tlocalhost\n" {
				t.Errorf("/etc/hosts = %q, %v: want the container's", data, err)
			}
			var buf [200]byte
			n, err := unix.Getxattr(filepath.Join(mnt, "etc/hosts"), "user.aufsmount.layer", buf[:])
			if want := "containers/" + b.ContainerID[ctr] + "/hosts"; err != nil || string(buf[:n]) != want {
				t.Errorf("user.aufsmount.layer of /etc/hosts = %q, %v; want %q", buf[:max(n, 0)], err, want)
			}
			n, err = unix.Getxattr(filepath.Join(mnt, "var/lib/db/base/1/table"), "user.aufsmount.layer", buf[:])
			if want := "volumes/dbdata/_data"; err != nil || string(buf[:n]) != want {
				t.Errorf("user.aufsmount.layer in the volume = %q, %v; want %q", buf[:max(n, 0)], err, want)
			}
			// Read-only like the rest.
			for _, p := range []string{"etc/hosts", "var/lib/db/base/1/table"} {
				if f, err := os.OpenFile(filepath.Join(mnt, p), os.O_WRONLY, 0); err == nil {
					f.Close()
					t.Errorf("%s opens for writing", p)
				} else if !isErrnoOf(err, unix.EROFS) {
					t.Errorf("%s: %v, want EROFS", p, err)
				}
			}
			if err := os.WriteFile(filepath.Join(mnt, "data", "new"), nil, 0o644); !isErrnoOf(err, unix.EROFS) {
				t.Errorf("creating in a volume: %v, want EROFS", err)
			}

			// inspect lists what is shown and what is not.
			out, stderr, code := run(t, "--root", b.Root, "inspect", "-f", "{{json .AufsMount.NotShown}}", "db")
			if code != 0 || stderr != "" || !strings.Contains(out, `"Destination":"/host","Kind":"bind","Reason":"a host path, not in the store","Source":"/srv/host"`) ||
				!strings.Contains(out, `"Destination":"/run","Kind":"tmpfs"`) || !strings.Contains(out, `"Destination":"/nfs","Kind":"volume"`) {
				t.Errorf("inspect -f {{json .AufsMount.NotShown}} db: exit %d, %q, stderr %q", code, out, stderr)
			}
		})
	}
}

// withBindNodes is want, the model of container c's layers (st.Merge),
// with the files Docker bind-mounts into it in place of its init
// layer's: the nodes of its containers/<id>/ files, each an inode of its
// own.
func withBindNodes(t testing.TB, b *st.Built, c *st.Container, want []st.Node) []st.Node {
	t.Helper()
	dir := noatimeView(t, filepath.Join(b.Root, "containers", b.ContainerID[c]))
	out := slices.Clone(want)
	for i := range out {
		f, ok := bindFiles[out[i].Path]
		if !ok {
			continue
		}
		p := dir + "/" + f
		var sb unix.Stat_t
		if err := unix.Lstat(p, &sb); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		e := st.F(out[i].Path, string(data)).WithMode(sb.Mode&07777).WithOwner(int(sb.Uid), int(sb.Gid)).WithMtime(time.Unix(sb.Mtim.Unix()))
		out[i] = st.Node{Path: out[i].Path, Layer: -1 - i, Entry: e, Nlink: int(sb.Nlink), Origin: out[i].Path}
	}
	return out
}
