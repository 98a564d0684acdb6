package layerstore

import (
	"fmt"
	"slices"
	"testing"
)

// TestListImages: what docker images lists, with and without -a and a
// pattern, each image with the names that matched.
func TestListImages(t *testing.T) {
	c, _ := casFixture(t)
	s := c.open()
	for _, tc := range []struct {
		pattern      string
		intermediate bool
		want         []string // each image's names, newest first
	}{
		{"", false, []string{"[alpine:3.1]", "[registry:5000/team/app:v2]", "[user/app:v1]", "[user/app:latest]", "[busybox:1.0 busybox:latest busybox@sha256:cd79c9b893893d051918657be6e1bb0999a2b137997bf92500e2d913eb68d455]"}},
		// The bases of busybox and user/app: untagged, under another image.
		{"", true, []string{"[alpine:3.1]", "[registry:5000/team/app:v2]", "[user/app:v1]", "[user/app:latest]", "[]", "[busybox:1.0 busybox:latest busybox@sha256:cd79c9b893893d051918657be6e1bb0999a2b137997bf92500e2d913eb68d455]", "[]"}},
		{"busybox", false, []string{"[busybox:1.0 busybox:latest busybox@sha256:cd79c9b893893d051918657be6e1bb0999a2b137997bf92500e2d913eb68d455]"}},
		{"*/app", false, []string{"[user/app:v1]", "[user/app:latest]"}},
		{"*/app:v*", true, []string{"[user/app:v1]"}},
		{"user/app:latest", true, []string{"[user/app:latest]"}},
		{"nothing", true, nil},
	} {
		var got []string
		for _, img := range ListImages(s, tc.pattern, tc.intermediate) {
			got = append(got, fmt.Sprint(img.Names))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListImages(%q, %v) = %q\nwant %q", tc.pattern, tc.intermediate, got, tc.want)
		}
	}
}

// TestListingIDs: the ids and IMAGE column docker's listings print.
func TestListingIDs(t *testing.T) {
	const id = "3f9c0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"
	_, g := graphFixture(t)
	graph, err := Open(g.root)
	if err != nil {
		t.Fatal(err)
	}
	c, f := casFixture(t)
	c.container(hexOf("ctr-old"), "old", f.appTop) // made from "busybox", which now names another image
	cas := c.open()
	for _, tc := range []struct {
		got, want string
	}{
		{FormatImageID(cas, "aufs", id, true), "3f9c0a1b2c3d"},
		{FormatImageID(cas, "aufs", id, false), "sha256:" + id},
		{FormatImageID(graph, "aufs", id, true), "3f9c0a1b2c3d"},
		{FormatImageID(graph, "aufs", id, false), id}, // before 1.10 ids were not digests
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	got := map[string][2]string{}
	for _, ct := range cas.Containers() {
		got[ct.Name] = [2]string{ContainerImage(cas, &ct, true), ContainerImage(cas, &ct, false)}
	}
	want := map[string][2]string{
		"web": {"busybox", "busybox"},
		"old": {"fe6571791d6c", "sha256:fe6571791d6ce1c1496aa718dbb2a067281b046167996af1ad0fbf346bdf0783"},
	}
	if len(got) != len(want) || got["web"] != want["web"] || got["old"] != want["old"] {
		t.Errorf("ContainerImage: %q, want %q", got, want)
	}
	if n := Namespaces(cas); n != 0 {
		t.Errorf("Namespaces of a Docker root = %d, want 0", n)
	}
}
