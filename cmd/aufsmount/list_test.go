package main

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// tableRows splits a table printed with at least three spaces between
// columns (cells hold single spaces at most: "3 years ago").
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	sep := regexp.MustCompile(`   +`)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, sep.Split(strings.TrimRight(line, " "), -1))
	}
	return rows
}

func TestImages(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			s := writeSample(t, layout)

			var got []struct {
				ID         string   `json:"id"`
				Names      []string `json:"names"`
				Created    string   `json:"created"`
				LayerCount int      `json:"layer_count"`
				Layers     int      `json:"layers"` // the old name of layer_count
			}
			// --root after the command, and flags after it.
			out := mustSucceed(t, nil, "images", "--json", "--root", s.Root)
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("images --json: %v\n%s", err, out)
			}
			// Newest first.
			wants := []*imageWant{
				{s.ImageID[s.app], s.app.Names, s.app.Created, len(s.Chain[s.app])},
				{s.ImageID[s.alpine], s.alpine.Names, s.alpine.Created, len(s.Chain[s.alpine])},
				{s.ImageID[s.busybox], s.busybox.Names, s.busybox.Created, len(s.Chain[s.busybox])},
			}
			// Before 1.10 every layer is an image: the shared base is an
			// untagged one, as docker images -a shows it.
			baseID := bases(s.Chain[s.busybox])[len(s.Chain[s.busybox])-1]
			if layout == layerstore.LayoutGraph {
				wants = append(wants, &imageWant{baseID, nil, st.DefaultTime, 1})
			}
			if len(got) != len(wants) {
				t.Fatalf("images --json: %d images, want %d:\n%s", len(got), len(wants), out)
			}
			for i, want := range wants {
				g := got[i]
				names := slices.Sorted(slices.Values(want.names))
				if names == nil {
					names = []string{}
				}
				if g.ID != want.id || !reflect.DeepEqual(g.Names, names) || g.LayerCount != want.layers || g.Layers != want.layers {
					t.Errorf("image %d = %+v, want id %s names %q layers %d", i, g, want.id, names, want.layers)
				}
				created, err := time.Parse(time.RFC3339, g.Created)
				if err != nil || created.Unix() != want.created.Unix() {
					t.Errorf("image %d created %q, want %s", i, g.Created, want.created.Format(time.RFC3339))
				}
			}

			// --root before the command, then from the environment.
			table := mustSucceed(t, nil, "--root", s.Root, "images")
			if env := mustSucceed(t, []string{"AUFSMOUNT_ROOT=" + s.Root}, "images"); env != table {
				t.Errorf("images with AUFSMOUNT_ROOT:\n%s\nwith --root:\n%s", env, table)
			}
			short := func(img string) string { return img[:12] }
			// SIZE adds up the layers: the base's files are 45 bytes, the
			// app layer's 6, alpine's 3.
			wantRows := [][]string{
				{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"},
				{"registry:5000/team/app", "v2", short(s.ImageID[s.app]), "3 hours ago", "51B"},
				{"user/app", "v1", short(s.ImageID[s.app]), "3 hours ago", "51B"},
				{"user/app", "v2", short(s.ImageID[s.app]), "3 hours ago", "51B"},
				{"alpine", "<none>", short(s.ImageID[s.alpine]), "2 weeks ago", "3B"},
				{"busybox", "latest", short(s.ImageID[s.busybox]), "3 years ago", "45B"},
			}
			if rows := tableRows(t, table); !reflect.DeepEqual(rows, wantRows) {
				t.Errorf("images:\n%s\nwant rows %q", table, wantRows)
			}
			// The untagged base, on which busybox and the app are built, is
			// an intermediate image: shown with -a only.
			if layout == layerstore.LayoutGraph {
				// Its CREATED is the fixture's fixed 21 April 2016: whole
				// 365-day years ago, as docker counts them.
				ago := itoa(int(time.Since(st.DefaultTime)/time.Hour/24/365)) + " years ago"
				wantRows = append(wantRows, []string{"<none>", "<none>", short(baseID), ago, "45B"})
			}
			if rows := tableRows(t, mustSucceed(t, nil, "--root", s.Root, "images", "-a")); !reflect.DeepEqual(rows, wantRows) {
				t.Errorf("images -a: %q\nwant rows %q", rows, wantRows)
			}
		})
	}
}

type imageWant struct {
	id      string
	names   []string
	created time.Time
	layers  int
}

func itoa(n int) string { return strconv.Itoa(n) }

type layerOut struct {
	ID        string `json:"id"`
	Dir       string `json:"dir"`
	CreatedBy string `json:"created_by"`
	Size      *int64 `json:"size"`
}

