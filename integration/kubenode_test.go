package integration

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestKubernetesNode: a containerd root as a Kubernetes node has it
// (namespace k8s.io: pods' containers and their sandboxes) beside plain
// ctr use (namespace default). ps names pod containers by their pod and
// leaves sandboxes out unless -a, as crictl ps does; a NAMESPACE column
// appears as there are two; --filter label= picks one pod's containers,
// in ps and in mount-all, whose tree puts each namespace's views under
// its name.
func TestKubernetesNode(t *testing.T) {
	testenv.FUSE(t)
	app := &st.CDImage{Names: []string{"docker.io/library/app:1"}, Layers: []*st.Layer{l(st.F("app/main", "v1"), st.F("etc/os-release", "ID=test\n"))}}
	pause := &st.CDImage{Names: []string{"registry.k8s.io/pause:3.9"}, Layers: []*st.Layer{l(st.F("pause", "p"))}}
	k8s := &st.CDNamespace{Name: "k8s.io", Images: []*st.CDImage{app, pause}, Containers: []*st.CDContainer{
		{ID: hexID("shop sandbox"), Image: pause, Labels: st.PodLabels("prod", "shop", "")},
		{ID: hexID("shop web"), Image: app, Labels: st.PodLabels("prod", "shop", "web"),
			RW: st.NewLayer("", st.F("app/state", "prod"))},
		{ID: hexID("blog sandbox"), Image: pause, Labels: st.PodLabels("dev", "blog", "")},
		{ID: hexID("blog web"), Image: app, Labels: st.PodLabels("dev", "blog", "web"),
			RW: st.NewLayer("", st.F("app/state", "dev"))},
	}}
	plain := &st.CDNamespace{Name: "default", Images: []*st.CDImage{app}, Containers: []*st.CDContainer{{ID: "tool", Image: app}}}
	b, err := (&st.Containerd{Namespaces: []*st.CDNamespace{k8s, plain}}).Write(filepath.Join(t.TempDir(), "containerd"))
	if err != nil {
		t.Fatal(err)
	}
	ps := func(args ...string) string {
		t.Helper()
		out, stderr, code := run(t, append([]string{"--root", b.Root, "ps", "--format", "{{.Namespace}} {{.Names}}"}, args...)...)
		if code != 0 {
			t.Fatalf("ps %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"default tool", "k8s.io dev/blog/web", "k8s.io prod/shop/web"}},
		{[]string{"-a"}, []string{"default tool", "k8s.io dev/blog", "k8s.io dev/blog/web", "k8s.io prod/shop", "k8s.io prod/shop/web"}},
		{[]string{"--filter", "label=io.kubernetes.pod.namespace=prod"}, []string{"k8s.io prod/shop/web"}},
		{[]string{"-a", "--filter", "label=io.kubernetes.pod.name=blog"}, []string{"k8s.io dev/blog", "k8s.io dev/blog/web"}},
		{[]string{"--filter", "label=io.kubernetes.pod.name=blog", "--filter", "label=io.kubernetes.container.name=web"}, []string{"k8s.io dev/blog/web"}},
	} {
		got := strings.Fields(strings.ReplaceAll(strings.TrimSpace(ps(c.args...)), " ", "|"))
		for i := range got {
			got[i] = strings.ReplaceAll(got[i], "|", " ")
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("ps %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
	out, _, _ := run(t, "--root", b.Root, "ps")
	if !strings.HasPrefix(out, "NAMESPACE ") {
		t.Errorf("ps of two namespaces has no NAMESPACE column first:\n%s", out)
	}
	if _, stderr, code := run(t, "--root", b.Root, "ps", "--filter", "status=running"); code != 2 || !strings.Contains(stderr, `only label=KEY and label=KEY=VALUE are taken`) {
		t.Errorf("ps --filter status=running: exit %d: %s", code, stderr)
	}

	// One pod's containers mounted together.
	all := t.TempDir()
	if _, stderr, code := run(t, "--root", b.Root, "mount-all", "--filter", "label=io.kubernetes.pod.namespace=prod", all); code != 0 {
		t.Fatalf("mount-all --filter: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { daemonUnmount(t, all) })
	// Two namespaces: each one's views under its name.
	entries, err := os.ReadDir(filepath.Join(all, "k8s.io", "containers"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{hexID("shop sandbox"), hexID("shop web"), "prod"} // by id and by name
	sort.Strings(want)
	if err != nil || strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("mount-all --filter: containers/ holds %q, want only the prod pod's %q", names, want)
	}
	if top, err := os.ReadDir(all); err != nil || len(top) != 1 || top[0].Name() != "k8s.io" {
		t.Errorf("mount-all --filter: the tree holds %v (%v), want k8s.io/ alone: no images, no layers, no other namespace", top, err)
	}
	compareView(t, filepath.Join(all, "k8s.io", "containers", "prod", "shop", "web"), b.ContainerView(k8s.Containers[1]))
}

// hexID is a 64-hex id made from a label, as containerd's CRI gives.
func hexID(label string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(label))) }
