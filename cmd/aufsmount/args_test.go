package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	app := (&env{}).newApp()
	tests := []struct{ in, want string }{
		{"images", "images"},
		{"--root /r images", "images --root /r"},
		{"--root=/r images --json", "images --root=/r --json"},
		{"images --root /r --json", "images --root /r --json"},
		{"layers busybox --json", "layers --json busybox"},
		{"layers busybox --root /r --no-trunc", "layers --root /r --no-trunc busybox"},
		{"history -json busybox", "history -json busybox"},
		{"--root /r busybox /mnt -f -o ro,allow_other", "--root /r -f -o ro,allow_other busybox /mnt"},
		{"busybox /mnt -o allow_other", "-o allow_other busybox /mnt"},
		{"mount busybox /mnt --log /tmp/l -f", "mount --log /tmp/l -f busybox /mnt"},
		{"--root /r mount busybox /mnt", "mount --root /r busybox /mnt"},
		{"-f --root /r mount busybox /mnt", "-f mount --root /r busybox /mnt"},
		{"umount /mnt", "umount /mnt"},
		{"unmount /mnt --root /r", "unmount --root /r /mnt"},
		{"layers -- -odd --json", "layers -- -odd --json"},
		{"layers x -- --json", "layers -- x --json"},
		{"images --help", "images --help"},
		{"layers busybox -h", "layers -h busybox"},
		{"busybox /mnt -o", "-o busybox /mnt"}, // a missing value is the parser's to report
		{"busybox /mnt -oro,allow_other", "-o ro,allow_other busybox /mnt"},
		{"mount -oroot=/r busybox /mnt", "mount -o root=/r busybox /mnt"},
		{"layers -- -oddity", "layers -- -oddity"},
		{"layers busybox --generate-bash-completion", "layers busybox --generate-bash-completion"},
		{"busybox --jso --generate-bash-completion", "--jso busybox --generate-bash-completion"},
		{"", ""},
	}
	for _, tt := range tests {
		got := normalizeArgs(app, append([]string{"aufsmount"}, strings.Fields(tt.in)...))
		want := append([]string{"aufsmount"}, strings.Fields(tt.want)...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got[1:], want[1:])
		}
	}
}

func TestHelperArgs(t *testing.T) {
	tests := []struct {
		in, want string
		fake     bool
		err      bool
	}{
		{"busybox:latest /mnt/img -o rw,root=/srv/d", "mount -o rw,root=/srv/d -- busybox:latest /mnt/img", false, false},
		{"busybox /mnt -n -v -s -o ro", "mount -o ro -- busybox /mnt", false, false},
		{"busybox /mnt -o ro -t fuse.aufsmount", "mount -o ro -- busybox /mnt", false, false},
		{"busybox /mnt -oro -o noexec", "mount -o ro,noexec -- busybox /mnt", false, false},
		{"-odd /mnt", "", false, true},
		{"busybox /mnt", "mount -- busybox /mnt", false, false},
		{"busybox /mnt -fv -o ro", "mount -o ro -- busybox /mnt", true, false},
		{"busybox /mnt -N 1234", "", false, true},
		{"busybox /mnt -o", "", false, true},
		{"busybox", "", false, true},
		{"busybox /mnt extra", "", false, true},
	}
	for _, tt := range tests {
		got, fake, err := helperArgs(append([]string{"/sbin/mount.fuse.aufsmount"}, strings.Fields(tt.in)...))
		if (err != nil) != tt.err {
			t.Errorf("helperArgs(%q): error %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if want := append([]string{"aufsmount"}, strings.Fields(tt.want)...); !reflect.DeepEqual(got, want) || fake != tt.fake {
			t.Errorf("helperArgs(%q) = %q, fake %v; want %q, fake %v", tt.in, got, fake, want, tt.fake)
		}
	}
	if !helperName("/sbin/mount.fuse.aufsmount") || !helperName("mount.fuse.aufsmount") || helperName("/usr/bin/aufsmount") {
		t.Errorf("helperName")
	}
}
