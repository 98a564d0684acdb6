package kernelview

import (
	"path/filepath"
	"testing"

	"github.com/aufsmount/aufsmount/fs"
	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// BenchmarkPrepare times Prepare (walking every layer and planning the
// shims, nothing mounted) on a generated aufs image of 20 layers and
// 20,000 entries, with the plan's figures as metrics. (cmd/aufsbench
// times it as part of a whole kernel mount, beside the peers.)
func BenchmarkPrepare(b *testing.B) {
	testenv.Root(b, "writing a store of many owners")
	img := &st.Image{Names: []string{"bench:1"}, Layers: st.Generate(st.GenOptions{Seed: 1, Layers: 20, Entries: 20000})}
	built, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(b.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		b.Fatal(err)
	}
	s, err := layerstore.Open(built.Root)
	if err != nil {
		b.Fatal(err)
	}
	tg, err := s.Resolve("bench:1")
	if err != nil {
		b.Fatal(err)
	}
	var layers []fs.Layer
	for _, l := range tg.Stack {
		layers = append(layers, fs.Layer{ID: l.ID, Dir: l.Dir, Encoding: l.Encoding, Markers: l.Markers})
	}
	var stats Stats
	for b.Loop() {
		p, err := Prepare(layers)
		if err != nil {
			b.Fatal(err)
		}
		stats = p.Stats()
		p.Close()
	}
	b.ReportMetric(float64(stats.Layers), "layers")
	b.ReportMetric(float64(stats.Shims), "shims")
	b.ReportMetric(float64(stats.Whiteouts), "whiteouts")
	b.ReportMetric(float64(stats.Opaque), "opaque")
	b.ReportMetric(float64(len(stats.Copied)), "copied")
}
