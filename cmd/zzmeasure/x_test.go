package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/beneath"
)

func TestOpenRootCost(t *testing.T) {
	dirs, _ := filepath.Glob("/var/tmp/o2store/overlay2/*/diff")
	start := time.Now()
	for _, d := range dirs {
		r, err := beneath.OpenRoot(d)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	t.Logf("%d OpenRoot in %v", len(dirs), time.Since(start))
}
