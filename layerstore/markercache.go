package layerstore

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// The markers of a layer's tar-split are a function of its diff id (the
// digest of the very stream the tar-split records), and reading them
// means decompressing the whole tar-split: 100k entries are about 200 MB.
// So they are kept, per user, outside the store, in
// $XDG_CACHE_HOME/aufsmount/markers/<diff id hex>, and a layer's second
// view costs one small read. A record also holds the tar-split's size:
// one that no longer matches is read again. Nothing is cached when the
// cache directory cannot be made, and a cache that cannot be read is
// ignored: it only saves time.

// markerRecord is one cached layer's markers.
type markerRecord struct {
	Size      int64               `json:"tar_split_size"`
	Opaque    []string            `json:"opaque,omitempty"`
	Whiteouts map[string][]string `json:"whiteouts,omitempty"`
}

// cacheDir is where marker records go, or "".
func cacheDir() string {
	if os.Getenv("AUFSMOUNT_NO_CACHE") != "" {
		return ""
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "aufsmount", "markers")
}

// layerMarkers returns the markers the tar-split of l records, from the
// cache when it has them for l's diff id.
func layerMarkers(l Layer) (*whiteout.Markers, error) {
	var size int64
	if st, err := os.Lstat(l.TarSplit); err == nil {
		size = st.Size()
	}
	hex, err := parseDigest(l.DiffID)
	dir := cacheDir()
	if err != nil || dir == "" || size == 0 {
		return tarSplitMarkers(l.TarSplit)
	}
	p := filepath.Join(dir, hex)
	if m, ok := readMarkerRecord(p, size); ok {
		return m, nil
	}
	// One pass over the tar-split makes the layer's survey too
	// (copies.go), which the view asks for next.
	var m *whiteout.Markers
	if _, err := layerSurvey(l); err != nil {
		return nil, err
	}
	if x, ok := fresh.Load(hex); ok {
		m = &x.(*layertar.Index).Markers
	} else if m, err = tarSplitMarkers(l.TarSplit); err != nil || m == nil {
		return m, err
	}
	writeMarkerRecord(dir, p, size, m)
	return m, nil
}

func readMarkerRecord(p string, size int64) (*whiteout.Markers, bool) {
	data, err := readFile(p, maxJSON)
	if err != nil {
		return nil, false
	}
	var r markerRecord
	if json.Unmarshal(data, &r) != nil || r.Size != size {
		return nil, false
	}
	m := &whiteout.Markers{Whiteouts: r.Whiteouts}
	for _, d := range r.Opaque {
		if m.Opaque == nil {
			m.Opaque = map[string]bool{}
		}
		m.Opaque[d] = true
	}
	return m, true
}

// writeMarkerRecord stores m at p, atomically; failing is no error.
func writeMarkerRecord(dir, p string, size int64, m *whiteout.Markers) {
	r := markerRecord{Size: size, Whiteouts: m.Whiteouts}
	for d := range m.Opaque {
		r.Opaque = append(r.Opaque, d)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	writeCacheFile(dir, filepath.Base(p), data)
}