func TestLayers(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			s := writeSample(t, layout)
			for _, tt := range []struct {
				ref       string
				dirs      []string
				createdBy []string // what each layer's CREATED BY must hold
				sizes     []string // each layer's SIZE, top first
			}{
				{"user/app:v1", s.Chain[s.app], []string{"echo hello > /etc/motd", "ADD file:6ce6"}, []string{"6B", "45B"}},
				{"docker.io/library/busybox", s.Chain[s.busybox], nil, []string{"0B", "45B"}},
				{s.ImageID[s.alpine][:8], s.Chain[s.alpine], []string{"ADD file:9a1c"}, []string{"3B"}},
				{"web", s.ContainerChain[s.web], nil, []string{"1B", "12B", "6B", "45B"}},
			} {
				if layout == layerstore.LayoutCAS && tt.ref == "docker.io/library/busybox" {
					tt.sizes = []string{"45B"} // a CAS store has no layer for the empty CMD step
				}
				var got []layerOut
				out := mustSucceed(t, nil, "--root", s.Root, "layers", tt.ref, "--json")
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("layers %s --json: %v\n%s", tt.ref, err, out)
				}
				var ids, dirs []string
				for _, l := range got {
					ids, dirs = append(ids, l.ID), append(dirs, l.Dir)
				}
				if !reflect.DeepEqual(dirs, tt.dirs) || !reflect.DeepEqual(ids, bases(tt.dirs)) {
					t.Errorf("layers %s: ids %q dirs %q, want dirs %q", tt.ref, ids, dirs, tt.dirs)
				}
				for i, want := range tt.createdBy {
					if i < len(got) && !strings.Contains(got[i].CreatedBy, want) {
						t.Errorf("layers %s: layer %d created by %q, want it to hold %q", tt.ref, i, got[i].CreatedBy, want)
					}
				}

				// The table: a header and a row per layer, cut ids, cut dirs.
				table := mustSucceed(t, nil, "layers", "--root", s.Root, tt.ref)
				rows := tableRows(t, table)
				if len(rows) != len(got)+1 || len(tt.sizes) != len(got) || !reflect.DeepEqual(rows[0], []string{"LAYER ID", "DIR", "CREATED BY", "SIZE"}) {
					t.Fatalf("layers %s:\n%s", tt.ref, table)
				}
				for i, l := range got {
					r := rows[i+1]
					// Ids and dirs are cut to 12 hex digits; an init layer keeps its suffix.
					id, init := strings.CutSuffix(l.ID, "-init")
					wantID, wantDir := id[:12], ".../aufs/diff/"+id[:12]+"..."
					if init {
						wantID, wantDir = wantID+"-init", wantDir+"-init"
					}
					if len(r) != 4 || r[0] != wantID || r[1] != wantDir || r[3] != tt.sizes[i] || l.Size == nil {
						t.Errorf("layers %s: row %q for layer %+v, want id %s dir %s size %s", tt.ref, r, l, wantID, wantDir, tt.sizes[i])
					}
					if by := []rune(r[2]); len(by) > createdByWidth {
						t.Errorf("layers %s: CREATED BY %q not cut", tt.ref, r[2])
					}
				}
				full := mustSucceed(t, nil, "layers", "--no-trunc", "--root", s.Root, tt.ref)
				for _, l := range got {
					if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(l.ID) + `   +` + regexp.QuoteMeta(l.Dir) + `   `).MatchString(full) {
						t.Errorf("layers --no-trunc %s: no full id %s and dir in\n%s", tt.ref, l.ID, full)
					}
				}
			}
		})
	}
}

func TestContainers(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			s := writeSample(t, layout)
			var got []struct {
				ID       string   `json:"id"`
				Name     string   `json:"name"`
				Image    string   `json:"image"`
				ImageID  string   `json:"image_id"`
				LayerIDs []string `json:"layer_ids"`
				Layers   []string `json:"layers"` // the old name of layer_ids
			}
			out := mustSucceed(t, nil, "--root", s.Root, "containers", "--json")
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("containers --json: %v\n%s", err, out)
			}
			if len(got) != 1 {
				t.Fatalf("containers --json: %d containers, want 1:\n%s", len(got), out)
			}
			c := got[0]
			wantLayers := bases(s.ContainerChain[s.web])
			if c.ID != s.ContainerID[s.web] || c.Name != "web" || c.ImageID != s.ImageID[s.app] || !reflect.DeepEqual(c.LayerIDs, wantLayers) || !reflect.DeepEqual(c.Layers, wantLayers) {
				t.Errorf("container = %+v, want id %s name web image_id %s layers %q", c, s.ContainerID[s.web], s.ImageID[s.app], wantLayers)
			}
			if wantTop := s.MountID[s.web]; len(c.Layers) < 2 || c.Layers[0] != wantTop || c.Layers[1] != wantTop+"-init" {
				t.Errorf("container layers %q do not start with %s and its init layer", c.Layers, wantTop)
			}

			table := mustSucceed(t, nil, "ps", "--root", s.Root)
			// The sample's config says the container ran sh and exited 0
			// when it was made; PORTS is empty.
			want := [][]string{
				{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"},
				{c.ID[:12], c.Image, `"sh"`, "5 minutes ago", "Exited (0) 5 minutes ago", "web"},
			}
			if rows := tableRows(t, table); !reflect.DeepEqual(rows, want) {
				t.Errorf("ps:\n%s\nwant rows %q", table, want)
			}
		})
	}
}

func TestStoreErrors(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			s := writeSample(t, layout)
			mustFail(t, 1, []string{"aufsmount: busybx: not found", "busybox:latest"}, "--root", s.Root, "layers", "busybx")
			missing := s.Root + "-missing"
			mustFail(t, 1, []string{missing}, "--root", missing, "images")
			mustFail(t, 1, []string{missing}, "--root", missing, "layers", "busybox")

			// A layer directory gone: the error names it.
			top := s.Chain[s.app][0]
			if err := os.RemoveAll(top); err != nil {
				t.Fatal(err)
			}
			mustFail(t, 1, []string{top}, "--root", s.Root, "layers", "user/app:v1")
			mustFail(t, 1, []string{top}, "--root", s.Root, "-f", "user/app:v1", t.TempDir())
		})
	}
}
