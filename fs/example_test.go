package fs_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/fs"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Two layer directories in the aufs encoding, merged without mounting
// (fs.Mount serves the same union over FUSE): the upper layer's
// whiteout hides a file of the lower one.
func ExampleOpenView() {
	dir, _ := os.MkdirTemp("", "fs")
	defer os.RemoveAll(dir)
	write := func(p, data string) {
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
	}
	write("lower/etc/motd", "welcome\n")
	write("lower/etc/hostname", "base\n")
	write("upper/etc/.wh.motd", "")
	write("upper/etc/issue", "v1\n")
	v, err := fs.OpenView([]fs.Layer{
		{ID: "upper", Dir: filepath.Join(dir, "upper"), Encoding: whiteout.Aufs},
		{ID: "lower", Dir: filepath.Join(dir, "lower"), Encoding: whiteout.Aufs},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	ents, err := v.ReadDir("etc")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range ents {
		fmt.Println(e.Name, "from", e.LayerID)
	}
	// Output:
	// hostname from lower
	// issue from upper
}
