package storetest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/aufsmount/aufsmount/internal/chainid"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// ArchiveKind is a format of image archive (docs/archives.md).
type ArchiveKind int

const (
	// DockerSave is docker save before Docker 25: manifest.json,
	// repositories, <image id>.json and <v1 id>/layer.tar (Docker also
	// writes <v1 id>/VERSION and json, which nothing reads).
	DockerSave ArchiveKind = iota + 1
	// DockerSave25 is docker save from Docker 25 on: the same names and
	// <v1 id>/VERSION, each layer.tar a symlink into the OCI layout
	// beside them (oci-layout, index.json, blobs/sha256/), which holds
	// the tars.
	DockerSave25
	// OCIArchive is an OCI layout in a tar (skopeo's oci-archive:).
	OCIArchive
	// OCILayout is an OCI layout directory (skopeo's oci:).
	OCILayout
	// DockerSaveLegacy is docker save before Docker 1.10: repositories
	// (each tag naming its image's top v1 id) and, per layer, <v1
	// id>/VERSION, json and layer.tar, no manifest.json (archive_legacy.go).
	DockerSaveLegacy
)

// Archive describes an image archive holding Images, each with its
// config as Store.Write gives it (so the same id) and its layers as the
// tar streams WriteTar makes.
type Archive struct {
	Kind   ArchiveKind
	Images []*Image
	// Compression is how the OCI kinds keep layer blobs: "" (plain
	// tars), "gzip" or "zstd". A docker save keeps plain tars.
	Compression string
	// Index puts each image's manifest of an OCI kind behind an index
	// that also names another platform's manifest, whose blob is absent
	// (as skopeo copy of one platform of a list leaves it).
	Index bool
	// RefNames are the OCI kinds' org.opencontainers.image.ref.name of
	// each image, where the image's Names are not to be used (skopeo's
	// oci:DIR:REF writes the REF as given, often a bare tag).
	RefNames map[*Image]string
}

// ArchiveBuilt is what Archive.Write made.
type ArchiveBuilt struct {
	Path string
	// ImageID is the config's hex digest; for DockerSaveLegacy that of
	// the config docker load makes of the legacy files (legacyID).
	ImageID map[*Image]string
	DiffIDs map[*Image][]string // base first, the empty layers left out
	Blobs   map[*Image][]string // each layer's blob digest, base first
}

// archiveFile is one file of an archive being written.
type archiveFile struct {
	name, link string
	data       []byte
}

