package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// ourRows is the header and the rows of a table printed by aufsmount
// (cells three spaces or more apart) whose first cell is under dir: other
// tests may have views of their own mounted meanwhile.
func ourRows(out, dir string) [][]string {
	sep := regexp.MustCompile(`   +`)
	var rows [][]string
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if i == 0 || strings.HasPrefix(line, dir+"/") {
			rows = append(rows, sep.Split(strings.TrimRight(line, " "), -1))
		}
	}
	return rows
}

// viewJSON is one element of mounts --json.
type viewJSON struct {
	MountPoint string `json:"mountpoint"`
	Ref        string `json:"ref"`
	All        bool   `json:"all"`
	Store      string `json:"store"`
	Driver     string `json:"driver"`
	PID        *int   `json:"pid"`
	Gone       bool   `json:"gone"`
}

func ourViews(t *testing.T, out, dir string) []viewJSON {
	t.Helper()
	var all, ours []viewJSON
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("mounts --json: %v\n%s", err, out)
	}
	for _, v := range all {
		if strings.HasPrefix(v.MountPoint, dir+"/") {
			ours = append(ours, v)
		}
	}
	return ours
}

func intp(n int) *int { return &n }

func TestMountsList(t *testing.T) {
	testenv.FUSE(t)
	rs := buildRefStore(t, layerstore.LayoutCAS)
	root := rs.b.Root
	app := daemonMount(t, root, "user/app:v2")
	web := daemonMount(t, root, "web", "-o", "ro,noexec")
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", root, "mount-all", all); code != 0 {
		t.Fatalf("mount-all: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	dir := filepath.Dir(app)
	pApp, pWeb, pAll := daemonPID(t, app), daemonPID(t, web), daemonPID(t, all)

	out, stderr, code := run(t, "mounts")
	if code != 0 || stderr != "" {
		t.Fatalf("mounts: exit %d: %s", code, stderr)
	}
	want := [][]string{
		{"MOUNT POINT", "REFERENCE", "STORE", "DRIVER", "PID"},
		{app, "user/app:v2", root, "aufs", strconv.Itoa(pApp)},
		{web, "web", root, "aufs", strconv.Itoa(pWeb)},
		{all, "(mount-all)", root, "aufs", strconv.Itoa(pAll)},
	}
	if got := ourRows(out, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("mounts:\n%q\nwant\n%q", got, want)
	}
	out, _, _ = run(t, "mounts", "--json")
	wantJSON := []viewJSON{
		{MountPoint: app, Ref: "user/app:v2", Store: root, Driver: "aufs", PID: intp(pApp)},
		{MountPoint: web, Ref: "web", Store: root, Driver: "aufs", PID: intp(pWeb)},
		{MountPoint: all, All: true, Store: root, Driver: "aufs", PID: intp(pAll)},
	}
	if got := ourViews(t, out, dir); !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("mounts --json: %+v\nwant %+v", got, wantJSON)
	}

	// A view whose server died: its record went with it.
	syscall.Kill(pWeb, syscall.SIGKILL)
	if !pollUntil(promptly, func() bool { return !procAlive(pWeb) }) {
		t.Fatal("the killed server is still there")
	}
	out, _, _ = run(t, "mounts")
	want[2] = []string{web, "web", "-", "-", "gone"}
	if got := ourRows(out, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("mounts with a dead server:\n%q\nwant\n%q", got, want)
	}
	out, _, _ = run(t, "mounts", "--json")
	wantJSON[1] = viewJSON{MountPoint: web, Ref: "web", Gone: true}
	if got := ourViews(t, out, dir); !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("mounts --json with a dead server: %+v\nwant %+v", got, wantJSON)
	}
}

// umount --all runs in a mount namespace of its own, so that it can only
// reach the views this test mounts there (and copies of those other tests
// have mounted meanwhile, which unmounting in the namespace leaves alone).
func TestUmountAll(t *testing.T) {
	testenv.FUSE(t)
	unshare := testenv.Tool(t, "unshare")
	rs := buildRefStore(t, layerstore.LayoutCAS)
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
B="$1" R="$2" D="$3"
"$B" --root "$R" user/app:v2 "$D/a"
"$B" --root "$R" web "$D/b"
"$B" --root "$R" mount-all "$D/c"
"$B" mounts --json > "$D/before.json"
"$B" umount --all
"$B" mounts > "$D/after.txt"
"$B" mounts --json > "$D/after.json"
`
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", binary, rs.b.Root, dir)
	cmd.Env = append(os.Environ(), "AUFSMOUNT_ROOT=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mounting and unmounting in a namespace: %v\n%s", err, out.String())
	}
	if out.String() != "" {
		t.Errorf("mount, mounts and umount --all printed %q", out.String())
	}
	before, err := os.ReadFile(filepath.Join(dir, "before.json"))
	if err != nil {
		t.Fatal(err)
	}
	views := ourViews(t, string(before), dir)
	if len(views) != 3 {
		t.Fatalf("mounts --json in the namespace: %d views of this test, want 3:\n%s", len(views), before)
	}
	for i, ref := range []string{"user/app:v2", "web", ""} {
		v := views[i]
		if v.MountPoint != filepath.Join(dir, string(rune('a'+i))) || v.Ref != ref || v.All != (ref == "") || v.Store != rs.b.Root || v.PID == nil {
			t.Errorf("view %d: %+v", i, v)
			continue
		}
		pid := *v.PID
		if !pollUntil(promptly, func() bool { return !procAlive(pid) }) {
			t.Errorf("the server of %s (pid %d) still runs after umount --all", v.MountPoint, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "after.txt")); string(b) != "MOUNT POINT   REFERENCE   STORE   DRIVER   PID\n" {
		t.Errorf("mounts after umount --all:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "after.json")); string(b) != "[]\n" {
		t.Errorf("mounts --json after umount --all: %s", b)
	}
}
