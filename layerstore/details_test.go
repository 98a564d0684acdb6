package layerstore_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editConfig sets fields of container c's config.
func editConfig(t *testing.T, b *st.Built, c *st.Container, fields map[string]any) {
	t.Helper()
	if err := b.EditConfig(c, fields); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, root string) *layerstore.Store {
	t.Helper()
	s, err := layerstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBinds works out what Docker mounted into a container from its
// config: its host files from the Docker root it names, volumes and
// binds inside the store checked, and the rest not shown, with why.
func TestBinds(t *testing.T) {
	img := &st.Image{Names: []string{"db:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("etc/os-release", "x"))}}
	ctr := &st.Container{Name: "db", Image: img}
	b, err := (&st.Store{Images: []*st.Image{img}, Containers: []*st.Container{ctr}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	cid := b.ContainerID[ctr]
	for _, v := range []string{"data", "opts", "file"} {
		if err := os.MkdirAll(filepath.Join(b.Root, "volumes", v, "_data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(b.Root, "volumes", "opts", "opts.json"), `{"MountType":"nfs","MountOpts":"addr=10.0.0.1","MountDevice":":/export"}`)
	os.RemoveAll(filepath.Join(b.Root, "volumes", "file", "_data"))
	mustWrite(t, filepath.Join(b.Root, "volumes", "file", "_data"), "a file, not a directory")
	if err := os.MkdirAll(filepath.Join(b.Root, "volumes", "evil"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(b.Root, "volumes", "evil", "_data")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(b.Root, "vfs", "dir", "old", "x"), "x")
	mustWrite(t, filepath.Join(b.Root, "hosts.custom"), "10.0.0.9 db\n")
	orig := "/srv/docker-data" // the root the store was copied from
	cdir := orig + "/containers/" + cid
	mp := func(typ, name, src, dest, driver string, rw bool) map[string]any {
		return map[string]any{"Type": typ, "Name": name, "Source": src, "Destination": dest, "Driver": driver, "RW": rw}
	}
	editConfig(t, b, ctr, map[string]any{
		"HostnamePath": cdir + "/hostname", "HostsPath": cdir + "/hosts", "ResolvConfPath": cdir + "/resolv.conf",
		"LogPath": cdir + "/" + cid + "-json.log",
		"MountPoints": map[string]any{
			"/var/lib/db":  mp("volume", "data", "", "/var/lib/db", "local", true),
			"/gone":        mp("volume", "gone", "", "/gone", "local", true),
			"/up":          mp("volume", "../../etc", "", "/up", "local", true),
			"/nfs":         mp("volume", "opts", "", "/nfs", "local", true),
			"/remote":      mp("volume", "r1", "", "/remote", "rexray", true),
			"/file":        mp("volume", "file", "", "/file", "local", true),
			"/evil":        mp("volume", "evil", "", "/evil", "local", true),
			"/legacy":      mp("bind", "", orig+"/vfs/dir/old", "/legacy", "", false),
			"/etc/hosts":   mp("bind", "", orig+"/hosts.custom", "/etc/hosts", "", false),
			"/host":        mp("bind", "", "/srv/host", "/host", "", true),
			"/escape":      mp("bind", "", orig+"/../etc", "/escape", "", true),
			"/run":         mp("tmpfs", "", "", "/run", "", true),
			"relative/dir": mp("bind", "", orig+"/vfs/dir/old", "relative/dir", "", true),
		},
	})
	tg, err := open(t, b.Root).Resolve("db")
	if err != nil {
		t.Fatal(err)
	}
	wantBinds := []layerstore.Bind{
		{Dest: "/etc/hostname", Source: "containers/" + cid + "/hostname", Kind: "hostname"},
		{Dest: "/etc/hosts", Source: "hosts.custom", Kind: "bind"}, // the container's own mount wins
		{Dest: "/etc/resolv.conf", Source: "containers/" + cid + "/resolv.conf", Kind: "resolv.conf"},
		{Dest: "/legacy", Source: "vfs/dir/old", Kind: "bind", Dir: true},
		{Dest: "/var/lib/db", Source: "volumes/data/_data", Kind: "volume", Name: "data", Dir: true, RW: true},
	}
	if !reflect.DeepEqual(tg.Binds, wantBinds) {
		t.Errorf("binds:\n%+v\nwant\n%+v", tg.Binds, wantBinds)
	}
	var got []string
	for _, u := range tg.Unshown {
		got = append(got, u.String())
	}
	want := []string{
		"bind /srv/docker-data/../etc at /escape: a host path, not in the store",
		"volume evil at /evil: " + b.Root + "/volumes/evil/_data is reached through a symlink, which is never followed",
		"volume file at /file: " + b.Root + "/volumes/file/_data is not a directory",
		"volume gone at /gone: missing from the store: " + b.Root + "/volumes/gone/_data",
		"bind /srv/host at /host: a host path, not in the store",
		"volume opts at /nfs: a local volume mounted from nfs :/export: its data is not in the store",
		"volume r1 at /remote: a volume of driver rexray, which keeps its data outside the store",
		"tmpfs at /run: a tmpfs: what it held was never on disk",
		"volume ../../etc at /up: not a volume name Docker gives",
		"bind " + orig + "/vfs/dir/old at relative/dir: not an absolute path below /",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("not shown:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestContainerDetails reads what ps and inspect show from a config.
func TestContainerDetails(t *testing.T) {
	img := &st.Image{Names: []string{"busybox:latest"}, Layers: []*st.Layer{st.NewLayer("", st.F("bin/sh", "sh"))}}
	ctr := &st.Container{Name: "web", Image: img}
	b, err := (&st.Store{Images: []*st.Image{img}, Containers: []*st.Container{ctr}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutGraph)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	editConfig(t, b, ctr, map[string]any{
		"Path": "nginx", "Args": []string{"-g", "daemon off;"},
		"State": map[string]any{"Running": true, "Paused": false, "ExitCode": 0, "StartedAt": started,
			"FinishedAt": "0001-01-01T00:00:00Z", "Health": map[string]any{"Status": "healthy"}},
		"Config": map[string]any{"Image": "busybox", "Labels": map[string]string{"team": "web"}},
		"NetworkSettings": map[string]any{
			"Ports":    map[string]any{"80/tcp": []map[string]string{{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}}, "443/tcp": nil, "bogus": nil},
			"Networks": map[string]any{"front": map[string]any{}, "back": map[string]any{}},
		},
		// Before Docker 1.7: volumes as a map.
		"Volumes":   map[string]string{"/data": "/var/lib/docker/vfs/dir/" + strings.Repeat("a", 64)},
		"VolumesRW": map[string]bool{"/data": true},
	})
	cs := open(t, b.Root).Containers()
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	c := cs[0]
	if c.Command() != "nginx -g 'daemon off;'" || c.ConfigImage != "busybox" || !reflect.DeepEqual(c.Labels, map[string]string{"team": "web"}) {
		t.Errorf("command %q, image %q, labels %v", c.Command(), c.ConfigImage, c.Labels)
	}
	wantState := layerstore.State{Running: true, StartedAt: started, Health: "healthy"}
	if !reflect.DeepEqual(c.State, wantState) {
		t.Errorf("state %+v, want %+v", c.State, wantState)
	}
	wantPorts := []layerstore.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}, {IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}, {PrivatePort: 443, Type: "tcp"}}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("ports %+v, want %+v", c.Ports, wantPorts)
	}
	if !reflect.DeepEqual(c.Networks, []string{"back", "front"}) {
		t.Errorf("networks %q", c.Networks)
	}
	wantMounts := []layerstore.MountPoint{{Type: "bind", Source: "/var/lib/docker/vfs/dir/" + strings.Repeat("a", 64), Destination: "/data", RW: true}}
	if !reflect.DeepEqual(c.Mounts, wantMounts) {
		t.Errorf("mounts %+v, want %+v", c.Mounts, wantMounts)
	}
	// A config whose details are of the wrong shape still lists.
	editConfig(t, b, ctr, map[string]any{"State": "running", "Args": 7, "NetworkSettings": []int{1}, "MountPoints": "x"})
	if cs := open(t, b.Root).Containers(); len(cs) != 1 || cs[0].Command() != "nginx" || cs[0].State != (layerstore.State{}) {
		t.Errorf("a config of odd shapes: %+v", cs)
	}
}

// TestIntermediate flags the untagged images that others are built on,
// as docker images hides them without -a.
func TestIntermediate(t *testing.T) {
	base := st.NewLayer("base", st.F("a", "a"))
	mid := st.NewLayer("mid", st.F("b", "b"))
	top := st.NewLayer("top", st.F("c", "c"))
	other := st.NewLayer("other", st.F("d", "d"))
	images := map[string]*st.Image{
		"base":     {Layers: []*st.Layer{base}},      // a prefix of app's chain
		"mid":      {Layers: []*st.Layer{base, mid}}, // app's parent, by metadata
		"app":      {Names: []string{"app:1"}, Layers: []*st.Layer{base, mid, top}},
		"dangling": {Layers: []*st.Layer{other}},                                  // nothing on it
		"tagged":   {Names: []string{"base:1"}, Layers: []*st.Layer{base, other}}, // tagged: never intermediate
	}
	var list []*st.Image
	for _, k := range []string{"base", "mid", "app", "dangling", "tagged"} {
		list = append(list, images[k])
	}
	b, err := (&st.Store{Images: list}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(b.Root, "image/aufs/imagedb/metadata/sha256", b.ImageID[images["app"]], "parent"), "sha256:"+b.ImageID[images["mid"]])
	s := open(t, b.Root)
	got := map[string]bool{}
	parents := map[string]string{}
	for _, img := range s.Images() {
		got[img.ID] = img.Intermediate
		parents[img.ID] = img.Parent
	}
	for name, want := range map[string]bool{"base": true, "mid": true, "app": false, "dangling": false, "tagged": false} {
		if got[b.ImageID[images[name]]] != want {
			t.Errorf("%s: intermediate %v, want %v", name, !want, want)
		}
	}
	if parents[b.ImageID[images["app"]]] != b.ImageID[images["mid"]] || parents[b.ImageID[images["mid"]]] != "" {
		t.Errorf("parents %v", parents)
	}
}

// TestHistory pairs an image's history with its layers, empty steps
// included, and names the images of the steps where the store has them.
func TestHistory(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	base := &st.Layer{CreatedBy: "#(nop) ADD file:1 in /", Entries: []st.Entry{st.F("a", "a")}, Created: t0}
	env := &st.Layer{CreatedBy: "#(nop)  ENV X=1", Empty: true, Created: t0.Add(time.Hour)}
	run := &st.Layer{CreatedBy: "make", Entries: []st.Entry{st.F("b", "bb")}, Created: t0.Add(2 * time.Hour)}
	cmd := &st.Layer{CreatedBy: `#(nop)  CMD ["x"]`, Empty: true, Created: t0.Add(3 * time.Hour)}
	parent := &st.Image{Layers: []*st.Layer{base, env}}
	img := &st.Image{Names: []string{"x:1"}, Layers: []*st.Layer{base, env, run, cmd}}
	b, err := (&st.Store{Images: []*st.Image{parent, img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(b.Root, "image/aufs/imagedb/metadata/sha256", b.ImageID[img], "parent"), "sha256:"+b.ImageID[parent])
	s := open(t, b.Root)
	tg, err := s.Resolve("x:1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(tg)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		id, by  string
		created time.Time
		empty   bool
		layer   string
	}
	var got []step
	for _, e := range h {
		s := step{e.ImageID, e.CreatedBy, e.Created, e.Empty, ""}
		if e.Layer != nil {
			s.layer = e.Layer.Dir
		}
		got = append(got, s)
	}
	want := []step{
		{b.ImageID[img], `/bin/sh -c #(nop)  CMD ["x"]`, t0.Add(3 * time.Hour), true, ""},
		{b.ImageID[parent], "/bin/sh -c make", t0.Add(2 * time.Hour), false, b.Chain[img][0]},
		{"", "/bin/sh -c #(nop)  ENV X=1", t0.Add(time.Hour), true, ""},
		{"", "/bin/sh -c #(nop) ADD file:1 in /", t0, false, b.Chain[img][1]},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history:\n%+v\nwant\n%+v", got, want)
	}
}

// TestDirSize counts what Docker counts: the bytes of everything but
// directories, a hard-linked file once, a symlink as itself.
func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a"), "12345")
	mustWrite(t, filepath.Join(dir, "sub/b"), "123")
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub/a-again")); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(big, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	want := int64(5 + 3 + len(big))
	if n, err := layerstore.DirSize(dir); err != nil || n != want {
		t.Errorf("DirSize = %d, %v; want %d", n, err, want)
	}
	for _, tt := range []struct{ size, want int64 }{{7, 7}, {0, want}, {-1, want}} {
		if n, err := layerstore.LayerSize(layerstore.Layer{Dir: dir, Size: tt.size}); err != nil || n != tt.want {
			t.Errorf("LayerSize with size %d = %d, %v; want %d", tt.size, n, err, tt.want)
		}
	}
	if _, err := layerstore.DirSize(filepath.Join(dir, "link")); err == nil {
		t.Errorf("DirSize of a symlink to a directory: no error")
	}
}

// TestBelow is the view a container's writable layer is compared with
// (docker diff): its init layer over its image, whatever the driver.
func TestBelow(t *testing.T) {
	img := &st.Image{Names: []string{"x:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("a", "a")), st.NewLayer("", st.F("b", "b"))}}
	ctr := &st.Container{Name: "c", Image: img}
	for _, drv := range []string{st.DriverAufs, st.DriverOverlay2, st.DriverOverlay, st.DriverVFS} {
		b, err := (&st.Store{Driver: drv, Images: []*st.Image{img}, Containers: []*st.Container{ctr}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := open(t, b.Root).Resolve("c")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range tg.Below {
			got = append(got, strings.TrimPrefix(l.Dir, b.Root+"/"))
		}
		m := b.MountID[ctr]
		chain := func(i int) string { return strings.TrimPrefix(b.Chain[img][i], b.Root+"/") }
		want := map[string][]string{
			st.DriverAufs:     {"aufs/diff/" + m + "-init", chain(0), chain(1)},
			st.DriverOverlay2: {"overlay2/" + m + "-init/diff", chain(0), chain(1)},
			st.DriverOverlay:  {"overlay/" + m + "-init/upper", chain(0)},
			st.DriverVFS:      {"vfs/dir/" + m + "-init"},
		}[drv]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: below %q, want %q", drv, got, want)
		}
	}
}

// TestRecoverOnlyUnambiguous: an image whose config is damaged has its
// chain known from its containers only where they agree, and from a
// layer store whose chain ids check out; a container's own chain must
// agree with the driver's files.
func TestRecoverOnlyUnambiguous(t *testing.T) {
	img := &st.Image{Names: []string{"x:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("a", "a")), st.NewLayer("", st.F("b", "b"))}}
	other := &st.Image{Names: []string{"y:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("c", "c"))}}
	c1 := &st.Container{Name: "c1", Image: img}
	c2 := &st.Container{Name: "c2", Image: img}
	write := func(t *testing.T) *st.Built {
		b, err := (&st.Store{Images: []*st.Image{img, other}, Containers: []*st.Container{c1, c2}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(b.Root, "image/aufs/imagedb/content/sha256", b.ImageID[img]), "{}")
		return b
	}
	mounts := func(b *st.Built, c *st.Container) string {
		return filepath.Join(b.Root, "image/aufs/layerdb/mounts", b.ContainerID[c], "parent")
	}

	t.Run("containers agree", func(t *testing.T) {
		b := write(t)
		tg, err := open(t, b.Root).Resolve("x:1")
		if err != nil || len(tg.Layers) != 2 || tg.Layers[0].Dir != b.Chain[img][0] || len(tg.Warnings) != 1 {
			t.Fatalf("Resolve: %+v, %v", tg, err)
		}
		wantWarning := "image " + b.ImageID[img][:12] + ": " + filepath.Join(b.Root, "image/aufs/imagedb/content/sha256", b.ImageID[img]) +
			": content digest is sha256:"
		if !strings.HasPrefix(tg.Warnings[0], wantWarning) || !strings.HasSuffix(tg.Warnings[0], "; its chain is taken from "+mounts(b, c1)+" and the layer store's parent links") &&
			!strings.HasSuffix(tg.Warnings[0], "; its chain is taken from "+mounts(b, c2)+" and the layer store's parent links") {
			t.Errorf("warning %q", tg.Warnings[0])
		}
	})
	t.Run("containers disagree", func(t *testing.T) {
		b := write(t)
		mustWrite(t, mounts(b, c2), b.ChainIDs[other][0])
		s := open(t, b.Root)
		if tg, err := s.Resolve("x:1"); err == nil {
			t.Errorf("Resolve of the image with two answers: %+v", tg.Layers)
		} else if !strings.Contains(err.Error(), "content digest") {
			t.Errorf("error %v, want the config's own", err)
		}
		if _, err := s.Resolve("c1"); err != nil {
			t.Errorf("c1: %v", err)
		}
		// c2's own parent says the other image: the driver's file does not.
		if _, err := s.Resolve("c2"); err == nil || !strings.Contains(err.Error(), "aufs/layers/"+b.MountID[c2]) {
			t.Errorf("c2: %v, want its aufs/layers file named", err)
		}
	})
	t.Run("layer store does not check out", func(t *testing.T) {
		b := write(t)
		diff := filepath.Join(b.Root, "image/aufs/layerdb/sha256", strings.TrimPrefix(b.ChainIDs[img][0], "sha256:"), "diff")
		mustWrite(t, diff, b.DiffIDs[other][0])
		s := open(t, b.Root)
		for _, ref := range []string{"x:1", "c1"} {
			if tg, err := s.Resolve(ref); err == nil {
				t.Errorf("%s: recovered %+v from a layer store whose chain ids do not check out", ref, tg.Layers)
			}
		}
	})
}
