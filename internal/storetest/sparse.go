package storetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// SparseSpec is a file of Size bytes that holds Data at the offsets of
// its keys and holes elsewhere (unwritten, so the file system keeps no
// blocks there, and GNU tar --sparse finds them).
type SparseSpec struct {
	Name string
	Size int64
	Data map[int64]string
}

// Content is the file's bytes: its data, and zeros for its holes.
func (f SparseSpec) Content() []byte {
	b := make([]byte, f.Size)
	for off, d := range f.Data {
		copy(b[off:], d)
	}
	return b
}

// SparseSpecs are sparse files of every shape: holes first, last and
// between runs of data (some not on a block boundary, one long), data
// first, a file all hole, one under a long name. Plain is a file that is
// not sparse, and Link a hard link to the first.
var SparseSpecs = []SparseSpec{
	{Name: "holes", Size: 3 << 20, Data: map[int64]string{100000: "hello", 1<<20 + 123: string(pattern(70000)), 2000000: "world"}},
	{Name: "data-first", Size: 1 << 20, Data: map[int64]string{0: string(pattern(4096)), 1<<20 - 10: "0123456789"}},
	{Name: "all-hole", Size: 1 << 20},
	{Name: "d/" + string(pattern(120)), Size: 64 << 10, Data: map[int64]string{32 << 10: "long name"}},
}

// pattern is n bytes of lowercase letters in a pattern that does not
// repeat within a block.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i*7%509%26)
	}
	return b
}

// SparseFormats are GNU tar's ways of writing a sparse file, each with
// the flags that ask for it.
var SparseFormats = []struct {
	Name string
	Args []string
}{
	{"old GNU", []string{"--format=gnu"}},
	{"PAX 0.0", []string{"--format=posix", "--sparse-version=0.0"}},
	{"PAX 0.1", []string{"--format=posix", "--sparse-version=0.1"}},
	{"PAX 1.0", []string{"--format=posix", "--sparse-version=1.0"}},
}

// GNUSparseTar writes files into dir, with a plain file "plain" and a
// hard link "link" to the first, and returns the tar that GNU tar
// writes of them, in that order, with --sparse and format (as
// "--format=gnu", or "--format=posix", "--sparse-version=1.0"). The
// caller requires tar (testenv.Tool).
func GNUSparseTar(dir string, files []SparseSpec, format ...string) ([]byte, error) {
	names := []string{}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		w, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		offs := make([]int64, 0, len(f.Data))
		for off := range f.Data {
			offs = append(offs, off)
		}
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for _, off := range offs {
			if _, err := w.WriteAt([]byte(f.Data[off]), off); err != nil {
				w.Close()
				return nil, err
			}
		}
		if err := w.Truncate(f.Size); err != nil {
			w.Close()
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		names = append(names, f.Name)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("not sparse\n"), 0o644); err != nil {
		return nil, err
	}
	names = append(names, "plain")
	if len(files) > 0 {
		if err := os.Link(filepath.Join(dir, files[0].Name), filepath.Join(dir, "link")); err != nil {
			return nil, err
		}
		names = append(names, "link")
	}
	args := append([]string{"-C", dir, "--sparse", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1000000000", "--no-recursion"}, format...)
	args = append(append(args, "-cf", "-"), names...)
	out, err := exec.Command("tar", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return nil, fmt.Errorf("tar %v: %w: %s", args, err, stderr)
	}
	return out, nil
}
