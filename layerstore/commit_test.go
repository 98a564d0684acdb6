package layerstore_test

import (
	"path/filepath"
	"strings"
	"testing"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestCommitBase: what a container's writable layer is told apart from
// for its own changes, by driver.
func TestCommitBase(t *testing.T) {
	tests := []struct {
		driver string
		base   string // relative to the root, with the container's mount id as M; "" for none
		whole  bool
	}{
		{st.DriverAufs, "", false},
		{st.DriverOverlay2, "", false},
		{st.DriverFuseOverlayfs, "", false},
		{st.DriverOverlay, "overlay/M-init/upper", false},
		{st.DriverVFS, "vfs/dir/M-init", true},
	}
	for _, tt := range tests {
		t.Run(tt.driver, func(t *testing.T) {
			img := &st.Image{Names: []string{"app:1"}, Layers: []*st.Layer{st.NewLayer("", st.F("etc/motd", "x"))}}
			ctr := &st.Container{Name: "web", Image: img, RW: st.NewLayer("", st.F("tmp/new", "y"))}
			b, err := (&st.Store{Driver: tt.driver, Images: []*st.Image{img}, Containers: []*st.Container{ctr}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			target, err := open(t, b.Root).Resolve("web")
			if err != nil {
				t.Fatal(err)
			}
			if own := target.Own(); len(own) != 2 {
				t.Fatalf("Own: %d layers, want 2 (writable, init)", len(own))
			}
			base, whole := target.CommitBase()
			got := ""
			if base != nil {
				got = base.Dir
			}
			want := ""
			if tt.base != "" {
				want = filepath.Join(b.Root, strings.Replace(tt.base, "M-init", b.MountID[ctr]+"-init", 1))
			}
			if got != want || whole != tt.whole {
				t.Errorf("CommitBase = %q, %v; want %q, %v", got, whole, want, tt.whole)
			}
		})
	}
}
