package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountInfo(t *testing.T) {
	in := strings.Join([]string{
		`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro`,
		`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 propagate_from:2 - ext3 /dev/root rw,errors=continue`,
		`41 22 0:35 / /mnt/my\040img rw,nosuid,nodev,relatime - fuse.aufsmount busybox:latest ro,user_id=0,group_id=0`,
		`42 22 0:36 / /tmp/a\134b\011c\012d rw - fuse.aufsmount user/app:v1 ro`,
		`43 22 0:37 / /tmp/x\0 rw - tmpfs tmp\040fs rw`, // a short escape stays
		``,
	}, "\n")
	got, err := parseMountInfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountInfo{
		{ID: 22, Parent: 1, Root: "/", MountPoint: "/", Options: "rw,relatime", FSType: "ext4", Source: "/dev/sda1", SuperOptions: "rw,errors=remount-ro"},
		{ID: 36, Parent: 35, Root: "/mnt1", MountPoint: "/mnt2", Options: "rw,noatime", FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"},
		{ID: 41, Parent: 22, Root: "/", MountPoint: "/mnt/my img", Options: "rw,nosuid,nodev,relatime", FSType: "fuse.aufsmount", Source: "busybox:latest", SuperOptions: "ro,user_id=0,group_id=0"},
		{ID: 42, Parent: 22, Root: "/", MountPoint: "/tmp/a\\b\tc\nd", Options: "rw", FSType: "fuse.aufsmount", Source: "user/app:v1", SuperOptions: "ro"},
		{ID: 43, Parent: 22, Root: "/", MountPoint: `/tmp/x\0`, Options: "rw", FSType: "tmpfs", Source: "tmp fs", SuperOptions: "rw"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountInfo:\n got %+v\nwant %+v", got, want)
	}
	if m, ok := findMount(got, "/mnt/my img"); !ok || m.ID != 41 {
		t.Errorf("findMount(/mnt/my img) = %+v, %v", m, ok)
	}
	if _, ok := findMount(got, "/mnt/my"); ok {
		t.Errorf("findMount(/mnt/my) found a mount")
	}
}

func TestParseMountInfoErrors(t *testing.T) {
	for _, line := range []string{
		`22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw`, // no separator
		`22 1 8:1 / / rw - ext4`,                              // too short
		`x 1 8:1 / / rw - ext4 /dev/sda1 rw`,                  // id not a number
		`22 y 8:1 / / rw - ext4 /dev/sda1 rw`,
	} {
		if _, err := parseMountInfo(strings.NewReader(line)); err == nil {
			t.Errorf("parseMountInfo(%q): no error", line)
		}
	}
}

func TestUnescapeMountField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`a\040b`, "a b"},
		{`\134\134`, `\\`},
		{`end\`, `end\`},
		{`\08`, `\08`},
		{`\400`, `\400`}, // not a byte
		{`\3777`, "\xff7"},
	}
	for _, tt := range tests {
		if got := unescapeMountField(tt.in); got != tt.want {
			t.Errorf("unescapeMountField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLocateMountPoint(t *testing.T) {
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
	mounts := []mountInfo{
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
		at, err := locateMountPoint(tt.arg, mounts)
		if tt.wantErr {
			if err == nil {
				t.Errorf("locateMountPoint(%q) = %+v, want an error", tt.arg, at)
			}
			continue
		}
		if err != nil {
			t.Errorf("locateMountPoint(%q): %v", tt.arg, err)
			continue
		}
		gotMount := 0
		if at.Mount != nil {
			gotMount = at.Mount.ID
		} else if at.Info == nil {
			t.Errorf("locateMountPoint(%q): neither a mount nor file info", tt.arg)
		}
		if at.Path != tt.wantPath || gotMount != tt.wantMount {
			t.Errorf("locateMountPoint(%q) = %q, mount %d; want %q, mount %d", tt.arg, at.Path, gotMount, tt.wantPath, tt.wantMount)
		}
	}
}
