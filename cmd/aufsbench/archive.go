package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// archiveDriver is what -drivers calls the image as a file: the bench
// image saved (aufsmount save) and copied by skopeo into an OCI layout
// with gzip layers, mounted from the layout with no store at all.
const archiveDriver = "archive"

// realTree is the tree of this machine the archive run serves in walk
// order (smaller with --smoke).
var realTree = "usr/share"

// archiveMetrics are the archive run's figures (docs/archives.md, Speed).
var archiveMetrics = []metric{
	{"first_mount", "first mount (index pass) / tar -xzf of every layer", "s"},
	{"mount", "later mount (start to answering)", "ms"},
	{"mount_ls", "  then ls -la of its root", "ms"},
	{"read_all", "read every file (tar -c), first time", "s"},
	{"read_all_again", "read every file again", "s"},
	{"rss", "server's peak RSS after the first read", "MiB"},
	{"index", "gzip index / size of the files", "%"},
	{"tar_index", "tar index / size of the files", "%"},
}

// runArchive measures two images as OCI layouts of gzip layers: the
// bench image a, whose generated layers are not in walk order, and this
// machine's /usr/share as one layer in walk order, as Docker and
// BuildKit write layers: the first mount against extracting every layer
// with tar -xzf, later mounts, and reading every file against the
// extracted tree in the page cache.
func runArchive(dir string, p params, rounds int, bin string) (*report, error) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		return nil, fmt.Errorf("skopeo not found (apt-get install skopeo): it writes the gzip OCI layout")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	sp := p
	sp.Driver = "overlay2"
	bs, err := buildStore(dir, sp)
	if err != nil {
		return nil, err
	}
	layout := filepath.Join(dir, fmt.Sprintf("oci-gzip-%d-%d-%d-%d", p.Entries, p.Layers, p.Wide, p.Big))
	blobs, err := gzipLayout(bin, bs.Root, layout)
	if err != nil {
		return nil, err
	}
	var raw int64
	for _, d := range bs.ChainA {
		raw += duBytes(d)
	}
	rep := &report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Params: p, Rounds: rounds,
		Raw: map[string]map[string][]float64{}, Median: map[string]map[string]float64{}}
	if err := measureArchive(rep, "bench image", dir, bin, layout, "bench:a", blobs, raw); err != nil {
		return nil, err
	}
	real := filepath.Join(dir, "oci-gzip-"+strings.ReplaceAll(realTree, "/", "-"))
	rblobs, err := walkOrderLayout(real, realTree)
	if err != nil {
		return nil, err
	}
	if err := measureArchive(rep, "/"+realTree, dir, bin, real, "usr-share:a", rblobs, duBytes("/"+realTree)); err != nil {
		return nil, err
	}
	return rep, nil
}

