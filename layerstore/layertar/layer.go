package layertar

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Layer is one image layer to rebuild or check.
type Layer struct {
	Dir      string             // its directory of files
	Encoding *whiteout.Encoding // how its directory marks whiteouts
	// Whole says the directory is the whole tree up to this layer (vfs,
	// overlay v1's root/): the lower layers' files are expected in it,
	// and a whiteout is the absence of its name.
	Whole bool
	// EngineRoot says the directory's root is as the engine made it, not
	// as the tar's ./ entry has it (containers/storage never applies that
	// entry): its attributes are not compared.
	EngineRoot bool
	// NoTrustedXattrs says the engine never applies trusted.* attributes
	// from a layer's tar (containerd's archive.Apply refuses them): their
	// absence is the layer as unpacked.
	NoTrustedXattrs bool
	// DiffID is the "sha256:<hex>" the rebuilt stream should be, "" where
	// it is not known: the rebuild holds its digest against it and says
	// so in Report.Mismatch.
	DiffID string
	// OpenTarSplit opens the layer's tar-split, uncompressed: JSON
	// entries, one a line.
	OpenTarSplit func() (io.ReadCloser, error)
}

// open opens the layer's directory and its tar-split, for one pass.
func (l Layer) open() (*beneath.Root, io.ReadCloser, error) {
	root, err := beneath.OpenRoot(l.Dir)
	if err != nil {
		return nil, nil, err
	}
	ts, err := l.OpenTarSplit()
	if err != nil {
		root.Close()
		return nil, nil, err
	}
	return root, ts, nil
}

// Report is what Verify or Write found.
type Report struct {
	Size     int64  // bytes of the stream
	Digest   string // "sha256:<hex>" of the stream
	Entries  int    // tar entries
	Findings []Finding
	// Mismatch is set where the layer's DiffID is known and the stream
	// is not it.
	Mismatch *Mismatch
}

// Mismatch says a rebuilt stream is not its layer's diff id: a byte of
// the contents changed, or a file of them is missing.
type Mismatch struct {
	Digest string // of the rebuilt stream
	DiffID string // the layer's
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("its rebuilt stream is %s, not its diff id %s", m.Digest, m.DiffID)
}

// mismatch is the Mismatch of a stream of digest d for l, or nil.
func (l Layer) mismatch(d string) *Mismatch {
	if l.DiffID == "" || d == l.DiffID {
		return nil
	}
	return &Mismatch{Digest: d, DiffID: l.DiffID}
}

// Intact reports whether the directory holds exactly what the tar did.
func (r *Report) Intact() bool { return len(r.Findings) == 0 }

// tarPath is a tar entry's name as a path inside the layer: no "./", no
// leading or trailing slash, "" for the root; ok is false for a name
// that climbs out of the layer.
func tarPath(name string) (p string, ok bool) {
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", false
		}
	}
	p = path.Clean("/" + name)
	return strings.TrimPrefix(p, "/"), true
}
