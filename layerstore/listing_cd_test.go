package layerstore_test

import (
	"slices"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
)

// TestListContainers: what docker ps -a lists of a containerd root of
// three namespaces: a pod's sandbox only when asked for, label filters,
// and how many namespaces the listings must tell apart.
func TestListContainers(t *testing.T) {
	f := newCDFixture(t)
	s, err := layerstore.Open(f.b.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter    []string
		sandboxes bool
		want      []string // the containers' names, sorted
	}{
		{nil, false, []string{"kube-system/app-1/app", "web"}},
		{nil, true, []string{"kube-system/app-1", "kube-system/app-1/app", "web"}},
		{[]string{"label=io.kubernetes.pod.name=app-1"}, true, []string{"kube-system/app-1", "kube-system/app-1/app"}},
		{[]string{"label=io.kubernetes.pod.name=app-1"}, false, []string{"kube-system/app-1/app"}},
		{[]string{"label=io.kubernetes.container.name"}, true, []string{"kube-system/app-1/app"}},
		{[]string{"label=io.kubernetes.pod.name=app-2"}, true, nil},
	} {
		filter, err := layerstore.ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ct := range layerstore.ListContainers(s, filter, tc.sandboxes) {
			got = append(got, ct.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListContainers(%q, %v) = %q, want %q", tc.filter, tc.sandboxes, got, tc.want)
		}
	}
	if n := layerstore.Namespaces(s); n != 3 {
		t.Errorf("Namespaces = %d, want 3 (default, k8s.io, moby)", n)
	}
	one, err := layerstore.OpenWith(f.b.Root, layerstore.Options{Namespace: "k8s.io"})
	if err != nil {
		t.Fatal(err)
	}
	if n := layerstore.Namespaces(one); n != 1 {
		t.Errorf("Namespaces of k8s.io alone = %d, want 1", n)
	}
	d, err := layerstore.Open(f.docker) // a Docker root's containers are in moby, its images too
	if err != nil {
		t.Fatal(err)
	}
	if n := layerstore.Namespaces(d); n != 1 {
		t.Errorf("Namespaces of the Docker root = %d, want 1", n)
	}
}