// measureArchive measures ref of layout, whose layers are blobs and
// whose files take raw bytes, rep.Rounds times, and prints its table;
// the figures go into rep under "NAME: extracted tree" and "NAME:
// aufsmount".
func measureArchive(rep *report, name, dir, bin, layout, ref string, blobs []ociBlob, raw int64) error {
	var gz int64
	for _, b := range blobs {
		gz += b.Size
	}
	mnt := filepath.Join(dir, "mnt-a")
	unix.Unmount(mnt, unix.MNT_DETACH)
	if err := os.MkdirAll(mnt, 0755); err != nil {
		return err
	}
	extracted := filepath.Join(dir, "extracted")
	ext, ours := name+": extracted tree", name+": aufsmount"
	rep.Raw[ext], rep.Raw[ours] = map[string][]float64{}, map[string][]float64{}
	add := func(sys, key string, v float64) { rep.Raw[sys][key] = append(rep.Raw[sys][key], v) }
	aufs := aufsmountArchive(bin, layout, ref)
	readAll := func(root string) (time.Duration, error) {
		d, _, err := timed(fmt.Sprintf("tar -cf - -C %q . | cat > /dev/null", root))
		return d, err
	}
	for r := 0; r < rep.Rounds; r++ {
		fmt.Printf("%s, round %d: tar -xzf of %d layers\n", name, r+1, len(blobs))
		os.RemoveAll(extracted)
		if err := os.MkdirAll(extracted, 0755); err != nil {
			return err
		}
		var script []string
		for _, b := range blobs {
			script = append(script, fmt.Sprintf("tar -xzf %q -C %q", filepath.Join(layout, "blobs", b.Digest[:6], b.Digest[7:]), extracted))
		}
		d, _, err := timed(strings.Join(script, " && "))
		if err != nil {
			return err
		}
		add(ext, "first_mount", d.Seconds())
		readAll(extracted) // into the page cache
		if d, err = readAll(extracted); err != nil {
			return err
		}
		add(ext, "read_all", d.Seconds())
		add(ext, "read_all_again", d.Seconds())
		fmt.Printf("%s, round %d: aufsmount\n", name, r+1)
		cache, err := os.MkdirTemp(dir, "cache-")
		if err != nil {
			return err
		}
		os.Setenv("XDG_CACHE_HOME", cache)
		if d, err = mountTimed(aufs, "a", mnt); err != nil {
			return err
		}
		add(ours, "first_mount", d.Seconds())
		if d, err = readAll(mnt); err != nil {
			return err
		}
		add(ours, "read_all", d.Seconds())
		if pid := servingPid(mnt); pid != 0 {
			add(ours, "rss", float64(statusKB(pid, "VmHWM"))/1024)
		}
		if d, err = readAll(mnt); err != nil {
			return err
		}
		add(ours, "read_all_again", d.Seconds())
		for i := 0; i < 3; i++ {
			if err := aufs.unmount(mnt); err != nil {
				return err
			}
			if d, err = mountTimed(aufs, "a", mnt); err != nil {
				return err
			}
			add(ours, "mount", float64(d.Microseconds())/1000)
			d, _, err = timed(fmt.Sprintf("ls -la %q > /dev/null", mnt))
			if err != nil {
				return err
			}
			add(ours, "mount_ls", float64(d.Microseconds())/1000)
		}
		if err := aufs.unmount(mnt); err != nil {
			return err
		}
		idx := filepath.Join(cache, "aufsmount", "archive")
		add(ours, "index", 100*float64(duGlob(idx, "*.seekable"))/float64(raw))
		add(ours, "tar_index", 100*float64(duGlob(idx, "*.tar"))/float64(raw))
		os.RemoveAll(cache)
	}
	os.Unsetenv("XDG_CACHE_HOME")
	os.RemoveAll(extracted)
	for _, sys := range []string{ext, ours} {
		rep.Median[sys] = map[string]float64{}
		for k, v := range rep.Raw[sys] {
			rep.Median[sys][k] = median(v)
		}
	}
	fmt.Printf("\n%s as an OCI layout of gzip layers: %s, %s; %d layers, %d MB of files, %d MB of gzip blobs, median of %d rounds\n\n",
		name, rep.Machine, rep.Date, len(blobs), raw>>20, gz>>20, rep.Rounds)
	printTable(rep, []string{ext, ours}, archiveMetrics)
	return nil
}

// aufsmountArchive mounts the layout's image with no store: --root is the
// layout itself.
func aufsmountArchive(bin, layout, ref string) system {
	return system{
		name:    "aufsmount",
		mount:   func(_, mnt string) error { return runQuiet(bin, "--root", layout, ref, mnt) },
		unmount: func(mnt string) error { return runQuiet(bin, "umount", mnt) },
	}
}

