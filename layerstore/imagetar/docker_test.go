package imagetar

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A graph json as Docker 1.9 wrote it (field order and all).
const graphJSON19 = `{"id":"aaaa000000000000000000000000000000000000000000000000000000000001","parent":"aaaa000000000000000000000000000000000000000000000000000000000000","created":"2015-11-20T10:00:00.123456789Z","container":"c0ffee","container_config":{"Hostname":"h","Cmd":["/bin/sh","-c","echo \u003chi\u003e \u0026 bye"],"Labels":{}},"docker_version":"1.9.1","author":"me","config":{"Cmd":["sh"]},"architecture":"amd64","os":"linux","Size":1234}`

// TestMakeConfigFromV1 checks the migration: the json as it is, less the
// v1 keys, plus rootfs and history, keys sorted.
func TestMakeConfigFromV1(t *testing.T) {
	h, err := HistoryFromV1([]byte(graphJSON19))
	if err != nil {
		t.Fatal(err)
	}
	want := History{Created: time.Date(2015, 11, 20, 10, 0, 0, 123456789, time.UTC), Author: "me", CreatedBy: "/bin/sh -c echo <hi> & bye"}
	if h != want {
		t.Errorf("history %+v, want %+v", h, want)
	}
	diffs := []string{"sha256:" + strings.Repeat("1", 64), "sha256:" + strings.Repeat("2", 64)}
	got, err := MakeConfigFromV1([]byte(graphJSON19), diffs, []History{{Created: time.Unix(0, 0).UTC()}, h})
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"architecture":"amd64","author":"me","config":{"Cmd":["sh"]},"container":"c0ffee","container_config":{"Hostname":"h","Cmd":["/bin/sh","-c","echo \u003chi\u003e \u0026 bye"],"Labels":{}},"created":"2015-11-20T10:00:00.123456789Z","docker_version":"1.9.1",` +
		`"history":[{"created":"1970-01-01T00:00:00Z"},{"created":"2015-11-20T10:00:00.123456789Z","author":"me","created_by":"/bin/sh -c echo \u003chi\u003e \u0026 bye"}],` +
		`"os":"linux","rootfs":{"type":"layers","diff_ids":["` + diffs[0] + `","` + diffs[1] + `"]}}`
	if string(got) != wantJSON {
		t.Errorf("migrated config\n%s\nwant\n%s", got, wantJSON)
	}
}

// TestMakeConfigFromV1Fallback: a json of Docker before 1.8.3 (or of no
// version) goes through Docker 1.10's V1Image first: unknown keys
// dropped, every container_config field written, a string Cmd a list.
func TestMakeConfigFromV1Fallback(t *testing.T) {
	old := `{"id":"aaaa000000000000000000000000000000000000000000000000000000000001","comment":"x","created":"2014-01-01T00:00:00Z","container_config":{"Cmd":"/bin/true","Memory":5},"docker_version":"1.3.2","unknown":1,"Size":7}`
	got, err := MakeConfigFromV1([]byte(old), []string{"sha256:" + strings.Repeat("3", 64)}, []History{{}})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(got, &c); err != nil {
		t.Fatal(err)
	}
	if _, ok := c["unknown"]; ok {
		t.Errorf("the fallback kept a key V1Image does not have: %s", got)
	}
	if _, ok := c["id"]; ok {
		t.Errorf("id kept: %s", got)
	}
	const cc = `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/true"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}`
	if string(c["container_config"]) != cc {
		t.Errorf("container_config %s, want %s", c["container_config"], cc)
	}
	if string(c["comment"]) != `"x"` || string(c["docker_version"]) != `"1.3.2"` {
		t.Errorf("config %s", got)
	}
	for _, v := range []struct {
		a, b string
		less bool
	}{{"1.8.2", "1.8.3", true}, {"1.8.3", "1.8.3", false}, {"1.9.1", "1.8.3", false}, {"", "1.8.3", true}, {"1.8.3-dev", "1.8.3", true}, {"1.10", "1.8.3", false}} {
		if versionLess(v.a, v.b) != v.less {
			t.Errorf("versionLess(%q, %q) = %v", v.a, v.b, !v.less)
		}
	}
}

