package main

import (
	"errors"
	"testing"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		in     string
		asRoot bool
		want   mountOptions
		err    string // "usage", "allow_root" or ""
	}{
		{"", false, mountOptions{}, ""},
		{"ro", false, mountOptions{}, ""},
		{"ro,nosuid,nodev,default_permissions", true, mountOptions{}, ""},
		{"allow_other", false, mountOptions{AllowOther: true}, ""},
		{" allow_other , ro ", false, mountOptions{AllowOther: true}, ""},
		{"ro,,nodev,", false, mountOptions{}, ""},
		{"allow_root", true, mountOptions{AllowRoot: true}, ""},
		{"allow_root", false, mountOptions{}, "allow_root"},
		{"ro,allow_root", false, mountOptions{}, "allow_root"},
		{"allow_other,allow_root", true, mountOptions{}, "usage"},
		// What mount(8), fstab, systemd and mount.fuse3 pass along.
		{"rw", true, mountOptions{ReadWrite: true}, ""},
		{"suid,dev,exec,atime,relatime,async", true, mountOptions{}, ""}, // mount.fuse3 adds dev,suid; the view stays nosuid,nodev
		{"defaults,auto,noauto,user,users,nouser,nofail,_netdev", false, mountOptions{}, ""},
		{"x-systemd.automount,x-systemd.requires=a.service,x-mount.mkdir,comment=systemd.x", false, mountOptions{}, ""},
		{"noexec,noatime", false, mountOptions{NoExec: true, NoAtime: true}, ""},
		{"nonempty", false, mountOptions{NonEmpty: true}, ""},
		{"root=/srv/old/docker,driver=overlay2", false, mountOptions{Root: "/srv/old/docker", Driver: "overlay2"}, ""},
		{"root=/a=b", false, mountOptions{Root: "/a=b"}, ""},
		{"root=", false, mountOptions{}, "usage"},
		{"driver=", false, mountOptions{}, "usage"},
		{"driver=zfs", false, mountOptions{}, "usage"},      // a driver aufsmount does not read
		{"driver=overlay3", false, mountOptions{}, "usage"}, // nor any driver
		{"driver=vfs", false, mountOptions{Driver: "vfs"}, ""},
		{"root", false, mountOptions{}, "usage"},
		{"uid=0", false, mountOptions{}, "usage"},
		{"nodefault_permissions", true, mountOptions{}, "usage"},
		{"ro,bogus", true, mountOptions{}, "usage"},
		{"allow_other=1", true, mountOptions{}, "usage"},
		{"RO", true, mountOptions{}, "usage"}, // mount(8) options are lower case
	}
	for _, tt := range tests {
		got, err := parseMountOptions(tt.in, tt.asRoot)
		var ue *usageError
		switch tt.err {
		case "":
			if err != nil {
				t.Errorf("parseMountOptions(%q, root=%v): %v", tt.in, tt.asRoot, err)
			} else if got != tt.want {
				t.Errorf("parseMountOptions(%q, root=%v) = %+v, want %+v", tt.in, tt.asRoot, got, tt.want)
			}
		case "usage":
			if !errors.As(err, &ue) {
				t.Errorf("parseMountOptions(%q, root=%v) error = %v, want a usage error", tt.in, tt.asRoot, err)
			}
		case "allow_root":
			if !errors.Is(err, errAllowRoot) {
				t.Errorf("parseMountOptions(%q, root=%v) error = %v, want errAllowRoot", tt.in, tt.asRoot, err)
			}
		}
	}
}
