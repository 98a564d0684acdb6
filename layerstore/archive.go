package layerstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/seekable"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// An image archive or layout as a store (docs/archives.md): a docker
// save tar (manifest.json and repositories, with Docker 25's OCI layout
// beside them; before Docker 1.10, repositories and the v1 images alone:
// archive_legacy.go), an oci-archive (an OCI layout in a tar), or an OCI layout
// directory (oci-layout, index.json, blobs/). Its images are those its
// manifest.json or index.json names; their layers are blobs, read where
// they are, whose place each Layer gives in Archive.

// The kinds of archive, as skopeo names its transports.
const (
	KindDockerArchive = "docker-archive"
	KindOCIArchive    = "oci-archive"
	KindOCILayout     = "oci"
)

// archive is one archive or layout as opened.
type archive struct {
	path     string // the tar, or the layout directory
	kind     string // KindDockerArchive, KindOCIArchive or KindOCILayout
	dir      bool   // a layout directory, not a tar
	legacy   bool   // a docker save of Docker before 1.10 (archive_legacy.go)
	members  map[string]arcMember
	platform platform // the platform an index's manifest is chosen for
}

// ArchiveBlob is where a layer of an image archive is: its blob, a
// member of the archive's tar or a file of a layout directory.
type ArchiveBlob struct {
	// Archive is the tar or layout directory; Member the blob's name in
	// it, as the archive's manifest names it or as it resolved (links
	// followed).
	Archive string `json:"archive"`
	Member  string `json:"member"`
	// File is the file that holds the blob's bytes, at Offset for Size:
	// the archive's tar, or the layout's blob file (Offset 0).
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	// MediaType is the layer's media type where a manifest gives one
	// ("" in a docker save's manifest.json); Compression what the blob's
	// first bytes say (seekable.Uncompressed for a plain tar).
	MediaType   string               `json:"media_type,omitempty"`
	Compression seekable.Compression `json:"-"`
	// Digest is the blob's digest ("sha256:<hex>") where the archive
	// names it; for a plain tar it is the layer's diff id.
	Digest string `json:"digest,omitempty"`
	// Sparse is, for a blob that is a sparse member of the archive's tar
	// (tar --sparse of a layout), where its data is in the tar (Offset is
	// where the first run starts); nil elsewhere.
	Sparse []layertar.Fragment `json:"sparse,omitempty"`
	// NoTrustedXattrs says the engine whose blob it is never applies the
	// tar's trusted.* attributes (containerd): they are not the layer's.
	NoTrustedXattrs bool `json:"no_trusted_xattrs,omitempty"`
}

// String names the blob for a listing: the archive and member.
func (b *ArchiveBlob) String() string { return b.Archive + ":" + b.Member }

// Where is where l's files are, for a listing: its directory, or for a
// layer of an archive the blob that holds it.
func (l Layer) Where() string {
	if l.Archive != nil {
		return l.Archive.String()
	}
	return l.Dir
}

// given is the archive or layout the user named at abs, its symlinks
// followed: the user's path is theirs to link (an archive's members and
// a layout's files are still never followed).
func given(abs string) string {
	if p, err := filepath.EvalSymlinks(abs); err == nil {
		return p
	}
	return abs
}

// detectArchive opens abs as an archive when it is one: a regular file
// whose tar holds manifest.json (docker save), index.json and
// oci-layout (an oci-archive) or <v1 id>/json members (docker save
// before 1.10), or a directory holding index.json and
// oci-layout. A directory that is no layout gives nothing; a file that
// is no image archive is an error saying so.
func detectArchive(abs string, isDirectory bool, o Options) ([]found, error) {
	a := &archive{path: abs, dir: isDirectory}
	var err error
	if isDirectory {
		if !exists(abs+"/oci-layout") || !exists(abs+"/index.json") {
			return nil, nil
		}
		a.kind = KindOCILayout
	} else {
		f, err := openNoatime(abs, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK)
		if err != nil {
			return nil, bare(err)
		}
		defer f.Close()
		notArchive := func(why error) error { return &notArchiveError{why} }
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil, notArchive(errors.New("not a regular file"))
		}
		if a.members, err = indexTar(f, abs); errors.Is(err, errRefused) {
			return nil, err
		} else if err != nil {
			return nil, notArchive(err)
		}
		switch {
		case a.has("manifest.json"):
			a.kind = KindDockerArchive
		case a.has("index.json") && a.has("oci-layout"):
			a.kind = KindOCIArchive
		case a.isLegacySave():
			a.kind, a.legacy = KindDockerArchive, true
		default:
			return nil, notArchive(errors.New("it holds neither manifest.json (docker save) nor index.json and oci-layout (an OCI layout), nor <v1 id>/json (docker save before 1.10)"))
		}
	}
	if a.platform, err = parsePlatform(o.Platform); err != nil {
		return nil, err
	}
	return []found{{arcDriver{a}, LayoutArchive}}, nil
}