// ociBlob is a layer of the layout's manifest.
type ociBlob struct {
	MediaType   string            `json:"mediaType,omitempty"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// gzipLayout writes (once) the bench image a as an OCI layout of gzip
// layers: aufsmount save, then skopeo copy, which compresses; it returns
// the manifest's layers, base first.
func gzipLayout(bin, root, layout string) ([]ociBlob, error) {
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		fmt.Printf("writing the image as a gzip OCI layout in %s\n", layout)
		os.RemoveAll(layout)
		save := layout + ".save.tar"
		if err := runQuiet(bin, "--root", root, "save", "-o", save, "bench:a"); err != nil {
			return nil, err
		}
		defer os.Remove(save)
		if err := runQuiet("skopeo", "copy", "--quiet", "docker-archive:"+save, "oci:"+layout+":bench:a"); err != nil {
			os.RemoveAll(layout)
			return nil, err
		}
	}
	return layoutLayers(layout)
}

// layoutLayers is the layers of the one image of an OCI layout.
func layoutLayers(layout string) ([]ociBlob, error) {
	var index struct {
		Manifests []ociBlob `json:"manifests"`
	}
	var manifest struct {
		Layers []ociBlob `json:"layers"`
	}
	if err := readJSON(filepath.Join(layout, "index.json"), &index); err != nil {
		return nil, err
	}
	if len(index.Manifests) != 1 {
		return nil, fmt.Errorf("%s: %d manifests, expected one", layout, len(index.Manifests))
	}
	d := index.Manifests[0].Digest
	if err := readJSON(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")), &manifest); err != nil {
		return nil, err
	}
	return manifest.Layers, nil
}

func readJSON(p string, v any) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// duBytes is the size of the regular files under dir.
func duBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// duGlob is the size of the files of dir matching pattern.
func duGlob(dir, pattern string) int64 {
	var n int64
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// walkOrderLayout writes (once) an OCI layout at layout of one gzip layer
// holding tree (relative to /) in walk order (tar --sort=name, as Docker
// and BuildKit order a layer), as image usr-share:a; it returns its one
// layer.
func walkOrderLayout(layout, tree string) ([]ociBlob, error) {
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		fmt.Printf("writing %s as a gzip OCI layout in %s\n", tree, layout)
		os.RemoveAll(layout)
		blobs := filepath.Join(layout, "blobs", "sha256")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return nil, err
		}
		tmp := filepath.Join(layout, "layer.tar")
		defer os.Remove(tmp)
		if err := runQuiet("tar", "--sort=name", "--numeric-owner", "-C", "/", "-cf", tmp, tree); err != nil {
			return nil, err
		}
		diffID, err := sha256File(tmp)
		if err != nil {
			return nil, err
		}
		if err := runQuiet("gzip", "-6", tmp); err != nil {
			return nil, err
		}
		layer, err := addBlob(blobs, tmp+".gz")
		if err != nil {
			return nil, err
		}
		layer.MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
		config, err := addJSON(blobs, map[string]any{"architecture": "amd64", "os": "linux",
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}}})
		if err != nil {
			return nil, err
		}
		config.MediaType = "application/vnd.oci.image.config.v1+json"
		manifest, err := addJSON(blobs, map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": config, "layers": []ociBlob{layer}})
		if err != nil {
			return nil, err
		}
		manifest.MediaType = "application/vnd.oci.image.manifest.v1+json"
		manifest.Annotations = map[string]string{"org.opencontainers.image.ref.name": "usr-share:a"}
		index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []ociBlob{manifest}})
		if err := os.WriteFile(filepath.Join(layout, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(layout, "index.json"), index, 0o644); err != nil {
			return nil, err
		}
	}
	return layoutLayers(layout)
}

// sha256File is "sha256:<hex>" of the file at p.
func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d, err := digest.FromReader(f)
	return d.String(), err
}

// addBlob moves the file at p into the blobs directory under its digest.
func addBlob(blobs, p string) (ociBlob, error) {
	d, err := sha256File(p)
	if err != nil {
		return ociBlob{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ociBlob{}, err
	}
	return ociBlob{Digest: d, Size: fi.Size()}, os.Rename(p, filepath.Join(blobs, d[7:]))
}

// addJSON writes v as a blob.
func addJSON(blobs string, v any) (ociBlob, error) {
	data, _ := json.Marshal(v)
	p := filepath.Join(blobs, "new")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return ociBlob{}, err
	}
	return addBlob(blobs, p)
}
