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

func TestImageRows(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		names []string
		want  []imageRow
	}{
		{nil, []imageRow{{"<none>", "<none>"}}},
		{[]string{"busybox:latest"}, []imageRow{{"busybox", "latest"}}},
		{[]string{"busybox:1.36", "busybox:latest"}, []imageRow{{"busybox", "1.36"}, {"busybox", "latest"}}},
		{[]string{"busybox@" + digest}, []imageRow{{"busybox", "<none>"}}},
		{[]string{"busybox:latest", "busybox@" + digest}, []imageRow{{"busybox", "latest"}}},
		{[]string{"alpine@" + digest, "busybox:latest"}, []imageRow{{"busybox", "latest"}, {"alpine", "<none>"}}},
		{[]string{"registry:5000/team/app:v2", "user/app:v1"}, []imageRow{{"registry:5000/team/app", "v2"}, {"user/app", "v1"}}},
		{[]string{"registry:5000/team/app@" + digest}, []imageRow{{"registry:5000/team/app", "<none>"}}},
	}
	for _, tt := range tests {
		if got := imageRows(tt.names); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("imageRows(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}