// notArchiveError is a file that is no image archive: as the root of a
// store, not a directory either.
type notArchiveError struct{ why error }

func (e *notArchiveError) Error() string {
	return "not a directory, nor an image archive: " + e.why.Error()
}
func (e *notArchiveError) Unwrap() []error { return []error{syscall.ENOTDIR, e.why} }

// arcDriver is the driver of an archive: its layers are blobs, stacked
// as they are, marking whiteouts with OCI's .wh. names (aufs's).
type arcDriver struct{ a *archive }

func (d arcDriver) name() string                                     { return d.a.kind }
func (arcDriver) layerDir(*store, string) string                     { return "" }
func (arcDriver) encoding(bool) *whiteout.Encoding                   { return whiteout.Aufs }
func (arcDriver) stack(_ *store, l []Layer, _ *containerRec) []Layer { return stackAll(l) }
func (arcDriver) keepsXattr(string) bool                             { return true }
func (arcDriver) containerDiff() ContainerDiff                       { return CompareTrees }
func (arcDriver) graphDriverData(*Target) map[string]string          { return nil }

// check: an archive's chain is checked as it is read (arcChain); only a
// layer given twice is left.
func (arcDriver) check(_ *store, layers []Layer, _ *containerRec) error {
	return checkUnique(layers)
}

// listLayers: the chain ids of its images' layers.
func (arcDriver) listLayers(s *store) ([]string, error) {
	seen := map[string]bool{}
	for _, img := range s.images {
		for _, c := range img.chainIDs {
			seen[c[len(sha256Prefix):]] = true
		}
	}
	return sortedKeys(seen), nil
}

// arcLayers lists every layer of the archive's images, by id, each with
// what its first image's chain says of it (Layers: an archive's layers
// are no directories).
func (s *store) arcLayers() []Layer {
	byID := map[string]Layer{}
	for _, id := range sortedKeys(s.images) {
		layers, err := s.arcChain(s.images[id])
		if err != nil {
			continue
		}
		for _, l := range layers {
			if _, seen := byID[l.ID]; !seen {
				l.Driver = s.drv.name()
				byID[l.ID] = l
			}
		}
	}
	out := make([]Layer, 0, len(byID))
	for _, id := range sortedKeys(byID) {
		out = append(out, byID[id])
	}
	return out
}

// arc is the archive of an archive part.
func (s *store) arc() *archive { return s.drv.(arcDriver).a }

// errAt is the error for what is wrong with name of the archive: in a
// tar, naming the member (the caller names the tar); in a layout, a
// *CorruptError naming the file.
func (a *archive) errAt(name string, err error) error {
	if a.dir {
		return &CorruptError{File: a.path + "/" + name, Err: err}
	}
	return fmt.Errorf("member %s: %w", clip(name), err)
}

// fault is errAt as a *CorruptError, naming the tar where it is one.
func (a *archive) fault(name string, err error) *CorruptError {
	return a.named(a.errAt(name, err))
}

// named is err as a *CorruptError: the one it is, or one naming the tar.
func (a *archive) named(err error) *CorruptError {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return &CorruptError{File: a.path, Err: err}
}

// failure is why an archive none of whose images could be read cannot
// be opened: each problem, without the archive's name, which the caller
// gives.
func (a *archive) failure(problems []error) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
		var ce *CorruptError
		if errors.As(p, &ce) && ce.File == a.path {
			errs[i] = ce.Err
		}
	}
	return errors.Join(errs...)
}
