package kernelview

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestPrepareStore times Prepare (walking every layer and planning the
// shims, nothing mounted) on a real store, twice (cold, then warm if the
// caches were dropped before):
//
//	KV_STORE=/var/lib/docker KV_REF=busybox:latest go test ./kernelview -run TestPrepareStore -v -count=1
func TestPrepareStore(t *testing.T) {
	root := os.Getenv("KV_STORE")
	if root == "" {
		t.Skip("KV_STORE not set")
	}
	s, err := layerstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.Resolve(os.Getenv("KV_REF"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecoverMarkers(tg); err != nil {
		t.Fatal(err)
	}
	var layers []fs.Layer
	for _, l := range tg.Stack {
		layers = append(layers, fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers})
	}
	for i := 0; i < 2; i++ {
		var r0, r1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
		start := time.Now()
		p, err := Prepare(layers)
		if err != nil {
			t.Fatal(err)
		}
		wall := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
		st := p.Stats()
		t.Logf("prepare %v (cpu %v, %d directories merged by the view): %d layers, %d shims, %d whiteouts, %d hidden, %d opaque, %d merged, %d copied",
			wall, cpu, p.view.Indexed(), st.Layers, st.Shims, st.Whiteouts, st.Hidden, st.Opaque, st.Merged, len(st.Copied))
		p.Close()
	}
}
