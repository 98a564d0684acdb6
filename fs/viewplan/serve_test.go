package viewplan_test

import (
	"encoding/json"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/fs/viewplan"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Serve mounts a plan for real: the view shows the image's files, the
// mount table names it by its reference and its record says its store;
// a mount point inside the store is refused before anything is mounted.
func TestServe(t *testing.T) {
	testenv.FUSE(t)
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{
		st.NewLayer("base", st.F("etc/motd", "hi\n"), st.F("bin/sh", "sh")),
		st.NewLayer("top", st.WH("bin/sh"), st.F("etc/app", "v1")),
	}}
	b, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	m, err := viewplan.New(s, viewplan.Options{}).Mount("app:v1")
	if err != nil {
		t.Fatal(err)
	}

	if _, _, _, err := m.Serve(filepath.Join(b.Root, "image"), viewplan.ServeOptions{Ref: "app:v1"}); err == nil || !strings.Contains(err.Error(), "inside the store") {
		t.Errorf("a mount point in the store: %v, want it refused as inside the store", err)
	}

	mnt := t.TempDir()
	srv, at, _, err := m.Serve(mnt, viewplan.ServeOptions{Ref: "app:v1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := mounttable.Unmount(at); err != nil {
			t.Errorf("unmounting %s: %v", at, err)
		}
		srv.Wait()
	})
	if got, want := viewFiles(t, at), "/etc/app=v1 /etc/motd=hi\n"; got != want {
		t.Errorf("the view holds %q, want %q", got, want)
	}
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := mounttable.Find(mounts, at); !ok || !m.IsFUSEView() || m.Source != "app:v1" {
		t.Errorf("the mount table has at %s %+v (found %v), want a FUSE view of app:v1", at, m, ok)
	}
	// The record is this process's (mounttable.Servers looks at others).
	if rec := ownRecord(t); rec.MountPoint != at || rec.Ref != "app:v1" || rec.Store != b.Root || rec.All {
		t.Errorf("the view's record is %+v, want app:v1 at %s of %s", rec, at, b.Root)
	}
}

// viewFiles is every file under mnt with its content: "/path=content",
// space-separated, in lexical order.
func viewFiles(t *testing.T, mnt string) string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		got = append(got, strings.TrimPrefix(p, mnt)+"="+string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

// ownRecord is the view record this process keeps (mounttable.KeepRecord).
func ownRecord(t *testing.T) mounttable.Record {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		p := "/proc/self/fd/" + fd.Name()
		if target, _ := os.Readlink(p); !strings.HasPrefix(target, "/memfd:aufsmount-view ") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var rec mounttable.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return rec
	}
	t.Fatal("no view record in this process")
	return mounttable.Record{}
}

// Mounts an image of a store at /mnt/img, as aufsmount mount -f does,
// and serves it until it is unmounted. (Not run: it needs root and
// /dev/fuse; TestServe mounts for real.)
func ExampleMount_Serve() {
	s, err := layerstore.Open("/var/lib/docker")
	if err != nil {
		log.Fatal(err)
	}
	m, err := viewplan.New(s, viewplan.Options{}).Mount("busybox:latest")
	if err != nil {
		log.Fatal(err)
	}
	srv, mnt, _, err := m.Serve("/mnt/img", viewplan.ServeOptions{Ref: "busybox:latest"})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving busybox:latest at %s", mnt)
	srv.Wait() // until aufsmount umount /mnt/img
}
