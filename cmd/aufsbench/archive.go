package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// archiveDriver is what -drivers calls the image as a file: the bench
// image saved (aufsmount save) and copied by skopeo into an OCI layout
// with gzip layers, mounted from the layout with no store at all.
const archiveDriver = "archive"

// archiveMetrics are the archive run's figures (docs/archives.md, Speed).
var archiveMetrics = []metric{
	{"first_mount", "first mount (index pass) / tar -xzf of every layer", "s"},
	{"mount", "later mount (start to answering)", "ms"},
	{"read_all", "read every file (tar -c), first time", "s"},
	{"read_all_again", "read every file again", "s"},
	{"index", "indexes cached / uncompressed size", "%"},
}

// runArchive measures the bench image a as an OCI layout of gzip layers:
// the first mount against extracting every layer with tar -xzf, later
// mounts, and reading every file against the extracted tree in the page
// cache.
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
	var gz, raw int64
	for _, b := range blobs {
		gz += b.Size
	}
	for _, d := range bs.ChainA {
		raw += duBytes(d)
	}
	mnt := filepath.Join(dir, "mnt-a")
	unix.Unmount(mnt, unix.MNT_DETACH)
	if err := os.MkdirAll(mnt, 0755); err != nil {
		return nil, err
	}
	extracted := filepath.Join(dir, "extracted")
	rep := &report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Params: p, Rounds: rounds,
		Raw: map[string]map[string][]float64{"extracted tree": {}, "aufsmount": {}}, Median: map[string]map[string]float64{}}
	add := func(sys, key string, v float64) { rep.Raw[sys][key] = append(rep.Raw[sys][key], v) }
	aufs := aufsmountArchive(bin, layout)
	for r := 0; r < rounds; r++ {
		fmt.Printf("round %d: tar -xzf of %d layers\n", r+1, len(blobs))
		os.RemoveAll(extracted)
		if err := os.MkdirAll(extracted, 0755); err != nil {
			return nil, err
		}
		var script []string
		for _, b := range blobs {
			script = append(script, fmt.Sprintf("tar -xzf %q -C %q", filepath.Join(layout, "blobs", b.Digest[:6], b.Digest[7:]), extracted))
		}
		d, _, err := timed(strings.Join(script, " && "))
		if err != nil {
			return nil, err
		}
		add("extracted tree", "first_mount", d.Seconds())
		readAll := func(root string) (time.Duration, error) {
			d, _, err := timed(fmt.Sprintf("tar -cf - -C %q . | cat > /dev/null", root))
			return d, err
		}
		readAll(extracted) // into the page cache
		if d, err = readAll(extracted); err != nil {
			return nil, err
		}
		add("extracted tree", "read_all", d.Seconds())
		add("extracted tree", "read_all_again", d.Seconds())
		fmt.Printf("round %d: aufsmount\n", r+1)
		cache, err := os.MkdirTemp(dir, "cache-")
		if err != nil {
			return nil, err
		}
		os.Setenv("XDG_CACHE_HOME", cache)
		if d, err = mountTimed(aufs, "a", mnt); err != nil {
			return nil, err
		}
		add("aufsmount", "first_mount", d.Seconds())
		if d, err = readAll(mnt); err != nil {
			return nil, err
		}
		add("aufsmount", "read_all", d.Seconds())
		if d, err = readAll(mnt); err != nil {
			return nil, err
		}
		add("aufsmount", "read_all_again", d.Seconds())
		for i := 0; i < 3; i++ {
			if err := aufs.unmount(mnt); err != nil {
				return nil, err
			}
			if d, err = mountTimed(aufs, "a", mnt); err != nil {
				return nil, err
			}
			add("aufsmount", "mount", float64(d.Microseconds())/1000)
		}
		if err := aufs.unmount(mnt); err != nil {
			return nil, err
		}
		add("aufsmount", "index", 100*float64(duBytes(filepath.Join(cache, "aufsmount", "archive")))/float64(raw))
		os.RemoveAll(cache)
	}
	os.Unsetenv("XDG_CACHE_HOME")
	os.RemoveAll(extracted)
	for name, m := range rep.Raw {
		rep.Median[name] = map[string]float64{}
		for k, v := range m {
			rep.Median[name][k] = median(v)
		}
	}
	fmt.Printf("\nimage as an OCI layout (skopeo, gzip): %s, %s; %d layers, %d MB of layer files, %d MB of gzip blobs, median of %d rounds\n\n",
		rep.Machine, rep.Date, len(blobs), raw>>20, gz>>20, rounds)
	printTable(rep, []string{"extracted tree", "aufsmount"}, archiveMetrics)
	return rep, nil
}

// aufsmountArchive mounts the layout's image with no store: --root is the
// layout itself.
func aufsmountArchive(bin, layout string) system {
	return system{
		name:    "aufsmount",
		mount:   func(_, mnt string) error { return runQuiet(bin, "--root", layout, "bench:a", mnt) },
		unmount: func(mnt string) error { return runQuiet(bin, "umount", mnt) },
	}
}

// ociBlob is a layer of the layout's manifest.
type ociBlob struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
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
