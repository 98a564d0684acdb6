package layerstore

import (
	"reflect"
	"strings"
	"testing"
)

func TestNameRows(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		names   []string
		digests bool
		want    []NameRow
	}{
		{nil, false, []NameRow{{"<none>", "<none>", "<none>"}}},
		{[]string{"busybox:latest"}, false, []NameRow{{"busybox", "latest", "<none>"}}},
		{[]string{"busybox:1.36", "busybox:latest"}, false, []NameRow{{"busybox", "1.36", "<none>"}, {"busybox", "latest", "<none>"}}},
		{[]string{"busybox@" + digest}, false, []NameRow{{"busybox", "<none>", "<none>"}}},
		{[]string{"busybox@" + digest}, true, []NameRow{{"busybox", "<none>", digest}}},
		{[]string{"busybox:latest", "busybox@" + digest}, false, []NameRow{{"busybox", "latest", "<none>"}}},
		{[]string{"busybox:latest", "busybox@" + digest}, true, []NameRow{{"busybox", "latest", digest}}},
		{[]string{"alpine@" + digest, "busybox:latest"}, false, []NameRow{{"busybox", "latest", "<none>"}, {"alpine", "<none>", "<none>"}}},
		{[]string{"registry:5000/team/app:v2", "user/app:v1"}, false, []NameRow{{"registry:5000/team/app", "v2", "<none>"}, {"user/app", "v1", "<none>"}}},
		{[]string{"registry:5000/team/app@" + digest}, false, []NameRow{{"registry:5000/team/app", "<none>", "<none>"}}},
	}
	for _, tt := range tests {
		if got := NameRows(tt.names, tt.digests); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NameRows(%q, %v) = %q, want %q", tt.names, tt.digests, got, tt.want)
		}
	}
}

func TestMatchNames(t *testing.T) {
	names := []string{"busybox:latest", "busybox:1.36", "team/app:v1", "registry:5000/team/app:v2", "alpine@sha256:" + strings.Repeat("ab", 32)}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"busybox", []string{"busybox:latest", "busybox:1.36"}},
		{"busybox:1*", []string{"busybox:1.36"}},
		{"team/*", []string{"team/app:v1"}},
		{"registry:5000/*/app", []string{"registry:5000/team/app:v2"}},
		{"alpine", []string{"alpine@sha256:" + strings.Repeat("ab", 32)}},
		{"nginx", nil},
	}
	for _, tt := range tests {
		if got := MatchNames(tt.pattern, names); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MatchNames(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