// TestV1ID: Docker's v1.CreateID, which a lower layer's json, its chain
// id and its parent's id decide.
func TestV1ID(t *testing.T) {
	a, err := V1ID(LowerV1(), "sha256:"+strings.Repeat("a", 64), "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := V1ID(LowerV1(), "sha256:"+strings.Repeat("a", 64), a)
	c, _ := V1ID(LowerV1(), "sha256:"+strings.Repeat("b", 64), "")
	v := LowerV1()
	v.ID, v.Parent = "x", "y"
	d, _ := V1ID(v, "sha256:"+strings.Repeat("a", 64), "")
	if len(a) != 64 || a == b || a == c || a != d {
		t.Errorf("v1 ids %s %s %s %s: want 64 hex, decided by chain id and parent, not by id", a, b, c, d)
	}
	// The hash is of the json with layer_id and parent, keys sorted.
	want := Digest([]byte(`{"container_config":` + emptyContainerConfig + `,"created":"1970-01-01T00:00:00Z","layer_id":"sha256:` + strings.Repeat("a", 64) + `"}`))
	if "sha256:"+a != want {
		t.Errorf("v1 id %s, want %s", a, want)
	}
}

// TestCommitConfig: the image's config with the container's settings, a
// layer and a history entry more; an empty layer adds only the entry.
func TestCommitConfig(t *testing.T) {
	base := []byte(`{"architecture":"arm64","variant":"v8","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("1", 64) + `"]},"history":[{"created":"2020-01-01T00:00:00Z","created_by":"base"}],"os":"linux"}`)
	ctr := json.RawMessage(`{"Hostname":"abc","Env":["A=1"],"Cmd":["sh","-c","run"],"Labels":null,"Image":"app"}`)
	when := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	diff := "sha256:" + strings.Repeat("2", 64)
	got, err := CommitConfig(Commit{Base: base, Config: ctr, ContainerID: "cid", Created: when, DiffID: diff})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"architecture":"arm64","config":{"Hostname":"abc","Env":["A=1"],"Cmd":["sh","-c","run"],"Labels":{},"Image":"app"},"container":"cid",` +
		`"container_config":{"Hostname":"abc","Env":["A=1"],"Cmd":["sh","-c","run"],"Labels":null,"Image":"app"},"created":"2024-05-06T07:08:09.00000001Z",` +
		`"history":[{"created":"2020-01-01T00:00:00Z","created_by":"base"},{"created":"2024-05-06T07:08:09.00000001Z","created_by":"sh -c run"}],` +
		`"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("1", 64) + `","` + diff + `"]},"variant":"v8"}`
	if string(got) != want {
		t.Errorf("commit config\n%s\nwant\n%s", got, want)
	}
	got, err = CommitConfig(Commit{Base: base, Config: ctr, ContainerID: "cid", Created: when, DiffID: EmptyLayerDiffID})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		RootFS  rootFS `json:"rootfs"`
		History []History
	}
	json.Unmarshal(got, &c)
	if len(c.RootFS.DiffIDs) != 1 || len(c.History) != 2 || !c.History[1].EmptyLayer {
		t.Errorf("commit of an empty layer: %s", got)
	}
	if _, err := CommitConfig(Commit{Base: base, Config: json.RawMessage("null")}); err == nil {
		t.Errorf("commit of a container without Config: no error")
	}
}

// TestWithDiffIDs: only rootfs changes.
func TestWithDiffIDs(t *testing.T) {
	got, err := WithDiffIDs([]byte(`{"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1"]},"config":{"B":1,"A":2}}`), []string{"sha256:9"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"config":{"B":1,"A":2},"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:9"]}}`; string(got) != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// TestStream: a stream is exactly the size its header announced, or an
// error.
func TestStream(t *testing.T) {
	for _, tc := range []struct {
		size, write int
		err         bool
	}{{10, 10, false}, {10, 9, true}, {10, 11, true}, {0, 0, false}} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		err := w.Stream("blobs/sha256/x", int64(tc.size), Epoch, func(out io.Writer) error {
			_, err := out.Write(bytes.Repeat([]byte("a"), tc.write))
			return err
		})
		if (err != nil) != tc.err || err != nil && !errors.Is(err, ErrSize) {
			t.Errorf("size %d, wrote %d: %v", tc.size, tc.write, err)
		}
		if err != nil {
			continue
		}
		if err := w.Symlink("x/layer.tar", "../blobs/sha256/x", Epoch); err != nil {
			t.Fatal(err)
		}
		if err := w.File("blobs/sha256/x", nil, Epoch); err == nil {
			t.Errorf("a name written twice: no error")
		}
		w.Close()
		tr := tar.NewReader(&buf)
		var names []string
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			names = append(names, h.Name)
		}
		if want := []string{"blobs/", "blobs/sha256/", "blobs/sha256/x", "x/", "x/layer.tar"}; !reflect.DeepEqual(names, want) {
			t.Errorf("entries %q, want %q", names, want)
		}
	}
}