// Write writes the archive at p: a tar, or for OCILayout a directory.
func (a *Archive) Write(p string) (*ArchiveBuilt, error) {
	b := &ArchiveBuilt{Path: p, ImageID: map[*Image]string{}, DiffIDs: map[*Image][]string{}, Blobs: map[*Image][]string{}}
	var files []archiveFile
	seen := map[string]bool{}
	add := func(f archiveFile) {
		if !seen[f.name] {
			seen[f.name] = true
			files = append(files, f)
		}
	}
	var items []imagetar.ManifestItem
	repos := map[string]map[string]string{}
	var index imagetar.Index
	index.SchemaVersion, index.MediaType = 2, imagetar.MediaTypeIndex
	for _, img := range a.Images {
		var diffIDs, blobs, members []string
		var descs []imagetar.Descriptor
		var real []*Layer
		var tars [][]byte // DockerSaveLegacy's, written once the config is made
		for _, l := range img.Layers {
			if l.Empty {
				continue
			}
			real = append(real, l)
			var tb bytes.Buffer
			if err := WriteTar(&tb, l); err != nil {
				return nil, err
			}
			diffID := imagetar.Digest(tb.Bytes())
			blob, mt, err := a.compress(tb.Bytes())
			if err != nil {
				return nil, err
			}
			digest := imagetar.Digest(blob)
			diffIDs, blobs = append(diffIDs, diffID), append(blobs, digest)
			descs = append(descs, imagetar.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(blob))})
			member := imagetar.BlobPath(digest)
			switch a.Kind {
			case DockerSave:
				member = v1ID(chainid.All(diffIDs)[len(diffIDs)-1]) + "/layer.tar"
			case DockerSave25:
				dir := v1ID(chainid.All(diffIDs)[len(diffIDs)-1])
				add(archiveFile{name: dir + "/VERSION", data: []byte("1.0")})
				add(archiveFile{name: dir + "/layer.tar", link: "../" + member})
			}
			members = append(members, member)
			if a.Kind == DockerSaveLegacy {
				tars = append(tars, blob)
				continue
			}
			add(archiveFile{name: member, data: blob})
		}
		hist, created := imageHistory(img)
		top := &Layer{}
		if len(img.Layers) > 0 {
			top = img.Layers[len(img.Layers)-1]
		}
		config, err := json.Marshal(imageConfig(created, top, hist, slices.Clone(diffIDs)))
		if err != nil {
			return nil, err
		}
		cd := imagetar.Digest(config)
		id := cd[len("sha256:"):]
		b.ImageID[img], b.DiffIDs[img], b.Blobs[img] = id, diffIDs, blobs
		if a.Kind == DockerSaveLegacy {
			top, legacy, err := writeLegacy(config, diffIDs, tars, add)
			if err != nil {
				return nil, err
			}
			b.ImageID[img] = legacy
			for _, n := range img.Names {
				repo, tag := splitTag(n)
				if repos[repo] == nil {
					repos[repo] = map[string]string{}
				}
				repos[repo][tag] = top
			}
			continue
		}
		configMember := imagetar.BlobPath(cd)
		if a.Kind == DockerSave {
			configMember = id + ".json"
		}
		add(archiveFile{name: configMember, data: config})
		if a.Kind == DockerSave || a.Kind == DockerSave25 {
			it := imagetar.ManifestItem{Config: configMember, Layers: members}
			for _, n := range img.Names {
				repo, tag := splitTag(n)
				if repos[repo] == nil {
					repos[repo] = map[string]string{}
				}
				repos[repo][tag] = id
				it.RepoTags = append(it.RepoTags, n)
			}
			items = append(items, it)
		}
		if a.Kind == DockerSave {
			continue
		}
		man, err := json.Marshal(imagetar.Manifest{SchemaVersion: 2, MediaType: imagetar.MediaTypeManifest,
			Config: imagetar.Descriptor{MediaType: imagetar.MediaTypeConfig, Digest: cd, Size: int64(len(config))}, Layers: descs})
		if err != nil {
			return nil, err
		}
		target := imagetar.Descriptor{MediaType: imagetar.MediaTypeManifest, Digest: imagetar.Digest(man), Size: int64(len(man)),
			Platform: &imagetar.Platform{OS: "linux", Architecture: runtime.GOARCH}}
		add(archiveFile{name: imagetar.BlobPath(target.Digest), data: man})
		if a.Index {
			other := sha256.Sum256([]byte("absent manifest of " + target.Digest))
			idx, _ := json.Marshal(imagetar.Index{SchemaVersion: 2, MediaType: imagetar.MediaTypeIndex, Manifests: []imagetar.Descriptor{
				{MediaType: imagetar.MediaTypeManifest, Digest: "sha256:" + hex.EncodeToString(other[:]), Size: 500, Platform: &imagetar.Platform{OS: "linux", Architecture: otherArch()}},
				target,
			}})
			target = imagetar.Descriptor{MediaType: imagetar.MediaTypeIndex, Digest: imagetar.Digest(idx), Size: int64(len(idx))}
			add(archiveFile{name: imagetar.BlobPath(target.Digest), data: idx})
		}
		target.Platform = nil
		names := img.Names
		if r, ok := a.RefNames[img]; ok {
			names = []string{r}
		}
		if len(names) == 0 {
			index.Manifests = append(index.Manifests, target)
		}
		for _, n := range names {
			d := target
			d.Annotations = map[string]string{imagetar.AnnotationRefName: n}
			if _, tag := splitTag(n); a.Kind == DockerSave25 {
				d.Annotations = map[string]string{imagetar.AnnotationImageName: n, imagetar.AnnotationRefName: tag}
			}
			index.Manifests = append(index.Manifests, d)
		}
	}
	if a.Kind == DockerSaveLegacy {
		data, _ := json.Marshal(repos)
		add(archiveFile{name: "repositories", data: data})
		return b, writeArchiveTar(p, files)
	}
	if a.Kind == DockerSaveLegacy {
		data, _ := json.Marshal(repos)
		add(archiveFile{name: "repositories", data: data})
		return b, writeArchiveTar(p, files)
	}
	if a.Kind != DockerSave {
		add(archiveFile{name: "oci-layout", data: []byte(imagetar.OCILayout)})
		data, _ := json.Marshal(index)
		add(archiveFile{name: "index.json", data: data})
	}
	if a.Kind == DockerSave || a.Kind == DockerSave25 {
		data, _ := json.Marshal(items)
		add(archiveFile{name: "manifest.json", data: data})
		data, _ = json.Marshal(repos)
		add(archiveFile{name: "repositories", data: data})
	}
	if a.Kind == OCILayout {
		return b, writeLayoutDir(p, files)
	}
	return b, writeArchiveTar(p, files)
}

