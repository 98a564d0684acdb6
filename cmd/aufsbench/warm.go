package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// warm reads every regular file under dirs into the page cache, so that
// each system's read workloads start from the same state. (Some VMs page
// out file pages that stay idle for a minute, so a warm-up at the start
// of the run would favour whichever system went first.)
func warm(dirs ...string) error {
	buf := make([]byte, 1<<20)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// bigFile is the big file in the layer that holds it.
func (bs *benchStore) bigFile() (string, error) {
	for _, dir := range bs.ChainA {
		p := filepath.Join(dir, bs.BigPath)
		if _, err := os.Lstat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is in no layer of image a", bs.BigPath)
}
