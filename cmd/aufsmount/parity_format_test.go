package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

// wantFailure runs args on the store and wants exit status code, nothing
// on stdout and stderr exactly msg (with the store's root written $ROOT).
func (p *parityStore) wantFailure(t *testing.T, code int, msg string, args ...string) {
	t.Helper()
	out, errs, got := runHere(t, append([]string{"--root", p.Root}, args...)...)
	if got != code || out != "" || errs != msg {
		t.Errorf("aufsmount %q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", args, got, out, errs, code, msg)
	}
}

func TestParityInspectFormat(t *testing.T) {
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	db := state(true, 0, parityNow.Add(-3*time.Hour), time.Time{})
	db["Pid"] = 207289555
	p.editConfig(t, p.db, map[string]any{"State": db})
	// Numbers as written; fields docker's types have, empty or nil where
	// the store has nothing; the platform the engine takes where the
	// config names none.
	p.wantOutput(t, "207289555 207289555 172.17.0.2 linux <nil> <nil>\n",
		"inspect", "-f", "{{.State.Pid}} {{json .State.Pid}} {{.NetworkSettings.IPAddress}} {{.Platform}} {{.SizeRw}} {{.State.Health}}", "db")
	p.wantOutput(t, "62 62 ||\n", "inspect", "-f", "{{.Size}} {{json .VirtualSize}} |{{.Variant}}|{{.OsVersion}}", "team/app:v1")
	p.wantOutput(t, "map[] <nil> [] <nil> false\n", "inspect", "-f",
		"{{.Config.ExposedPorts}} {{.Config.StopTimeout}} {{.Config.Shell}} {{.ContainerConfig.Healthcheck}} {{.Config.ArgsEscaped}}", "team/app:v1")
	p.wantOutput(t, "map[] <nil> \n", "inspect", "-f", "{{.Config.ExposedPorts}} {{.Config.StopTimeout}} {{.Config.StopSignal}}", "db")
	// When an image was last tagged, from its metadata, a time as Go
	// prints one; zero where the store keeps none.
	tagged := filepath.Join(p.Root, "image", "overlay2", "imagedb", "metadata", "sha256", p.ImageID[p.busybox])
	if err := os.MkdirAll(tagged, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tagged, "lastUpdated"), []byte("2024-04-30T12:00:00.5Z"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.wantOutput(t, "2024-04-30 12:00:00.5 +0000 UTC \"2024-04-30T12:00:00.5Z\"\n0001-01-01 00:00:00 +0000 UTC\n",
		"inspect", "-f", "{{.Metadata.LastTagTime}}{{if .RepoTags}} {{json .Metadata.LastTagTime}}{{end}}", "busybox", "5815")
	// JSON of a part has its keys sorted (docker's keeps its types'
	// order); the engine's own fields are not there.
	p.wantOutput(t, `{"Aliases":null,"DriverOpts":null,"EndpointID":"9975a0c42909","Gateway":"172.17.0.1","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"172.17.0.2","IPPrefixLen":16,"IPv6Gateway":"","Links":null,"MacAddress":"02:42:ac:11:00:02","NetworkID":"e06b7fd96c3d"}`+"\n",
		"inspect", "-f", "{{json .NetworkSettings.Networks.bridge}}", "db")
	// A field of no type is an error, as docker's is.
	p.wantFailure(t, 1, `aufsmount: inspect: -f: template: inspect:1:18: executing "inspect" at <.NetworkSettings.Nope>: map has no entry for key "Nope"`+"\n",
		"inspect", "-f", "{{.NetworkSettings.Nope}}", "db")
}

func TestParityInspectType(t *testing.T) {
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	// 5 is the prefix of the container fresh (5d5f22e70873) and of an
	// image (5815f6d1f65e): docker inspect looks among containers first.
	p.wantOutput(t, "/fresh\n", "inspect", "-f", "{{.Name}}", "5")
	p.wantOutput(t, "sha256:5815f6d1f65e88fec37b069b0f2a0e94097829871ac12a97271e2b4bfa3a99df\n", "inspect", "--type", "image", "-f", "{{.Id}}", "5")
	p.wantOutput(t, "/fresh\n", "inspect", "--type", "container", "-f", "{{.Name}}", "5")
	// 9 is an image's only.
	p.wantOutput(t, "sha256:90ca835ab13a7c7defd74aa55cc653f19f684c9348153e819aaff567756b3666\n", "inspect", "-f", "{{.Id}}", "9")
	p.wantFailure(t, 1, "aufsmount: 9: no such container (it names the image 90ca835ab13a)\n", "inspect", "--type", "container", "9")
	p.wantFailure(t, 1, "aufsmount: db: no such image (it names the container db)\n", "inspect", "--type", "image", "db")
	p.wantFailure(t, 1, "aufsmount: busybox: no such container (it names the image busybox:latest)\n", "inspect", "--type", "container", "busybox")
	p.wantFailure(t, 2, "aufsmount: inspect: --type volume: not a type of the store (image or container)\n", "inspect", "--type", "volume", "db")
}

func TestParityShortPrefix(t *testing.T) {
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	// Any unique prefix, even one digit, as docker takes it; names first.
	p.wantOutput(t, "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\nteam/app     v1        d6e4d0eab2fe   2 hours ago   62B\n", "images", "team/app")
	p.wantOutput(t, "d6e4d0eab2fe\n90ca835ab13a\n<missing>\n", "history", "-q", "d")
	p.wantOutput(t, "ef9763fe1101\n<missing>\n", "history", "-q", "ef")
	p.wantOutput(t, "ef9763fe1101\n<missing>\n", "history", "-q", "e")
	p.wantFailure(t, 1, "aufsmount: 5: ambiguous: 5815f6d1f65e, fresh\n", "history", "5")
	p.wantFailure(t, 1, "aufsmount: 77777777: not found\n", "history", "77777777")
}

func TestParityImagesJSONRow(t *testing.T) {
	p := writeParity(t, "", layerstore.LayoutCAS)
	// {{json .}} is the whole row, its size worked out; <, > and &
	// escaped, as docker's rows go through json.Marshal; VIRTUAL SIZE
	// with four digits.
	p.wantOutput(t, `{"Containers":"N/A","CreatedAt":"2024-01-22 12:00:00 +0000 UTC","CreatedSince":"3 months ago","Digest":"\u003cnone\u003e","Driver":"aufs","ID":"f85a19b3d21e","LayerCount":"1","Repository":"alpine","SharedSize":"N/A","Size":"5B","Tag":"\u003cnone\u003e","UniqueSize":"N/A","VirtualSize":"5B"}
`, "images", "--format", "{{json .}}", "alpine")
	p.wantOutput(t, "5B\n", "images", "--format", "{{with $}}{{.Size}}{{end}}", "alpine")
	p.wantOutput(t, "N/A f85a19b3d21e\n", "images", "--format", "{{.SharedSize}} {{.ID}}", "alpine")
}
