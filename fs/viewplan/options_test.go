package viewplan_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aufsmount/aufsmount/fs/viewplan"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		in     string
		asRoot bool
		want   viewplan.MountOptions
		err    string // "usage" (an *OptionError), "allow_root" or ""
	}{
		{"", false, viewplan.MountOptions{}, ""},
		{"ro", false, viewplan.MountOptions{}, ""},
		{"ro,nosuid,nodev,default_permissions", true, viewplan.MountOptions{}, ""},
		{"allow_other", false, viewplan.MountOptions{AllowOther: true}, ""},
		{" allow_other , ro ", false, viewplan.MountOptions{AllowOther: true}, ""},
		{"ro,,nodev,", false, viewplan.MountOptions{}, ""},
		{"allow_root", true, viewplan.MountOptions{AllowRoot: true}, ""},
		{"allow_root", false, viewplan.MountOptions{}, "allow_root"},
		{"ro,allow_root", false, viewplan.MountOptions{}, "allow_root"},
		{"allow_other,allow_root", true, viewplan.MountOptions{}, "usage"},
		// What mount(8), fstab, systemd and mount.fuse3 pass along.
		{"rw", true, viewplan.MountOptions{ReadWrite: true}, ""},
		{"suid,dev,exec,atime,relatime,async", true, viewplan.MountOptions{}, ""}, // mount.fuse3 adds dev,suid; the view stays nosuid,nodev
		{"defaults,auto,noauto,user,users,nouser,nofail,_netdev", false, viewplan.MountOptions{}, ""},
		{"x-systemd.automount,x-systemd.requires=a.service,x-mount.mkdir,comment=systemd.x", false, viewplan.MountOptions{}, ""},
		{"noexec,noatime", false, viewplan.MountOptions{NoExec: true, NoAtime: true}, ""},
		{"nonempty", false, viewplan.MountOptions{NonEmpty: true}, ""},
		{"root=/srv/old/docker,driver=overlay2", false, viewplan.MountOptions{Root: "/srv/old/docker", Driver: "overlay2"}, ""},
		{"root=/a=b", false, viewplan.MountOptions{Root: "/a=b"}, ""},
		{"root=", false, viewplan.MountOptions{}, "usage"},
		{"driver=", false, viewplan.MountOptions{}, "usage"},
		{"driver=zfs", false, viewplan.MountOptions{}, "usage"},      // a driver aufsmount does not read
		{"driver=overlay3", false, viewplan.MountOptions{}, "usage"}, // nor any driver
		{"driver=vfs", false, viewplan.MountOptions{Driver: "vfs"}, ""},
		{"root", false, viewplan.MountOptions{}, "usage"},
		{"uid=0", false, viewplan.MountOptions{}, "usage"},
		{"nodefault_permissions", true, viewplan.MountOptions{}, "usage"},
		{"ro,bogus", true, viewplan.MountOptions{}, "usage"},
		{"allow_other=1", true, viewplan.MountOptions{}, "usage"},
		{"RO", true, viewplan.MountOptions{}, "usage"}, // mount(8) options are lower case
	}
	for _, tt := range tests {
		got, err := viewplan.ParseMountOptions(tt.in, tt.asRoot)
		var oe *viewplan.OptionError
		switch tt.err {
		case "":
			if err != nil {
				t.Errorf("ParseMountOptions(%q, root=%v): %v", tt.in, tt.asRoot, err)
			} else if got != tt.want {
				t.Errorf("ParseMountOptions(%q, root=%v) = %+v, want %+v", tt.in, tt.asRoot, got, tt.want)
			}
		case "usage":
			if !errors.As(err, &oe) {
				t.Errorf("ParseMountOptions(%q, root=%v) error = %v, want an *OptionError", tt.in, tt.asRoot, err)
			}
		case "allow_root":
			if !errors.Is(err, viewplan.ErrAllowRoot) {
				t.Errorf("ParseMountOptions(%q, root=%v) error = %v, want ErrAllowRoot", tt.in, tt.asRoot, err)
			}
		}
	}
}

// Reads the options of an /etc/fstab line: mount(8)'s and systemd's are
// accepted and change nothing; the view's own are set.
func ExampleParseMountOptions() {
	o, err := viewplan.ParseMountOptions("ro,nofail,x-systemd.automount,root=/srv/old/docker,allow_other,as-is", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("root %s, allow_other %v, as-is %v\n", o.Root, o.AllowOther, o.AsIs)
	_, err = viewplan.ParseMountOptions("uid=0", false)
	var oe *viewplan.OptionError
	fmt.Println(errors.As(err, &oe))
	// Output:
	// root /srv/old/docker, allow_other true, as-is true
	// true
}
