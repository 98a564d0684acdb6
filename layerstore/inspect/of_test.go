package inspect_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/inspect"
)

// ofStore is an overlay2 store of an image with a tag and a digest, and
// a container of it with a volume of the store and a bind of the host.
func ofStore(t *testing.T) (*st.Built, *st.Container, layerstore.Source) {
	t.Helper()
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	base := st.NewLayer("base", st.F("etc/motd", "hi\n"))
	base.Created = created
	top := st.NewLayer("top", st.F("app", "v1"))
	top.Created = created
	img := &st.Image{Names: []string{"app:v1", "app@sha256:" + strings.Repeat("5c", 32)}, Layers: []*st.Layer{base, top}}
	web := &st.Container{Name: "web", Image: img, Created: created}
	b, err := (&st.Store{Driver: "overlay2", Images: []*st.Image{img}, Containers: []*st.Container{web}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	err = b.EditConfig(web, map[string]any{"MountPoints": map[string]any{
		"/data": map[string]any{"Type": "volume", "Name": "data", "Destination": "/data", "Driver": "local", "RW": true},
		"/host": map[string]any{"Type": "bind", "Source": "/srv/host", "Destination": "/host", "Propagation": "rprivate"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b.Root, "volumes", "data", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	return b, web, s
}

// TestOf: what Of makes of an image and a container, and of a container
// whose hostconfig.json is gone.
func TestOf(t *testing.T) {
	b, web, s := ofStore(t)
	tg, err := s.Resolve("app:v1")
	if err != nil {
		t.Fatal(err)
	}
	v, warnings, err := inspect.Of(s, tg)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("image: %v, warnings %v", err, warnings)
	}
	img := v.(*inspect.Image)
	got, _ := json.Marshal([]any{img.Id, img.RepoTags, img.RepoDigests, img.Created, *img.Size, img.GraphDriver.Name, img.RootFS})
	want := `["sha256:a3dde59f10e2dcc710efcf63dea4ef4ed8347638fc54ac65d20431b5c2ab739c",["app:v1"],["app@sha256:5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c"],"2024-05-01T10:00:00Z",5,"overlay2",` +
		`{"Type":"layers","Layers":["sha256:2b0a273b345412c8f5cd70607715ac7f3636ecdbf554bf95a27dd80fd68141e8","sha256:ca9bb42ad026741460c2d4a84521c1c95f9fcd2f7fe4ba543760f7f152ffd355"]}]`
	if string(got) != want {
		t.Errorf("image:\n got %s\nwant %s", got, want)
	}

	tg, err = s.Resolve("web")
	if err != nil {
		t.Fatal(err)
	}
	v, warnings, err = inspect.Of(s, tg)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("container: %v, warnings %v", err, warnings)
	}
	ctr := v.(*inspect.Container)
	root := b.Root
	got, _ = json.Marshal([]any{ctr.Name, ctr.State, ctr.Platform, ctr.Mounts, ctr.AufsMount})
	got = []byte(strings.ReplaceAll(string(got), root, "$ROOT"))
	id := b.ContainerID[web]
	want = `["/web",{"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"2024-05-01T10:00:00Z","FinishedAt":"2024-05-01T10:00:00Z"},"linux",` +
		`[{"Type":"volume","Name":"data","Source":"$ROOT/volumes/data/_data","Destination":"/data","Driver":"local","Mode":"","RW":true,"Propagation":""},` +
		`{"Type":"bind","Source":"/srv/host","Destination":"/host","Mode":"","RW":false,"Propagation":"rprivate"}],` +
		`{"Binds":[{"Destination":"/data","Source":"$ROOT/volumes/data/_data","Kind":"volume"},` +
		`{"Destination":"/etc/hostname","Source":"$ROOT/containers/` + id + `/hostname","Kind":"hostname"},` +
		`{"Destination":"/etc/hosts","Source":"$ROOT/containers/` + id + `/hosts","Kind":"hosts"},` +
		`{"Destination":"/etc/resolv.conf","Source":"$ROOT/containers/` + id + `/resolv.conf","Kind":"resolv.conf"}],` +
		`"NotShown":[{"Destination":"/host","Source":"/srv/host","Kind":"bind","Reason":"a host path, not in the store"}]}]`
	if string(got) != want {
		t.Errorf("container:\n got %s\nwant %s", got, want)
	}

	if string(ctr.HostConfig) != `{"Binds":null,"NetworkMode":"default","RestartPolicy":{"Name":"no","MaximumRetryCount":0}}` {
		t.Errorf("HostConfig %s", ctr.HostConfig)
	}
	// Without hostconfig.json, HostConfig is null; unreadable, a warning.
	host := filepath.Join(root, "containers", id, "hostconfig.json")
	if err := os.Remove(host); err != nil {
		t.Fatal(err)
	}
	v, warnings, err = inspect.Of(s, tg)
	if err != nil || len(warnings) != 0 || v.(*inspect.Container).HostConfig != nil {
		t.Errorf("without hostconfig.json: %v, warnings %v", err, warnings)
	}
	if err := os.Mkdir(host, 0o755); err != nil {
		t.Fatal(err)
	}
	v, warnings, err = inspect.Of(s, tg)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0].Error(), host) || v.(*inspect.Container).HostConfig != nil {
		t.Errorf("with a directory for hostconfig.json: %v, warnings %v", err, warnings)
	}
}
