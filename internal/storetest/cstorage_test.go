package storetest

import (
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/storage"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore"
)

// The ids and names below are what Podman 4.3 wrote on this machine:
// podman import of a busybox tree, then podman commit of a container
// that added /hello.txt (layers.json and the big data files of images
// e1fa01... and 34c2b5...).
func TestCSLayerID(t *testing.T) {
	for _, tc := range []struct{ parent, diffID, want string }{
		{"", "sha256:ee21dfad9924bbd1e94f01f70b671f7568611d5848453d7fd70216973c21dc17", "ee21dfad9924bbd1e94f01f70b671f7568611d5848453d7fd70216973c21dc17"},
		{"ee21dfad9924bbd1e94f01f70b671f7568611d5848453d7fd70216973c21dc17", "sha256:bc7e661088689cb572236e0105c1bdbbd887c601d2c4d53fb1ed4e9eec52f826", "dad51f45cbb6afefd640e0ec2fbcb53f837f38cceec865786eb77b6171ea87bc"},
	} {
		if got := csLayerID(tc.parent, tc.diffID); got != tc.want {
			t.Errorf("csLayerID(%q, %q) = %s, want %s", tc.parent, tc.diffID, got, tc.want)
		}
	}
}

func TestMakeBigDataBaseName(t *testing.T) {
	for key, want := range map[string]string{
		"manifest": "manifest",
		"sha256:e1fa01392eafe0642ce630b26efa34dd1e2b1b0a97f9fd0072dbd0a02219c650":          "=c2hhMjU2OmUxZmEwMTM5MmVhZmUwNjQyY2U2MzBiMjZlZmEzNGRkMWUyYjFiMGE5N2Y5ZmQwMDcyZGJkMGEwMjIxOWM2NTA=",
		"manifest-sha256:0d0a60ee7015fdd600c833ad9506d96ae88ba33888bd4ccea49cbfec705fc977": "=bWFuaWZlc3Qtc2hhMjU2OjBkMGE2MGVlNzAxNWZkZDYwMGM4MzNhZDk1MDZkOTZhZTg4YmEzMzg4OGJkNGNjZWE0OWNiZmVjNzA1ZmM5Nzc=",
		"signature-0d0a60ee7015fdd600c833ad9506d96ae88ba33888bd4ccea49cbfec705fc977":       "=c2lnbmF0dXJlLTBkMGE2MGVlNzAxNWZkZDYwMGM4MzNhZDk1MDZkOTZhZTg4YmEzMzg4OGJkNGNjZWE0OWNiZmVjNzA1ZmM5Nzc=",
		"a.b.0": "a.b.0",
		"A":     "=QQ==",
	} {
		if got := makeBigDataBaseName(key); got != want {
			t.Errorf("makeBigDataBaseName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestFullName(t *testing.T) {
	for in, want := range map[string]string{
		"localhost/app:1":                                "localhost/app:1",
		"docker.io/library/busybox":                      "docker.io/library/busybox:latest",
		"registry:5000/team/app":                         "registry:5000/team/app:latest",
		"quay.io/x/y@sha256:" + strings.Repeat("ab", 32): "quay.io/x/y@sha256:" + strings.Repeat("ab", 32),
		// As Podman 4.3's podman load stores an archive's short RepoTags.
		"busybox":        "localhost/busybox:latest",
		"library/app:v1": "localhost/library/app:v1",
		"team/app:2":     "localhost/team/app:2",
		"Bad:name":       "error",
	} {
		got, err := fullName(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("fullName(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

// csFixture is a small store: an image of two layers (an opaque
// directory and a whiteout over the base), a container over it that
// wrote a file, with a named volume.
func csFixture(driver string) (*Store, *Image, *Container) {
	base := NewLayer("#(nop) ADD file:base in /", F("etc/motd", "hi\n"), D("etc/app").WithOwner(7, 8))
	app := NewLayer("make app", OPQ("etc/app"), F("etc/app/conf", "x=1\n").WithOwner(1000, 1000), WH("etc/motd"))
	img := &Image{Names: []string{"localhost/app:1"}, Layers: []*Layer{base, app}}
	c := &Container{Name: "web", Image: img, Command: []string{"/app"}, Created: t2001,
		RW: NewLayer("", F("log", "x")), Volumes: []Volume{{Name: "data", Dest: "/data", Files: []Entry{F("f", "v")}}}}
	return &Store{Kind: KindContainersStorage, Driver: driver, Images: []*Image{img}, Containers: []*Container{c}}, img, c
}

const (
	csBase  = "17bf40dd105ade413eff3f8dcf688d34d205fefed5df07d0396d7aa072d01a51"
	csApp   = "01be05384286a64ec19fb1bcc0dbdf5ffa15609dca3f01e4da43bf238d7863b1"
	csCtrL  = "98a37c018dda994c87325a103847a5239705ac8715a9cc521174f3f5f8d374a9"
	csImage = "971fa462ede76f687aa678b57d56b6a42d4a60dfad2366849c97ca0a4c8bf7ca"
	csCtr   = "22e99da6da5f098a0ea52032c8edf16efe339c7cc5f0b47b7696025ad61e4123"
	csMan   = "139b977d089967cc67ba05e5a83d06b1fd83eb444017a7aa4f3e3c853a0edb59"
)

func TestWriteContainersStorage(t *testing.T) {
	root := t.TempDir()
	s, img, c := csFixture(DriverOverlay)
	b, err := s.Write(root, layerstore.LayoutContainers)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(root, p)
		if strings.Contains(r, "/diff/") || strings.HasPrefix(r, "volumes/data/_data/") {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			r += " -> " + l
		}
		files = append(files, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "defaultNetworkBackend", "libpod", "libpod/bolt_state.db", "mounts", "overlay",
		"overlay-containers", "overlay-containers/" + csCtr, "overlay-containers/" + csCtr + "/userdata",
		"overlay-containers/" + csCtr + "/userdata/artifacts", "overlay-containers/" + csCtr + "/userdata/secrets",
		"overlay-containers/" + csCtr + "/userdata/shm", "overlay-containers/containers.json", "overlay-containers/containers.lock",
		"overlay-images", "overlay-images/" + csImage,
		"overlay-images/" + csImage + "/=bWFuaWZlc3Qtc2hhMjU2OjEzOWI5NzdkMDg5OTY3Y2M2N2JhMDVlNWE4M2QwNmIxZmQ4M2ViNDQ0MDE3YTdhYTRmM2UzYzg1M2EwZWRiNTk=",
		"overlay-images/" + csImage + "/=c2hhMjU2Ojk3MWZhNDYyZWRlNzZmNjg3YWE2NzhiNTdkNTZiNmE0MmQ0YTYwZGZhZDIzNjY4NDljOTdjYTBhNGM4YmY3Y2E=",
		"overlay-images/" + csImage + "/=c2lnbmF0dXJlLTEzOWI5NzdkMDg5OTY3Y2M2N2JhMDVlNWE4M2QwNmIxZmQ4M2ViNDQ0MDE3YTdhYTRmM2UzYzg1M2EwZWRiNTk=",
		"overlay-images/" + csImage + "/manifest", "overlay-images/images.json", "overlay-images/images.lock",
		"overlay-layers", "overlay-layers/" + csApp + ".tar-split.gz", "overlay-layers/" + csBase + ".tar-split.gz",
		"overlay-layers/layers.json", "overlay-layers/layers.lock", "overlay/.has-mount-program",
		"overlay/" + csApp, "overlay/" + csApp + "/diff", "overlay/" + csApp + "/link", "overlay/" + csApp + "/lower",
		"overlay/" + csApp + "/merged", "overlay/" + csApp + "/work",
		"overlay/" + csBase, "overlay/" + csBase + "/diff", "overlay/" + csBase + "/empty", "overlay/" + csBase + "/link",
		"overlay/" + csBase + "/merged", "overlay/" + csBase + "/work",
		"overlay/" + csCtrL, "overlay/" + csCtrL + "/diff", "overlay/" + csCtrL + "/link", "overlay/" + csCtrL + "/lower",
		"overlay/" + csCtrL + "/merged", "overlay/" + csCtrL + "/work",
		"overlay/l", "overlay/l/9VKXITFDUJ8YUV388HC3CUJQ7E -> ../" + csCtrL + "/diff",
		"overlay/l/MVTD08RQJYAT8CQUOKBE353D8A -> ../" + csApp + "/diff",
		"overlay/l/ND1PA8ZYJ1P0IKAW3TAU81QYEV -> ../" + csBase + "/diff",
		"storage.lock", "tmp", "userns.lock", "volumes", "volumes/data", "volumes/data/_data"}
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	for p, want := range map[string]string{
		"overlay-layers/layers.json": `[{"id":"` + csBase + `","created":"2016-04-21T10:42:07Z","compressed-diff-digest":"sha256:` + csBase + `","compressed-size":3072,"diff-digest":"sha256:` + csBase + `","diff-size":3072,"uidset":[0,7],"gidset":[0,8]},` +
			`{"id":"` + csApp + `","parent":"` + csBase + `","created":"2016-04-21T10:42:07Z","compressed-diff-digest":"sha256:ba42ccb5e77e0f9d2c9c62d1010e49272e64d6b9c9c4e3d9ccbf0a2510209d06","compressed-size":4096,"diff-digest":"sha256:ba42ccb5e77e0f9d2c9c62d1010e49272e64d6b9c9c4e3d9ccbf0a2510209d06","diff-size":4096,"uidset":[0,1000],"gidset":[0,1000]},` +
			`{"id":"` + csCtrL + `","names":["web-layer"],"parent":"` + csApp + `","created":"2001-02-03T04:05:06.000000007Z"}]`,
		"overlay-images/images.json": `[{"id":"` + csImage + `","digest":"sha256:` + csMan + `","names":["localhost/app:1"],"names-history":["localhost/app:1"],"layer":"` + csApp + `",` +
			`"metadata":"{\"signatures-sizes\":{\"sha256:` + csMan + `\":[]}}",` +
			`"big-data-names":["sha256:` + csImage + `","manifest-sha256:` + csMan + `","manifest","signature-` + csMan + `"],` +
			`"big-data-sizes":{"manifest":548,"manifest-sha256:` + csMan + `":548,"sha256:` + csImage + `":1241,"signature-` + csMan + `":0},` +
			`"big-data-digests":{"manifest":"sha256:` + csMan + `","manifest-sha256:` + csMan + `":"sha256:` + csMan + `","sha256:` + csImage + `":"sha256:` + csImage + `","signature-` + csMan + `":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},` +
			`"created":"2016-04-21T10:42:07Z"}]`,
		"overlay-images/" + csImage + "/manifest": `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + csImage + `","size":1241},` +
			`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:` + csBase + `","size":3072},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:ba42ccb5e77e0f9d2c9c62d1010e49272e64d6b9c9c4e3d9ccbf0a2510209d06","size":4096}]}`,
		"overlay-containers/containers.json": `[{"id":"` + csCtr + `","names":["web"],"image":"` + csImage + `","layer":"` + csCtrL + `",` +
			`"metadata":"{\"image-name\":\"localhost/app:1\",\"image-id\":\"` + csImage + `\",\"name\":\"web\",\"created-at\":981173106}",` +
			`"created":"2001-02-03T04:05:06.000000007Z","flags":{"MountLabel":"","ProcessLabel":""}}]`,
		"overlay/" + csApp + "/lower":  "l/ND1PA8ZYJ1P0IKAW3TAU81QYEV",
		"overlay/" + csCtrL + "/lower": "l/MVTD08RQJYAT8CQUOKBE353D8A:l/ND1PA8ZYJ1P0IKAW3TAU81QYEV",
		"overlay/" + csBase + "/link":  "ND1PA8ZYJ1P0IKAW3TAU81QYEV",
		"overlay/.has-mount-program":   "false",
	} {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || string(got) != want {
			t.Errorf("%s: %v\n%s\nwant\n%s", p, err, got, want)
		}
	}
	// The tar-split is of the layer's tar: its entries, whiteouts and
	// opaque markers as .wh. files.
	if got, want := tarSplitNames(t, filepath.Join(root, "overlay-layers", csApp+".tar-split.gz")), []string{"etc/", "etc/app/", "etc/app/.wh..wh..opq", "etc/app/conf", "etc/.wh.motd"}; !slices.Equal(got, want) {
		t.Errorf("tar-split names %q, want %q", got, want)
	}
	for what, pair := range map[string][2][]string{
		"LayerIDs":       {b.LayerIDs[img], {csApp, csBase}},
		"DiffIDs":        {b.DiffIDs[img], {"sha256:ba42ccb5e77e0f9d2c9c62d1010e49272e64d6b9c9c4e3d9ccbf0a2510209d06", "sha256:" + csBase}},
		"ChainIDs":       {b.ChainIDs[img], {"sha256:2e0903e6da0461f38e4e7eea13bfcfe8c770f7064a4c8ca52f7279b74e1e8dd7", "sha256:" + csBase}},
		"Chain":          {b.Chain[img], {root + "/overlay/" + csApp + "/diff", root + "/overlay/" + csBase + "/diff"}},
		"ContainerChain": {b.ContainerChain[c], {root + "/overlay/" + csCtrL + "/diff", root + "/overlay/" + csApp + "/diff", root + "/overlay/" + csBase + "/diff"}},
		"ContainerStack": {b.ContainerStack[c], {root + "/overlay/" + csCtrL + "/diff", root + "/overlay/" + csApp + "/diff", root + "/overlay/" + csBase + "/diff"}},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("%s %q, want %q", what, pair[0], pair[1])
		}
	}
	if b.ImageID[img] != csImage || b.ContainerID[c] != csCtr || b.MountID[c] != csCtrL || b.VolumeDir["data"] != root+"/volumes/data/_data" {
		t.Errorf("ids %s %s %s %s", b.ImageID[img], b.ContainerID[c], b.MountID[c], b.VolumeDir["data"])
	}
	if v, err := getXattr(root+"/overlay/"+csApp+"/diff/etc/app", "trusted.overlay.opaque"); err != nil || v != "y" {
		t.Errorf("opaque etc/app: %q %v", v, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(root+"/overlay/"+csApp+"/diff/etc/motd", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout etc/motd: %v %o", err, st.Mode)
	}
	checkLibpod(t, root)
}

// checkLibpod checks the records a reader of Podman's database needs.
func checkLibpod(t *testing.T, root string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(root, "libpod/bolt_state.db"), 0600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, kv := range [][3]string{
			{"name-registry", "web", csCtr}, {"id-registry", csCtr, "web"}, {"all-ctrs", csCtr, "web"},
			{"allVolumes", "data", "data"}, {"runtime-config", "graph-root", root}, {"runtime-config", "graph-driver-name", "overlay"},
			{"runtime-config", "static-dir", root + "/libpod"}, {"runtime-config", "volume-path", root + "/volumes"},
		} {
			if got := string(tx.Bucket([]byte(kv[0])).Get([]byte(kv[1]))); got != kv[2] {
				t.Errorf("%s/%s = %q, want %q", kv[0], kv[1], got, kv[2])
			}
		}
		ctr := tx.Bucket([]byte("ctr")).Bucket([]byte(csCtr))
		var cfg struct {
			ID, Name        string
			RootfsImageID   string `json:"rootfsImageID"`
			RootfsImageName string `json:"rootfsImageName"`
			CreatedTime     string `json:"createdTime"`
			Command         []string
			Spec            struct{ Process struct{ Args []string } }
			NamedVolumes    []struct {
				VolumeName, Dest string
			}
		}
		var state struct{ State int }
		if err := json.Unmarshal(ctr.Get([]byte("config")), &cfg); err != nil {
			return err
		}
		if err := json.Unmarshal(ctr.Get([]byte("state")), &state); err != nil {
			return err
		}
		if cfg.ID != csCtr || cfg.Name != "web" || cfg.RootfsImageID != csImage || cfg.RootfsImageName != "localhost/app:1" ||
			cfg.CreatedTime != "2001-02-03T04:05:06.000000007Z" || !slices.Equal(cfg.Command, []string{"/app"}) ||
			!slices.Equal(cfg.Spec.Process.Args, []string{"/app"}) || len(cfg.NamedVolumes) != 1 ||
			cfg.NamedVolumes[0].VolumeName != "data" || cfg.NamedVolumes[0].Dest != "/data" || state.State != 1 {
			t.Errorf("container record %+v, state %+v", cfg, state)
		}
		vol := tx.Bucket([]byte("vol")).Bucket([]byte("data"))
		if got := string(vol.Bucket([]byte("vol-dependencies")).Get([]byte(csCtr))); got != csCtr {
			t.Errorf("volume data's containers: %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tarSplitNames are the names of the file entries of a tar-split.gz.
func tarSplitNames(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	u := storage.NewJSONUnpacker(z)
	var names []string
	for {
		e, err := u.Next()
		if err != nil {
			break
		}
		if e.Type == storage.FileType {
			names = append(names, e.GetName())
		}
	}
	return names
}

// TestWriteContainersStorageForms pins how each form marks the app
// layer's opaque etc/app and whiteout of etc/motd, and where vfs keeps
// its trees.
func TestWriteContainersStorageForms(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		driver                 string
		rootless, mountProgram bool
		xattr                  string   // the opaque xattr of etc/app, "" for none
		files                  []string // present in the app layer's directory
		mountProgramFlag       string
	}{
		{"rootless", DriverOverlay, true, false, "user.overlay.opaque", []string{"etc/app/conf", "etc/motd"}, "false"},
		{"mount program", DriverOverlay, false, true, "", []string{"etc/app/.wh..wh..opq", "etc/app/conf", "etc/.wh.motd"}, "true"},
		{"vfs", DriverVFS, false, false, "", []string{"etc/app/conf"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			s, img, c := csFixture(tc.driver)
			s.Rootless, s.MountProgram = tc.rootless, tc.mountProgram
			b, err := s.Write(root, layerstore.LayoutContainers)
			if err != nil {
				t.Fatal(err)
			}
			dir := b.Chain[img][0]
			for _, f := range tc.files {
				if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			for _, x := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
				v, _ := getXattr(filepath.Join(dir, "etc/app"), x)
				if (x == tc.xattr) != (v == "y") {
					t.Errorf("%s of etc/app = %q", x, v)
				}
			}
			flag, _ := os.ReadFile(filepath.Join(root, "overlay/.has-mount-program"))
			if string(flag) != tc.mountProgramFlag {
				t.Errorf(".has-mount-program %q, want %q", flag, tc.mountProgramFlag)
			}
			if tc.driver == DriverVFS {
				// Container ids are per driver, as Podman's random ones would be.
				want := []string{root + "/vfs/dir/79db574e2cc757b17fb5cd1db7451ab9e6daea1e0f0e8448d395c39d42b67ca9"}
				if !slices.Equal(b.ContainerStack[c], want) || !slices.Equal(b.Stack[img], []string{root + "/vfs/dir/" + csApp}) {
					t.Errorf("stacks %q %q", b.ContainerStack[c], b.Stack[img])
				}
				if err := Compare(b.ContainerStack[c][0], b.ContainerView(c), CompareOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestWriteContainersStorageErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Store)
		layout layerstore.Layout
		want   string
	}{
		{"docker layout", func(*Store) {}, layerstore.LayoutCAS, "written with Kind KindContainersStorage and layout LayoutContainers together"},
		{"driver", func(s *Store) { s.Driver = DriverOverlay2 }, layerstore.LayoutContainers, `containers/storage driver "overlay2"`},
		{"vfs mount program", func(s *Store) { s.Driver, s.MountProgram = DriverVFS, true }, layerstore.LayoutContainers, "MountProgram is for driver"},
		{"bad name", func(s *Store) { s.Images[0].Names = []string{"App:1"} }, layerstore.LayoutContainers, `image name "App:1": invalid reference format`},
		{"init layer", func(s *Store) { s.Containers[0].Init = &Layer{} }, layerstore.LayoutContainers, `container "web": containers/storage has no init layer`},
		{"volume name", func(s *Store) { s.Containers[0].Volumes[0].Name = "../x" }, layerstore.LayoutContainers, `bad volume name "../x"`},
		{"volume dest", func(s *Store) { s.Containers[0].Volumes[0].Dest = "data" }, layerstore.LayoutContainers, `destination "data" is not absolute`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := csFixture(DriverOverlay)
			tc.change(s)
			_, err := s.Write(t.TempDir(), tc.layout)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	root := t.TempDir()
	s, _, _ := csFixture(DriverOverlay)
	if _, err := s.Write(root, layerstore.LayoutContainers); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(root, layerstore.LayoutContainers); err == nil || !strings.Contains(err.Error(), "the root already has overlay-layers") {
		t.Errorf("second Write: %v", err)
	}
}
