package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// The docker-like listings (images, ps, history, inspect, diff of a
// container) on a store whose times and ids are fixed, run in this
// process with the clock fixed, each compared with the whole output
// expected, written out.

var parityNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// parityStore is busybox:latest (a base layer and a CMD step); mid, an
// untagged image on the same base that team/app:v1 (also
// registry:5000/team/app:v2) was built on; an untagged image nothing is
// built on; alpine known by digest only; and three containers: web
// (exited 127, its writable layer changes /etc), db (running when the
// store was copied, with ports, a named volume, a host bind and a tmpfs)
// and fresh (never started).
type parityStore struct {
	*st.Built
	busybox, mid, app, dangling, alpine *st.Image
	web, db, fresh                      *st.Container
}

func writeParity(t *testing.T, driver string, layout layerstore.Layout) *parityStore {
	t.Helper()
	at := func(d time.Duration) time.Time { return parityNow.Add(-d) }
	const day = 24 * time.Hour
	base := st.NewLayer("#(nop) ADD file:6ce6 in / ", // docker build keeps what follows the path
		st.D("bin"), st.F("bin/sh", "#!/bin/busybox\n"), st.D("etc"), st.F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"))
	base.Created = at(3*365*day + 10*day)
	cmd := &st.Layer{CreatedBy: `#(nop)  CMD ["sh"]`, Empty: true, Created: at(3*365*day + 10*day - time.Minute)}
	midLayer := st.NewLayer("apk add --no-cache curl", st.F("usr/bin/curl", "curl binary"))
	midLayer.Created = at(30 * day)
	appLayer := st.NewLayer("echo hello > /etc/motd", st.F("etc/motd", "hello\n"))
	appLayer.Created = at(2 * time.Hour)
	other := st.NewLayer("#(nop) ADD file:9a1c in /", st.D("lib"), st.F("lib/ld.so", "elf"))
	other.Created = at(20 * day)
	alpineLayer := st.NewLayer("#(nop) ADD file:a1b2 in /", st.F("etc/alpine-release", "3.19\n"))
	alpineLayer.Created = at(100 * day)
	p := &parityStore{
		busybox:  &st.Image{Names: []string{"busybox:latest"}, Layers: []*st.Layer{base, cmd}},
		mid:      &st.Image{Layers: []*st.Layer{base, midLayer}},
		app:      &st.Image{Names: []string{"team/app:v1", "registry:5000/team/app:v2"}, Layers: []*st.Layer{base, midLayer, appLayer}},
		dangling: &st.Image{Layers: []*st.Layer{other}},
		alpine:   &st.Image{Names: []string{"alpine@sha256:" + strings.Repeat("5c", 32)}, Layers: []*st.Layer{alpineLayer}},
	}
	p.web = &st.Container{Name: "web", Image: p.app, Created: at(3 * day),
		RW: st.NewLayer("", st.F("tmp/x", "x"), st.F("etc/passwd", "root:x:0:0:root:/root:/bin/ash\n"), st.WH("etc/motd"))}
	p.db = &st.Container{Name: "db", Image: p.busybox, Created: at(5 * time.Hour)}
	p.fresh = &st.Container{Name: "fresh", Image: p.busybox, Created: at(time.Minute)}
	store := &st.Store{Driver: driver, Images: []*st.Image{p.busybox, p.mid, p.app, p.dangling, p.alpine},
		Containers: []*st.Container{p.web, p.db, p.fresh}}
	b, err := store.Write(filepath.Join(t.TempDir(), "docker"), layout)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	p.Built = b
	if layout == layerstore.LayoutCAS {
		// app was built on mid, as a local build records it.
		meta := filepath.Join(b.Root, "image", b.Driver, "imagedb", "metadata", "sha256", b.ImageID[p.app])
		if err := os.MkdirAll(meta, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(meta, "parent"), []byte("sha256:"+b.ImageID[p.mid]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.editConfig(t, p.web, map[string]any{
		"Path":  "sh",
		"Args":  []string{"-c", "echo hello from the web; exit 127"},
		"State": state(false, 127, at(3*day-time.Minute), at(2*day)),
	})
	p.editConfig(t, p.db, map[string]any{
		"Path":  "/usr/local/bin/docker-entrypoint.sh",
		"Args":  []string{"postgres"},
		"State": state(true, 0, at(3*time.Hour), time.Time{}),
		// As Docker 20.10 writes it, with the engine's own fields
		// (IPAMOperational, Service ...).
		"NetworkSettings": map[string]any{
			"Bridge": "", "SandboxID": "f49ef6bad45f", "HairpinMode": false, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
			"Networks": map[string]any{"bridge": map[string]any{
				"IPAMConfig": nil, "Links": nil, "Aliases": nil, "NetworkID": "e06b7fd96c3d", "EndpointID": "9975a0c42909",
				"Gateway": "172.17.0.1", "IPAddress": "172.17.0.2", "IPPrefixLen": 16, "IPv6Gateway": "", "GlobalIPv6Address": "",
				"GlobalIPv6PrefixLen": 0, "MacAddress": "02:42:ac:11:00:02", "DriverOpts": nil, "IPAMOperational": false}},
			"Service": nil, "SandboxKey": "/var/run/docker/netns/f49ef6bad45f",
			"Ports":                map[string]any{"5432/tcp": []map[string]string{{"HostIp": "0.0.0.0", "HostPort": "15432"}}, "8080/tcp": nil, "8081/tcp": nil},
			"SecondaryIPAddresses": nil, "SecondaryIPv6Addresses": nil, "IsAnonymousEndpoint": false, "HasSwarmEndpoint": false,
		},
		"MountPoints": map[string]any{
			"/var/lib/db": map[string]any{"Type": "volume", "Name": "dbdata", "Source": "", "Destination": "/var/lib/db", "Driver": "local", "RW": true, "Mode": "z"},
			"/host":       map[string]any{"Type": "bind", "Source": "/srv/host", "Destination": "/host", "RW": false, "Propagation": "rprivate"},
			"/run":        map[string]any{"Type": "tmpfs", "Destination": "/run", "RW": true},
		},
	})
	p.editConfig(t, p.fresh, map[string]any{"State": state(false, 0, time.Time{}, time.Time{})})
	data := filepath.Join(b.Root, "volumes", "dbdata", "_data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "table"), []byte("rows\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func state(running bool, code int, started, finished time.Time) map[string]any {
	return map[string]any{"Running": running, "Paused": false, "Restarting": false, "OOMKilled": false, "Dead": false,
		"Pid": 0, "ExitCode": code, "Error": "", "StartedAt": started, "FinishedAt": finished}
}

// editConfig sets fields of a container's config, as Docker would have
// written them.
func (p *parityStore) editConfig(t *testing.T, c *st.Container, fields map[string]any) {
	t.Helper()
	if err := p.EditConfig(c, fields); err != nil {
		t.Fatal(err)
	}
}

// runHere runs a command line in this process, at parityNow, in UTC.
func runHere(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	saved, savedLocal := clock, time.Local
	clock, time.Local = func() time.Time { return parityNow }, time.UTC
	defer func() { clock, time.Local = saved, savedLocal }()
	var out, errb bytes.Buffer
	code := run(append([]string{"aufsmount"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// wantOutput runs args and compares stdout, with the store's root
// written $ROOT, with want; stderr must be empty and the exit status 0.
func (p *parityStore) wantOutput(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errs, code := runHere(t, append([]string{"--root", p.Root}, args...)...)
	if code != 0 || errs != "" {
		t.Errorf("aufsmount %q: exit %d, stderr %q", args, code, errs)
	}
	if got := strings.ReplaceAll(out, p.Root, "$ROOT"); got != want {
		t.Errorf("aufsmount %s printed\n%s\nwant\n%s", strings.Join(args, " "), got, want)
	}
}

func TestParityImages(t *testing.T) {
	p := writeParity(t, "", layerstore.LayoutCAS)
	// mid (90ca835ab13a) is untagged and team/app is built on it: an
	// intermediate image, shown with -a only; the untagged image nothing
	// is built on (5815f6d1f65e) is shown.
	p.wantOutput(t, `REPOSITORY               TAG       IMAGE ID       CREATED        SIZE
registry:5000/team/app   v2        d6e4d0eab2fe   2 hours ago    62B
team/app                 v1        d6e4d0eab2fe   2 hours ago    62B
<none>                   <none>    5815f6d1f65e   2 weeks ago    3B
alpine                   <none>    f85a19b3d21e   3 months ago   5B
busybox                  latest    ef9763fe1101   3 years ago    45B
`, "images")
	p.wantOutput(t, `REPOSITORY               TAG       DIGEST                                                                    IMAGE ID       CREATED        SIZE
registry:5000/team/app   v2        <none>                                                                    d6e4d0eab2fe   2 hours ago    62B
team/app                 v1        <none>                                                                    d6e4d0eab2fe   2 hours ago    62B
<none>                   <none>    <none>                                                                    5815f6d1f65e   2 weeks ago    3B
<none>                   <none>    <none>                                                                    90ca835ab13a   4 weeks ago    56B
alpine                   <none>    sha256:5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c   f85a19b3d21e   3 months ago   5B
busybox                  latest    <none>                                                                    ef9763fe1101   3 years ago    45B
`, "images", "-a", "--digests")
	// A reference filter, as docker's: the repository's path, with
	// wildcards; registry:5000/team/app does not match team/*.
	p.wantOutput(t, `REPOSITORY   TAG       IMAGE ID       CREATED       SIZE
team/app     v1        d6e4d0eab2fe   2 hours ago   62B
`, "images", "team/*")
	p.wantOutput(t, `REPOSITORY   TAG       IMAGE ID       CREATED       SIZE
busybox      latest    ef9763fe1101   3 years ago   45B
`, "images", "busybox")
	p.wantOutput(t, `REPOSITORY   TAG       IMAGE ID   CREATED   SIZE
`, "images", "nothing*")
	// -q: each image once.
	p.wantOutput(t, "d6e4d0eab2fe\n5815f6d1f65e\nf85a19b3d21e\nef9763fe1101\n", "images", "-q")
	p.wantOutput(t, `sha256:d6e4d0eab2fe7f2575bb48fa91bc9b720bb33938f0b2e1b95ebac11b845c2b77
sha256:5815f6d1f65e88fec37b069b0f2a0e94097829871ac12a97271e2b4bfa3a99df
sha256:90ca835ab13a7c7defd74aa55cc653f19f684c9348153e819aaff567756b3666
sha256:f85a19b3d21e49969b70867b2171f22835886f6dc7173621a92580a3be96fe4b
sha256:ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285
`, "images", "-a", "-q", "--no-trunc")
	p.wantOutput(t, `registry:5000/team/app:v2 d6e4d0eab2fe 62B <none>
team/app:v1 d6e4d0eab2fe 62B <none>
<none>:<none> 5815f6d1f65e 3B <none>
alpine:<none> f85a19b3d21e 5B sha256:5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c
busybox:latest ef9763fe1101 45B <none>
`, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.Digest}}")
	p.wantOutput(t, `REPOSITORY   CREATED AT                      LAYERS
busybox      2021-04-22 12:01:00 +0000 UTC   1
`, "images", "--format", `table {{.Repository}}\t{{.CreatedAt}}\t{{.LayerCount}}`, "busybox")
	p.wantOutput(t, `{"Containers":"N/A","CreatedAt":"2024-01-22 12:00:00 +0000 UTC","CreatedSince":"3 months ago","Digest":"\u003cnone\u003e","Driver":"aufs","ID":"f85a19b3d21e","LayerCount":"1","Repository":"alpine","SharedSize":"N/A","Size":"5B","Tag":"\u003cnone\u003e","UniqueSize":"N/A","VirtualSize":"5B"}
`, "images", "--format", "json", "alpine")
	p.wantOutput(t, `[
  {
    "id": "ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285",
    "names": [
      "busybox:latest"
    ],
    "created": "2021-04-22T12:01:00Z",
    "layer_count": 1,
    "layers": 1,
    "size": 45,
    "intermediate": false,
    "driver": "aufs"
  }
]
`, "images", "--json", "busybox")

	// Before 1.10 every layer is an image: the base and mid are
	// intermediate.
	g := writeParity(t, "", layerstore.LayoutGraph)
	g.wantOutput(t, `REPOSITORY               TAG       IMAGE ID       CREATED        SIZE
registry:5000/team/app   v2        6126d84c6b9a   2 hours ago    62B
team/app                 v1        6126d84c6b9a   2 hours ago    62B
<none>                   <none>    64ce791694ec   2 weeks ago    3B
alpine                   <none>    de92cd78a9f1   3 months ago   5B
busybox                  latest    a25376169f33   3 years ago    45B
`, "images")
	g.wantOutput(t, `6126d84c6b9a
64ce791694ec
d4b9f11e452b
de92cd78a9f1
a25376169f33
05a5a07dacd6
`, "images", "-q", "-a")
}

func TestParityImageSizes(t *testing.T) {
	// Sizes come from the layers' size files, and from the directories
	// where those say 0 or are missing: the same figures.
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	want := `REPOSITORY   TAG       IMAGE ID       CREATED       SIZE
team/app     v1        d6e4d0eab2fe   2 hours ago   62B
`
	p.wantOutput(t, want, "images", "team/app")
	for i, ch := range p.ChainIDs[p.app] {
		f := filepath.Join(p.Root, "image", "overlay2", "layerdb", "sha256", strings.TrimPrefix(ch, "sha256:"), "size")
		var err error
		if i == 0 {
			err = os.Remove(f)
		} else {
			err = os.WriteFile(f, []byte("0"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	p.wantOutput(t, want, "images", "team/app")
}

func TestParityContainers(t *testing.T) {
	p := writeParity(t, "", layerstore.LayoutCAS)
	p.wantOutput(t, `CONTAINER ID   IMAGE            COMMAND                  CREATED              STATUS                             PORTS                                    NAMES
08594a7c6293   busybox:latest   "sh"                     About a minute ago   Created                                                                     fresh
4d6ad661920f   busybox:latest   "/usr/local/bin/dock…"   5 hours ago          Up 3 hours (running when copied)   8080-8081/tcp, 0.0.0.0:15432->5432/tcp   db
48477914ca4f   team/app:v1      "sh -c 'echo hello f…"   3 days ago           Exited (127) 2 days ago                                                     web
`, "ps")
	want := "08594a7c6293\n4d6ad661920f\n48477914ca4f\n"
	p.wantOutput(t, want, "ps", "-q")
	p.wantOutput(t, want, "containers", "-a", "-q")
	p.wantOutput(t, `NAMES     COMMAND                                          STATE     NETWORKS
fresh     "sh"                                             created
db        "/usr/local/bin/docker-entrypoint.sh postgres"   running   bridge
web       "sh -c 'echo hello from the web; exit 127'"      exited
`, "ps", "--no-trunc", "--format", `table {{.Names}}\t{{.Command}}\t{{.State}}\t{{.Networks}}`)
	p.wantOutput(t, `{"Command":"\"sh\"","CreatedAt":"2024-05-01 11:59:00 +0000 UTC","Driver":"aufs","ID":"08594a7c6293","Image":"busybox:latest","Labels":"","Mounts":"","Names":"fresh","Networks":"","Ports":"","RunningFor":"About a minute ago","Size":"N/A","State":"created","Status":"Created"}
{"Command":"\"/usr/local/bin/dock…\"","CreatedAt":"2024-05-01 07:00:00 +0000 UTC","Driver":"aufs","ID":"4d6ad661920f","Image":"busybox:latest","Labels":"","Mounts":"/srv/host,,dbdata","Names":"db","Networks":"bridge","Ports":"8080-8081/tcp, 0.0.0.0:15432-\u003e5432/tcp","RunningFor":"5 hours ago","Size":"N/A","State":"running","Status":"Up 3 hours (running when copied)"}
{"Command":"\"sh -c 'echo hello f…\"","CreatedAt":"2024-04-28 12:00:00 +0000 UTC","Driver":"aufs","ID":"48477914ca4f","Image":"team/app:v1","Labels":"","Mounts":"","Names":"web","Networks":"","Ports":"","RunningFor":"3 days ago","Size":"N/A","State":"exited","Status":"Exited (127) 2 days ago"}
`, "ps", "--format", "json")
	p.wantOutput(t, "fresh Created\ndb Up 3 hours (running when copied)\nweb Exited (127) 2 days ago\n", "ps", "--format", "{{.Names}} {{.Status}}")
}

func TestParityHistory(t *testing.T) {
	p := writeParity(t, "", layerstore.LayoutCAS)
	// The top step is the image's own; the one below is mid's, which it
	// was built on; below that the store has no image.
	p.wantOutput(t, `IMAGE          CREATED       CREATED BY                              SIZE      COMMENT
d6e4d0eab2fe   2 hours ago   /bin/sh -c echo hello > /etc/motd       6B
90ca835ab13a   4 weeks ago   /bin/sh -c apk add --no-cache curl      11B
<missing>      3 years ago   /bin/sh -c #(nop) ADD file:6ce6 in /    45B
`, "history", "team/app:v1")
	// An empty step (CMD) is listed, with size 0.
	p.wantOutput(t, `IMAGE          CREATED       CREATED BY                              SIZE      COMMENT
ef9763fe1101   3 years ago   /bin/sh -c #(nop)  CMD ["sh"]           0B
<missing>      3 years ago   /bin/sh -c #(nop) ADD file:6ce6 in /    45B
`, "history", "busybox")
	p.wantOutput(t, "d6e4d0eab2fe\n90ca835ab13a\n<missing>\n", "history", "-q", "team/app:v1")
	p.wantOutput(t, `sha256:ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285|2021-04-22T12:01:00Z|/bin/sh -c #(nop)  CMD ["sh"]|0B|
<missing>|2021-04-22T12:00:00Z|/bin/sh -c #(nop) ADD file:6ce6 in / |45B|589208198407fe719cd989b0908a02007a06daf9a682f018212bfd9058e0ac1d
`, "history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}|{{.LayerID}}", "busybox")
	// A container's history is its image's.
	p.wantOutput(t, `IMAGE          CREATED       CREATED BY                              SIZE      COMMENT
ef9763fe1101   3 years ago   /bin/sh -c #(nop)  CMD ["sh"]           0B
<missing>      3 years ago   /bin/sh -c #(nop) ADD file:6ce6 in /    45B
`, "history", "db")
	p.wantOutput(t, `[
  {
    "id": "ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285",
    "created": "2021-04-22T12:01:00Z",
    "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]",
    "comment": "",
    "empty_layer": true,
    "size": 0
  },
  {
    "created": "2021-04-22T12:00:00Z",
    "created_by": "/bin/sh -c #(nop) ADD file:6ce6 in / ",
    "comment": "",
    "empty_layer": false,
    "size": 45,
    "layer_id": "589208198407fe719cd989b0908a02007a06daf9a682f018212bfd9058e0ac1d"
  }
]
`, "history", "--json", "busybox")
	// Before 1.10 each step is an image of its own.
	g := writeParity(t, "", layerstore.LayoutGraph)
	g.wantOutput(t, `IMAGE          CREATED       CREATED BY                              SIZE      COMMENT
6126d84c6b9a   2 hours ago   /bin/sh -c echo hello > /etc/motd       6B
d4b9f11e452b   4 weeks ago   /bin/sh -c apk add --no-cache curl      11B
05a5a07dacd6   3 years ago   /bin/sh -c #(nop) ADD file:6ce6 in /    45B
`, "history", "team/app:v1")
}

func TestParityDiffContainer(t *testing.T) {
	// What the container changed, as docker diff says it: its /etc/hosts
	// and the rest of what Docker's init layer holds are not listed. The
	// same for every driver, whatever its layers are.
	want := "C /etc\nD /etc/motd\nC /etc/passwd\nA /tmp\nA /tmp/x\n"
	for _, drv := range []string{"aufs", "overlay2", "fuse-overlayfs", "overlay", "vfs"} {
		p := writeParity(t, drv, layerstore.LayoutCAS)
		p.wantOutput(t, want, "diff", "web")
		p.wantOutput(t, "", "diff", "fresh")
		p.wantOutput(t, "", "diff", "--exit-code", "fresh")
		out, errs, code := runHere(t, "--root", p.Root, "diff", "--exit-code", "web")
		if out != want || errs != "" || code != 1 {
			t.Errorf("%s: diff --exit-code web: exit %d, stdout %q, stderr %q; want exit 1 and the changes", drv, code, out, errs)
		}
	}
	g := writeParity(t, "", layerstore.LayoutGraph)
	g.wantOutput(t, want, "diff", "web")
	g.wantOutput(t, `[
  {
    "op": "C",
    "path": "/etc"
  },
  {
    "op": "D",
    "path": "/etc/motd"
  },
  {
    "op": "C",
    "path": "/etc/passwd"
  },
  {
    "op": "A",
    "path": "/tmp"
  },
  {
    "op": "A",
    "path": "/tmp/x"
  }
]
`, "diff", "--json", "web")
	out, errs, code := runHere(t, "--root", g.Root, "diff", "busybox")
	if code != 2 || out != "" || errs != "aufsmount: diff: busybox is an image: one REF must be a container (what it changed); compare an image with another REF (see aufsmount diff --help)\n" {
		t.Errorf("diff of an image alone: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestParityInspect(t *testing.T) {
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	// The image: what its config says, shaped as docker inspect shapes it,
	// with its size and where the driver keeps its layers.
	p.wantOutput(t, `[
    {
        "Id": "sha256:d6e4d0eab2fe7f2575bb48fa91bc9b720bb33938f0b2e1b95ebac11b845c2b77",
        "RepoTags": [
            "registry:5000/team/app:v2",
            "team/app:v1"
        ],
        "RepoDigests": [],
        "Parent": "sha256:90ca835ab13a7c7defd74aa55cc653f19f684c9348153e819aaff567756b3666",
        "Comment": "",
        "Created": "2024-05-01T10:00:00Z",
        "Container": "c0f7025bdf9fa4c61b68ef6dfa6e5ccff9b5ad2c94bf190b4a82914e5b05ed4c",
        "ContainerConfig": {
            "Hostname": "",
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": false,
            "OpenStdin": false,
            "StdinOnce": false,
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ],
            "Cmd": [
                "/bin/sh",
                "-c",
                "echo hello > /etc/motd"
            ],
            "Image": "",
            "Volumes": null,
            "WorkingDir": "",
            "Entrypoint": null,
            "OnBuild": null,
            "Labels": null
        },
        "DockerVersion": "1.10.3",
        "Author": "",
        "Config": {
            "Hostname": "",
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": false,
            "OpenStdin": false,
            "StdinOnce": false,
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ],
            "Cmd": [
                "sh"
            ],
            "Image": "",
            "Volumes": null,
            "WorkingDir": "",
            "Entrypoint": null,
            "OnBuild": null,
            "Labels": null
        },
        "Architecture": "amd64",
        "Os": "linux",
        "Size": 62,
        "VirtualSize": 62,
        "GraphDriver": {
            "Data": {
                "LowerDir": "$ROOT/overlay2/4ee57018a8bf04afcf12e2b5903ac0be49d6b68ff75164121310630445d5fc88/diff:$ROOT/overlay2/8b7c443fb963a45883d6eb17294165f5668e7984eab6bec7a12e8c1fa21b3301/diff",
                "MergedDir": "$ROOT/overlay2/262f25d3fb6606254b7b81f09dcd61083834de6bccc199e561dcaef4836a87da/merged",
                "UpperDir": "$ROOT/overlay2/262f25d3fb6606254b7b81f09dcd61083834de6bccc199e561dcaef4836a87da/diff",
                "WorkDir": "$ROOT/overlay2/262f25d3fb6606254b7b81f09dcd61083834de6bccc199e561dcaef4836a87da/work"
            },
            "Name": "overlay2"
        },
        "RootFS": {
            "Type": "layers",
            "Layers": [
                "sha256:19e4e94ee739b12516cbb2dd9565e35c914cddd40b73e1c0cbf25faff726a252",
                "sha256:62ddb8986ae928d7bcf61259a946900249db0eaed69d78606c2a3f6a7ebcf3a9",
                "sha256:4676298ce464694022c7d0bd6dcf5f2d25b0812148205f6b560e598a7b22f1ca"
            ]
        },
        "Metadata": {
            "LastTagTime": "0001-01-01T00:00:00Z"
        }
    }
]
`, "inspect", "team/app:v1")
	// The container: its config and hostconfig.json as they are, State
	// with docker's Status, Mounts, and what a view of it shows over its
	// layers and what it cannot show.
	p.wantOutput(t, `[
    {
        "Id": "cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3",
        "Created": "2024-05-01T07:00:00Z",
        "Path": "/usr/local/bin/docker-entrypoint.sh",
        "Args": [
            "postgres"
        ],
        "State": {
            "Status": "running",
            "Running": true,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": 0,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": "2024-05-01T09:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z"
        },
        "Image": "sha256:ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285",
        "ResolvConfPath": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/resolv.conf",
        "HostnamePath": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/hostname",
        "HostsPath": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/hosts",
        "LogPath": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3-json.log",
        "Name": "/db",
        "RestartCount": 0,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": {
            "Binds": null,
            "NetworkMode": "default",
            "RestartPolicy": {
                "Name": "no",
                "MaximumRetryCount": 0
            }
        },
        "GraphDriver": {
            "Data": {
                "LowerDir": "$ROOT/overlay2/60aa7b2db66658e10a83034525d7a4c2ad27adc177ea93e82e4abb5e6342f4bb-init/diff:$ROOT/overlay2/8b7c443fb963a45883d6eb17294165f5668e7984eab6bec7a12e8c1fa21b3301/diff",
                "MergedDir": "$ROOT/overlay2/60aa7b2db66658e10a83034525d7a4c2ad27adc177ea93e82e4abb5e6342f4bb/merged",
                "UpperDir": "$ROOT/overlay2/60aa7b2db66658e10a83034525d7a4c2ad27adc177ea93e82e4abb5e6342f4bb/diff",
                "WorkDir": "$ROOT/overlay2/60aa7b2db66658e10a83034525d7a4c2ad27adc177ea93e82e4abb5e6342f4bb/work"
            },
            "Name": "overlay2"
        },
        "Mounts": [
            {
                "Type": "bind",
                "Source": "/srv/host",
                "Destination": "/host",
                "Mode": "",
                "RW": false,
                "Propagation": "rprivate"
            },
            {
                "Type": "tmpfs",
                "Source": "",
                "Destination": "/run",
                "Mode": "",
                "RW": true,
                "Propagation": ""
            },
            {
                "Type": "volume",
                "Name": "dbdata",
                "Source": "$ROOT/volumes/dbdata/_data",
                "Destination": "/var/lib/db",
                "Driver": "local",
                "Mode": "z",
                "RW": true,
                "Propagation": ""
            }
        ],
        "Config": {
            "AttachStderr": false,
            "AttachStdin": false,
            "AttachStdout": false,
            "Cmd": [
                "sh"
            ],
            "Domainname": "",
            "Entrypoint": null,
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ],
            "Hostname": "cf4e2edfe70c",
            "Image": "busybox:latest",
            "Labels": null,
            "OnBuild": null,
            "OpenStdin": false,
            "StdinOnce": false,
            "Tty": false,
            "User": "",
            "Volumes": null,
            "WorkingDir": ""
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "f49ef6bad45f",
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": {
                "5432/tcp": [
                    {
                        "HostIp": "0.0.0.0",
                        "HostPort": "15432"
                    }
                ],
                "8080/tcp": null,
                "8081/tcp": null
            },
            "SandboxKey": "/var/run/docker/netns/f49ef6bad45f",
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": "9975a0c42909",
            "Gateway": "172.17.0.1",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "172.17.0.2",
            "IPPrefixLen": 16,
            "IPv6Gateway": "",
            "MacAddress": "02:42:ac:11:00:02",
            "Networks": {
                "bridge": {
                    "IPAMConfig": null,
                    "Links": null,
                    "Aliases": null,
                    "NetworkID": "e06b7fd96c3d",
                    "EndpointID": "9975a0c42909",
                    "Gateway": "172.17.0.1",
                    "IPAddress": "172.17.0.2",
                    "IPPrefixLen": 16,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "MacAddress": "02:42:ac:11:00:02",
                    "DriverOpts": null
                }
            }
        },
        "AufsMount": {
            "Binds": [
                {
                    "Destination": "/etc/hostname",
                    "Source": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/hostname",
                    "Kind": "hostname"
                },
                {
                    "Destination": "/etc/hosts",
                    "Source": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/hosts",
                    "Kind": "hosts"
                },
                {
                    "Destination": "/etc/resolv.conf",
                    "Source": "$ROOT/containers/cf4e2edfe70c847db23ec857c6c7bce5dddfa58eb17c9c3c987d1095487648d3/resolv.conf",
                    "Kind": "resolv.conf"
                },
                {
                    "Destination": "/var/lib/db",
                    "Source": "$ROOT/volumes/dbdata/_data",
                    "Kind": "volume"
                }
            ],
            "NotShown": [
                {
                    "Destination": "/host",
                    "Source": "/srv/host",
                    "Kind": "bind",
                    "Reason": "a host path, not in the store"
                },
                {
                    "Destination": "/run",
                    "Source": "",
                    "Kind": "tmpfs",
                    "Reason": "a tmpfs: what it held was never on disk"
                }
            ]
        }
    }
]
`, "inspect", "db")
	p.wantOutput(t, "running 0 /var/lib/db\n", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{(index .AufsMount.Binds 3).Destination}}", "db")
	out, errs, code := runHere(t, "--root", p.Root, "inspect", "-f", "{{.Id}}", "nosuch", "busybox")
	if code != 1 || out != "sha256:ef9763fe11014d1a2916bacec3eb3730f95d154cbdf82af57f1339c63f242285\n" || errs != "aufsmount: nosuch: not found\n" {
		t.Errorf("inspect of a missing and a found ref: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestParityLayers(t *testing.T) {
	// Directories are shown without the store's root, their ids cut.
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	p.wantOutput(t, `LAYER ID            DIR                                      CREATED BY                SIZE
624b61dd7788        .../overlay2/624b61dd7788.../diff        -                         32B
624b61dd7788-init   .../overlay2/624b61dd7788...-init/diff   -                         12B
262f25d3fb66        .../overlay2/262f25d3fb66.../diff        echo hello > /etc/motd    6B
4ee57018a8bf        .../overlay2/4ee57018a8bf.../diff        apk add --no-cache curl   11B
8b7c443fb963        .../overlay2/8b7c443fb963.../diff        ADD file:6ce6 in /        45B
`, "layers", "web")
}
