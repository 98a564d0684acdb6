package layerstore

import (
	"slices"
	"testing"
)

// TestResolveInspect: containers first, then images, as docker inspect
// looks; with a kind, that kind alone, and a ref of the other kind says
// what it names.
func TestResolveInspect(t *testing.T) {
	c, f := casFixture(t)
	s := c.open()
	tests := []struct {
		ref  string
		only Kind
		want string // the target's name, or the error
	}{
		{"web", 0, "container web"},
		{"busybox", 0, "image busybox:latest"},
		{"web", KindContainer, "container web"},
		{"busybox:1.0", KindImage, "image busybox:1.0"},
		{"web", KindImage, "error web: no such image (it names the container web)"},
		{"busybox", KindContainer, "error busybox: no such container (it names the image busybox:latest)"},
		{f.cid, KindImage, "error " + f.cid + ": no such image (it names the container web)"},
	}
	for _, tt := range tests {
		got := ""
		if tg, err := ResolveInspect(s, tt.ref, tt.only); err != nil {
			got = "error " + err.Error()
		} else {
			got = tg.Kind.String() + " " + tg.Name
		}
		if got != tt.want {
			t.Errorf("ResolveInspect(%q, %v) = %s, want %s", tt.ref, tt.only, got, tt.want)
		}
	}
	if _, err := ResolveInspect(s, "nothing", 0); err == nil {
		t.Errorf("ResolveInspect(nothing): no error")
	}
}

func TestRefNames(t *testing.T) {
	c, _ := casFixture(t)
	want := []string{
		"alpine:3.1", "busybox:1.0", "busybox:latest", "busybox@" + bbDigest,
		"registry:5000/team/app:v2", "user/app:latest", "user/app:v1", "web",
	}
	if got := RefNames(c.open()); !slices.Equal(got, want) {
		t.Errorf("RefNames = %q\nwant %q", got, want)
	}
}
