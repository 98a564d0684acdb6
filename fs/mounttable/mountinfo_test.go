package mounttable

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := strings.Join([]string{
		`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro`,
		`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 propagate_from:2 - ext3 /dev/root rw,errors=continue`,
		`41 22 0:35 / /mnt/my\040img rw,nosuid,nodev,relatime - fuse.aufsmount busybox:latest ro,user_id=0,group_id=0`,
		`42 22 0:36 / /tmp/a\134b\011c\012d rw - fuse.aufsmount user/app:v1 ro`,
		`43 22 0:37 / /tmp/x\0 rw - tmpfs tmp\040fs rw`, // a short escape stays
		``,
	}, "\n")
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{ID: 22, Parent: 1, Root: "/", MountPoint: "/", Options: "rw,relatime", FSType: "ext4", Source: "/dev/sda1", SuperOptions: "rw,errors=remount-ro"},
		{ID: 36, Parent: 35, Root: "/mnt1", MountPoint: "/mnt2", Options: "rw,noatime", FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"},
		{ID: 41, Parent: 22, Root: "/", MountPoint: "/mnt/my img", Options: "rw,nosuid,nodev,relatime", FSType: "fuse.aufsmount", Source: "busybox:latest", SuperOptions: "ro,user_id=0,group_id=0"},
		{ID: 42, Parent: 22, Root: "/", MountPoint: "/tmp/a\\b\tc\nd", Options: "rw", FSType: "fuse.aufsmount", Source: "user/app:v1", SuperOptions: "ro"},
		{ID: 43, Parent: 22, Root: "/", MountPoint: `/tmp/x\0`, Options: "rw", FSType: "tmpfs", Source: "tmp fs", SuperOptions: "rw"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountInfo:\n got %+v\nwant %+v", got, want)
	}
	if m, ok := Find(got, "/mnt/my img"); !ok || m.ID != 41 {
		t.Errorf("Find(/mnt/my img) = %+v, %v", m, ok)
	}
	if _, ok := Find(got, "/mnt/my"); ok {
		t.Errorf("Find(/mnt/my) found a mount")
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		`22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw`, // no separator
		`22 1 8:1 / / rw - ext4`,                              // too short
		`x 1 8:1 / / rw - ext4 /dev/sda1 rw`,                  // id not a number
		`22 y 8:1 / / rw - ext4 /dev/sda1 rw`,
	} {
		if _, err := Parse(strings.NewReader(line)); err == nil {
			t.Errorf("Parse(%q): no error", line)
		}
	}
}

func TestUnescape(t *testing.T) {
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
		if got := Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
