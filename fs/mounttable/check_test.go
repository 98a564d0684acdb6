package mounttable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocate(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustMkdir := func(p string) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustMkdir(filepath.Join(dir, "real", "mnt"))
	mustMkdir(filepath.Join(dir, "real", "plain"))
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("mnt", filepath.Join(dir, "real", "mntlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A mount point known only from the table: the test never mounts, so
	// it also shows that a mounted path is found without being touched.
	ghost := filepath.Join(dir, "real", "ghost")
	mnt := filepath.Join(dir, "real", "mnt")
	mounts := []Mount{
		{ID: 1, MountPoint: "/", FSType: "ext4"},
		{ID: 2, MountPoint: mnt, FSType: "fuse.aufsmount", Source: "busybox"},
		{ID: 3, MountPoint: ghost, FSType: "fuse.aufsmount", Source: "dead"},
	}
	tests := []struct {
		arg       string
		wantPath  string
		wantMount int // 0: none
		wantErr   bool
	}{
		{filepath.Join(dir, "real", "mnt"), mnt, 2, false},
		{filepath.Join(dir, "link", "mnt"), mnt, 2, false},
		{filepath.Join(dir, "link", "mntlink"), mnt, 2, false},
		{filepath.Join(dir, "real", "mnt") + "/", mnt, 2, false},
		{filepath.Join(dir, "link", "plain", "..", "ghost"), ghost, 3, false},
		{filepath.Join(dir, "link", "plain"), filepath.Join(dir, "real", "plain"), 0, false},
		{filepath.Join(dir, "file"), filepath.Join(dir, "file"), 0, false},
		{"/", "/", 1, false},
		{filepath.Join(dir, "missing"), "", 0, true},
		{filepath.Join(dir, "missing", "x"), "", 0, true},
	}
	for _, tt := range tests {
		at, err := Locate(tt.arg, mounts)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Locate(%q) = %+v, want an error", tt.arg, at)
			}
			continue
		}
		if err != nil {
			t.Errorf("Locate(%q): %v", tt.arg, err)
			continue
		}
		gotMount := 0
		if at.Mount != nil {
			gotMount = at.Mount.ID
		} else if at.Info == nil {
			t.Errorf("Locate(%q): neither a mount nor file info", tt.arg)
		}
		if at.Path != tt.wantPath || gotMount != tt.wantMount {
			t.Errorf("Locate(%q) = %q, mount %d; want %q, mount %d", tt.arg, at.Path, gotMount, tt.wantPath, tt.wantMount)
		}
	}
}
