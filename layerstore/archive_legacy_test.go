package layerstore_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
)

// TestArchiveLegacy reads a docker save of Docker before 1.10, as the
// fixture writes it: its images by tag, their layers' blobs checked
// against their diff ids, and the config docker load makes.
func TestArchiveLegacy(t *testing.T) {
	busybox, app := arcImages()
	b, err := (&storetest.Archive{Kind: storetest.DockerSaveLegacy, Images: []*storetest.Image{busybox, app}}).Write(filepath.Join(t.TempDir(), "old.tar"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	if s.Layout() != layerstore.LayoutArchive || !slices.Equal(s.Drivers(), []string{"docker-archive"}) {
		t.Errorf("layout %v, drivers %v", s.Layout(), s.Drivers())
	}
	if imgs := s.Images(); len(imgs) != 2 {
		t.Fatalf("images %+v", imgs)
	}
	for _, img := range []*storetest.Image{busybox, app} {
		tg, err := s.Resolve(img.Names[0])
		if err != nil {
			t.Fatal(err)
		}
		if tg.Image.ID != b.ImageID[img] || !slices.Equal(tg.Image.Names, img.Names) {
			t.Errorf("%v resolved to %s %v, want %s", img.Names, tg.Image.ID, tg.Image.Names, b.ImageID[img])
		}
		topFirst := slices.Clone(b.DiffIDs[img])
		slices.Reverse(topFirst)
		checkArchiveLayers(t, tg, topFirst, seekable.Uncompressed, "")
		for _, l := range tg.Layers {
			if !strings.HasSuffix(l.Archive.Member, "/layer.tar") {
				t.Errorf("layer %s: member %s", l.ID, l.Archive.Member)
			}
			if _, err := layerstore.CheckArchiveLayer(l.Archive, l.DiffID, nil); err != nil {
				t.Errorf("verify: %v", err)
			}
			st, err := layerstore.OpenArchiveLayer(l.Archive, l.DiffID)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			st.Close()
		}
		cfg, err := s.ImageConfig(tg)
		if sum := sha256.Sum256(cfg); err != nil || hex.EncodeToString(sum[:]) != tg.Image.ID {
			t.Errorf("config: %v, digest %x", err, sum)
		}
	}
	// Every step of the chain made a layer: the empty ENV step was none.
	tg, _ := s.Resolve("registry.example:5000/team/app:v2")
	if h, err := s.History(tg); err != nil || len(h) != 2 || h[0].Layer == nil || h[1].Layer == nil {
		t.Errorf("history %+v %v", h, err)
	}
}

// emptyTar is a tar with no entries: its diff id is Docker's
// DigestSHA256EmptyTar.
var emptyTar = make([]byte, 1024)

const (
	emptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
	v1Base         = "1111111111111111111111111111111111111111111111111111111111111111"
	v1Top          = "ab2222222222222222222222222222222222222222222222222222222222cdef"
)

// legacyMember is one member of a hand-written legacy save.
type legacyMember struct {
	name, data, link string
}

// writeTar writes members as a tar at p.
func writeTar(t *testing.T, p string, members []legacyMember) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}
		if m.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, m.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// legacyJSONs are the v1 jsons of a two-layer pre-1.10 image, as Docker
// 1.9 wrote them (docker_version 1.9.1: no fallback through the struct).
const (
	legacyBaseJSON = `{"id":"` + v1Base + `","created":"2015-11-20T10:00:00.000000000Z","container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD file:abc in /"]},"docker_version":"1.9.1","architecture":"amd64","os":"linux"}`
	legacyTopJSON  = `{"id":"` + v1Top + `","parent":"` + v1Base + `","created":"2015-11-20T10:00:01.000000000Z","container_config":{"Cmd":["/bin/sh","-c","#(nop) CMD [\"sh\"]"]},"config":{"Cmd":["sh"]},"docker_version":"1.9.1","architecture":"amd64","os":"linux","Size":0}`
)

// legacyGood is a well-formed legacy save of that image, tagged old:1.
func legacyGood() []legacyMember {
	return []legacyMember{
		{name: "repositories", data: `{"old":{"1":"` + v1Top + `"}}`},
		{name: v1Base + "/VERSION", data: "1.0"},
		{name: v1Base + "/json", data: legacyBaseJSON},
		{name: v1Base + "/layer.tar", data: string(emptyTar)},
		{name: v1Top + "/VERSION", data: "1.0"},
		{name: v1Top + "/json", data: legacyTopJSON},
		{name: v1Top + "/layer.tar", data: string(emptyTar)},
	}
}

// TestArchiveLegacyParse checks the config made of a hand-written
// legacy save: its id, diff ids, history, and the fields taken from the
// top json; then that each damage is an error naming the member.
func TestArchiveLegacyParse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "old.tar")
	writeTar(t, p, legacyGood())
	s, err := layerstore.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve("old:1")
	if err != nil {
		t.Fatal(err)
	}
	const wantID = "e5524ca4453f4b47352b26a23139aeb74c0aa36a60ba8db6419c1059ad9219c9"
	if tg.Image.ID != wantID {
		t.Errorf("image id %s, want %s", tg.Image.ID, wantID)
	}
	cfg, err := s.ImageConfig(tg)
	if err != nil {
		t.Fatal(err)
	}
	const wantConfig = `{"architecture":"amd64","config":{"Cmd":["sh"]},"container_config":{"Cmd":["/bin/sh","-c","#(nop) CMD [\"sh\"]"]},"created":"2015-11-20T10:00:01.000000000Z","docker_version":"1.9.1","history":[{"created":"2015-11-20T10:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:abc in /"},{"created":"2015-11-20T10:00:01Z","created_by":"/bin/sh -c #(nop) CMD [\"sh\"]"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef","sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"]}}`
	if string(cfg) != wantConfig {
		t.Errorf("config\n%s\nwant\n%s", cfg, wantConfig)
	}
	if len(tg.Layers) != 2 || tg.Layers[0].DiffID != emptyTarDiffID || tg.Layers[1].Archive.Member != v1Base+"/layer.tar" {
		t.Errorf("layers %+v", tg.Layers)
	}

	// Jsons of Docker before 1.8.3 go through Docker 1.10's V1Image
	// first, which drops what it has no field for ("checksum"). The ids
	// are those a Docker 20.10 gave these saves in docker load.
	for _, c := range []struct{ name, base, top, id string }{
		{"docker 1.9.1", legacyBaseJSON, legacyTopJSON, wantID},
		{"docker 1.6.2", strings.Replace(legacyBaseJSON, "1.9.1", "1.6.2", 1),
			`{"id":"` + v1Top + `","parent":"` + v1Base + `","created":"2015-11-20T10:00:01.000000000Z","container":"c0ffee","container_config":{"Hostname":"x","Cmd":["/bin/sh","-c","#(nop) CMD [\"sh\"]"],"Env":["PATH=/bin"]},"config":{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{}},"docker_version":"1.6.2","author":"me","architecture":"amd64","os":"linux","Size":0,"checksum":"tarsum+sha256:abc"}`,
			"529203af52de63ebcba3d29ce368b517ced385ee459d541f85e5beee5af0cc9d"},
		{"no docker_version", strings.Replace(legacyBaseJSON, `,"docker_version":"1.9.1"`, "", 1),
			strings.Replace(legacyTopJSON, `,"docker_version":"1.9.1"`, "", 1), "2bf6470a6104e44e3ed495c7d8a85057c2f7a807a23576a8ec8dae901b810577"},
	} {
		p := filepath.Join(t.TempDir(), "old.tar")
		ms := legacyGood()
		ms[2].data, ms[5].data = c.base, c.top
		writeTar(t, p, ms)
		s, err := layerstore.Open(p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tg, err := s.Resolve("old:1")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if tg.Image.ID != c.id {
			t.Errorf("%s: image id %s, want %s", c.name, tg.Image.ID, c.id)
		}
	}

	// docker load takes a gzip layer.tar as well: the diff id is its
	// tar's, so the image is the same.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(emptyTar)
	zw.Close()
	ms := legacyGood()
	ms[6].data = gz.String()
	writeTar(t, p, ms)
	if s, err = layerstore.Open(p); err != nil {
		t.Fatal(err)
	}
	if tg, err = s.Resolve("old:1"); err != nil || tg.Image.ID != wantID {
		t.Fatalf("gzip layer.tar: %v, want image %s", err, wantID)
	}
	if b := tg.Layers[0].Archive; b.Compression != seekable.Gzip || tg.Layers[0].DiffID != emptyTarDiffID {
		t.Errorf("gzip layer.tar: blob %+v, diff id %s", b, tg.Layers[0].DiffID)
	}
	if _, err := layerstore.CheckArchiveLayer(tg.Layers[0].Archive, emptyTarDiffID, nil); err != nil {
		t.Errorf("gzip layer.tar: %v", err)
	}

	replace := func(name, data string) func([]legacyMember) []legacyMember {
		return func(ms []legacyMember) []legacyMember {
			for i := range ms {
				if ms[i].name == name {
					ms[i].data = data
				}
			}
			return ms
		}
	}
	drop := func(name string) func([]legacyMember) []legacyMember {
		return func(ms []legacyMember) []legacyMember {
			return slices.DeleteFunc(ms, func(m legacyMember) bool { return m.name == name })
		}
	}
	for _, c := range []struct {
		name string
		edit func([]legacyMember) []legacyMember
		want string
	}{
		{"tag names no layer", replace("repositories", `{"old":{"1":"`+strings.Repeat("3", 64)+`"}}`), "member " + strings.Repeat("3", 64) + "/json is not in the archive"},
		{"tag names a path", replace("repositories", `{"old":{"1":"../../etc"}}`), `v1 id "../../etc" is not 64 lowercase hex digits`},
		{"upper-case v1 id", replace("repositories", `{"old":{"1":"`+strings.ToUpper(v1Top)+`"}}`), "is not 64 lowercase hex digits"},
		{"missing json", drop(v1Base + "/json"), "member " + v1Base + "/json is not in the archive"},
		{"missing layer.tar", drop(v1Top + "/layer.tar"), "member " + v1Top + "/layer.tar is not in the archive"},
		{"id not its directory's", replace(v1Base+"/json", strings.Replace(legacyBaseJSON, v1Base, v1Top, 1)), "member " + v1Base + "/json: its id is \"" + v1Top + "\", not its directory's"},
		{"parent a path", replace(v1Top+"/json", strings.Replace(legacyTopJSON, `"parent":"`+v1Base, `"parent":"../x`, 1)), `member ` + v1Top + `/json: its parent "../x" is not 64 lowercase hex digits`},
		{"parent loop", replace(v1Base+"/json", strings.Replace(legacyBaseJSON, `"created"`, `"parent":"`+v1Top+`","created"`, 1)), "its chain of parents goes round"},
		{"bad json", replace(v1Top+"/json", "{"), "member " + v1Top + "/json: invalid JSON"},
		{"bad repositories", replace("repositories", "["), "member repositories: invalid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "old.tar")
			writeTar(t, p, c.edit(legacyGood()))
			// An image that cannot be read is a problem of the store, or,
			// where no image can be, the error of its opening.
			s, err := layerstore.Open(p)
			if err == nil {
				err = errors.Join(s.Problems()...)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// What a legacy save's layer.tar hashed to is cached by a stamp of the
// file as it is: a second opening hashes nothing and finds the same
// images, and the same archive written over, same size, is hashed again
// (its changed layer gives another image id), never served from the cache.
func TestArchiveLegacyCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("AUFSMOUNT_NO_CACHE", "")
	busybox, _ := arcImages()
	b, err := (&storetest.Archive{Kind: storetest.DockerSaveLegacy, Images: []*storetest.Image{busybox}}).Write(filepath.Join(t.TempDir(), "old.tar"))
	if err != nil {
		t.Fatal(err)
	}
	id := func() string {
		t.Helper()
		s, err := layerstore.Open(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := s.Resolve(busybox.Names[0])
		if err != nil {
			t.Fatal(err)
		}
		return tg.Image.ID
	}
	if got := id(); got != b.ImageID[busybox] {
		t.Fatalf("first opening: %s, want %s", got, b.ImageID[busybox])
	}
	stamps, _ := filepath.Glob(filepath.Join(cache, "aufsmount", "archive", "legacy-*"))
	if len(stamps) != len(b.DiffIDs[busybox]) {
		t.Fatalf("%d cached digests, want one per layer (%d)", len(stamps), len(b.DiffIDs[busybox]))
	}
	if got := id(); got != b.ImageID[busybox] {
		t.Fatalf("second opening: %s, want %s", got, b.ImageID[busybox])
	}
	// The content of the base layer's etc/passwd changed in place, same
	// size: the archive keeps its size and inode, not its times.
	data, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(data, []byte("root:x:0:0")) != 1 {
		t.Fatal("etc/passwd's content is not in the archive once")
	}
	data = bytes.Replace(data, []byte("root:x:0:0"), []byte("toor:x:0:0"), 1)
	if err := os.WriteFile(b.Path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := id(); got == b.ImageID[busybox] {
		t.Fatalf("a changed layer.tar kept the image id %s: its cached digests were used", got)
	}
}
