package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

var layouts = []layerstore.Layout{layerstore.LayoutGraph, layerstore.LayoutCAS}

// sample is a small store: images sharing a base, several names for one
// image, a digest-only image, and a container.
type sample struct {
	*st.Built
	busybox, app, alpine *st.Image
	web                  *st.Container
}

func writeSample(t *testing.T, layout layerstore.Layout) *sample {
	t.Helper()
	return writeSampleLaidOut(t, t.TempDir(), layout)
}

// writeSampleIn writes the sample store (1.10+ layout) in dir/docker.
func writeSampleIn(t *testing.T, dir string) *sample {
	t.Helper()
	return writeSampleLaidOut(t, dir, layerstore.LayoutCAS)
}

func writeSampleLaidOut(t *testing.T, dir string, layout layerstore.Layout) *sample {
	t.Helper()
	now := time.Now()
	base := st.NewLayer("#(nop) ADD file:6ce6 in /",
		st.D("bin"), st.F("bin/sh", "#!/bin/busybox\n"),
		st.D("etc"), st.F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"))
	cmd := &st.Layer{CreatedBy: `#(nop)  CMD ["sh"]`, Empty: true}
	appLayer := st.NewLayer("echo hello > /etc/motd && rm /bin/sh",
		st.F("etc/motd", "hello\n"), st.WH("bin/sh"))
	other := st.NewLayer("#(nop) ADD file:9a1c in /", st.D("lib"), st.F("lib/ld.so", "elf"))
	s := &sample{
		busybox: &st.Image{Names: []string{"busybox:latest"}, Layers: []*st.Layer{base, cmd}, Created: now.Add(-3*365*24*time.Hour - 10*24*time.Hour)},
		app:     &st.Image{Names: []string{"user/app:v1", "user/app:v2", "registry:5000/team/app:v2"}, Layers: []*st.Layer{base, appLayer}, Created: now.Add(-150 * time.Minute)},
		alpine:  &st.Image{Names: []string{"alpine@sha256:" + strings.Repeat("5c", 32)}, Layers: []*st.Layer{other}, Created: now.Add(-20 * 24 * time.Hour)},
	}
	s.web = &st.Container{Name: "web", Image: s.app, RW: st.NewLayer("", st.F("tmp/scratch", "x")), Created: now.Add(-5 * time.Minute)}
	store := &st.Store{Images: []*st.Image{s.busybox, s.app, s.alpine}, Containers: []*st.Container{s.web}}
	b, err := store.Write(filepath.Join(dir, "docker"), layout)
	if err != nil {
		t.Fatalf("writing the sample store: %v", err)
	}
	s.Built = b
	return s
}

// bases is the last element of each path.
func bases(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
