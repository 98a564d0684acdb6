package integration

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
	st "github.com/aufsmount/aufsmount/layerstore/storetest"
)

// volumeStore is a store with a container "db" of image "db:1" that ran
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
// containers/<id>/, over its init layer's.
type volumeStore struct {
	b   *st.Built
	img *st.Image
	ctr *st.Container
}

func newVolumeStore(t *testing.T, layout layerstore.Layout) *volumeStore {
	t.Helper()
	img := &st.Image{Names: []string{"db:1"}, Layers: []*st.Layer{
		l(st.F("etc/os-release", "db os"), st.F("bin/db", "db").WithMode(0o755),
			st.F("var/lib/db/table", "image table"), st.F("var/lib/db/only-image", "i"), st.F("var/lib/db/cache/c1", "image c1")),
	}}
	ctr := &st.Container{Name: "db", Image: img, RW: l(st.F("root/.history", "psql"), st.D("srv/uploads"), st.F("srv/uploads/stale", "under the volume"))}
	b := writeTestStore(t, &st.Store{Images: []*st.Image{img}, Containers: []*st.Container{ctr}}, layout)
	vs := &volumeStore{b: b, img: img, ctr: ctr}
	writeFileAt(t, vs.vol("dbdata")+"/table", "rows\n")
	writeFileAt(t, vs.vol("dbdata")+"/cache/c1", "dbdata c1, under the cache volume")
	writeFileAt(t, vs.vol("dbdata")+"/base/1/t", "t")
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
	requireFUSE(t)
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			vs := newVolumeStore(t, layout)
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
				layerstore.ShortID(init) + " " + shortLayerDir(initDir, root) + " hidden: /etc/hosts mounted over by containers/" + cid[:12] + ".../hosts",
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
