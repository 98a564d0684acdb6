package viewplan_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mounttable"
	"github.com/aufsmount/aufsmount/fs/viewplan"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// ServeKernel mounts an image's plan through overlayfs for real; a
// container's (binds) and an archive's layers fall back to FUSE with the
// reason, mounting nothing; a mount point in the store is an error.
func TestServeKernel(t *testing.T) {
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{
		st.NewLayer("base", st.F("etc/motd", "hi\n"), st.F("bin/sh", "sh")),
		st.NewLayer("top", st.WH("bin/sh"), st.F("etc/app", "v1")),
	}}
	web := &st.Container{Name: "web", Image: img}
	b, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}, Containers: []*st.Container{web}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		t.Fatal(err)
	}
	p := viewplan.New(s, viewplan.Options{})
	mounted := func(mnt string) bool {
		mounts, err := mounttable.Read()
		if err != nil {
			t.Fatal(err)
		}
		_, ok := mounttable.Find(mounts, mnt)
		return ok
	}

	ctr, err := p.Mount("web")
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	why, err := ctr.ServeKernel(mnt, viewplan.ServeOptions{Ref: "web"})
	if err != nil || why != "the container's bind-mounted files and volumes need the FUSE view" || mounted(mnt) {
		t.Errorf("a container: fallback %q, error %v, mounted %v", why, err, mounted(mnt))
	}
	arc := &viewplan.Mount{Layers: []fs.Layer{{ID: "top", Archive: &fs.ArchiveLayer{Archive: "/x/image.tar", Member: "blobs/sha256/ab"}}, {ID: "low", Dir: t.TempDir()}}}
	why, err = arc.ServeKernel(mnt, viewplan.ServeOptions{Ref: "image.tar"})
	if want := "kernel overlayfs cannot show this view exactly (a layer of an image archive): its blob blobs/sha256/ab of /x/image.tar is read in place, not extracted to a directory"; err != nil || why != want || mounted(mnt) {
		t.Errorf("an archive's layers: fallback %q, error %v, mounted %v\nwant fallback %q", why, err, mounted(mnt), want)
	}

	m, err := p.Mount("app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ServeKernel(filepath.Join(b.Root, "image"), viewplan.ServeOptions{Ref: "app:v1"}); err == nil || !strings.Contains(err.Error(), "inside the store") {
		t.Errorf("a mount point in the store: %v, want it refused as inside the store", err)
	}

	err = kernelview.Available()
	testenv.Require(t, err == nil, "no kernel path: %v", err)
	why, err = m.ServeKernel(mnt, viewplan.ServeOptions{Ref: "app:v1"})
	if err != nil || why != "" {
		t.Fatalf("an image: fallback %q, error %v", why, err)
	}
	t.Cleanup(func() {
		if _, err := mounttable.Unmount(mnt); err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
		}
	})
	if got, want := viewFiles(t, mnt), "/etc/app=v1 /etc/motd=hi\n"; got != want {
		t.Errorf("the view holds %q, want %q", got, want)
	}
	mounts, err := mounttable.Read()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := mounttable.Find(mounts, mnt); !ok || !v.IsKernelView() || v.Ref() != "app:v1" {
		t.Errorf("the mount table has at %s %+v (found %v), want a kernel view of app:v1", mnt, v, ok)
	}
}