// compress is a layer's blob as the archive keeps it, and its media type.
func (a *Archive) compress(tarData []byte) ([]byte, string, error) {
	if a.Kind == DockerSave || a.Kind == DockerSave25 {
		return tarData, imagetar.MediaTypeLayer, nil
	}
	return compressLayer(a.Compression, tarData)
}

// compressLayer is a layer's tar compressed as c says ("", "gzip" or
// "zstd"), and its OCI media type.
func compressLayer(c string, tarData []byte) ([]byte, string, error) {
	var out bytes.Buffer
	switch c {
	case "":
		return tarData, imagetar.MediaTypeLayer, nil
	case "gzip":
		zw := gzip.NewWriter(&out)
		zw.Write(tarData)
		if err := zw.Close(); err != nil {
			return nil, "", err
		}
		return out.Bytes(), imagetar.MediaTypeLayer + "+gzip", nil
	case "zstd":
		zw, err := zstd.NewWriter(&out)
		if err != nil {
			return nil, "", err
		}
		zw.Write(tarData)
		if err := zw.Close(); err != nil {
			return nil, "", err
		}
		return out.Bytes(), imagetar.MediaTypeLayer + "+zstd", nil
	}
	return nil, "", fmt.Errorf("compression %q: not gzip or zstd", c)
}

// v1ID is the legacy directory of the layer of chain id chain: Docker's
// are digests of a json; ours are derived from the chain id.
func v1ID(chain string) string { return hexID("v1 id", chain) }

// splitTag splits "repo:tag" as repositories keys it ("latest" where
// it has no tag).
func splitTag(name string) (repo, tag string) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || strings.Contains(name[i:], "/") {
		return name, "latest"
	}
	return name[:i], name[i+1:]
}

// writeArchiveTar writes files as a tar at p, directories first as tar
// writers do.
func writeArchiveTar(p string, files []archiveFile) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	tw := imagetar.NewWriter(f)
	for _, af := range files {
		if af.link != "" {
			err = tw.Symlink(af.name, af.link, imagetar.Epoch)
		} else {
			err = tw.File(af.name, af.data, imagetar.Epoch)
		}
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeLayoutDir writes files under the directory p.
func writeLayoutDir(p string, files []archiveFile) error {
	for _, af := range files {
		q := filepath.Join(p, af.name)
		if err := os.MkdirAll(filepath.Dir(q), 0o755); err != nil {
			return err
		}
		if af.link != "" {
			if err := os.Symlink(af.link, q); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(q, af.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
