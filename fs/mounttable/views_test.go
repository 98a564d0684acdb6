package mounttable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestViewKinds(t *testing.T) {
	tests := []struct {
		m            Mount
		fuse, kernel bool
		ref          string
		owner        int
		ownerKnown   bool
	}{
		{Mount{FSType: "fuse.aufsmount", Source: "busybox:latest", SuperOptions: "ro,user_id=1000,group_id=1000"}, true, false, "busybox:latest", 1000, true},
		{Mount{FSType: "fuse.aufsmount", Source: "/srv/docker", SuperOptions: "ro"}, true, false, "/srv/docker", 0, false},
		{Mount{FSType: "overlay", Source: "aufsmount:user/app:v1", SuperOptions: "ro,lowerdir=/a"}, false, true, "user/app:v1", 0, false},
		{Mount{FSType: "overlay", Source: "overlay", SuperOptions: "rw,lowerdir=/a"}, false, false, "overlay", 0, false},
		{Mount{FSType: "fuse.fuse-overlayfs", Source: "aufsmount:x", SuperOptions: "user_id=0"}, false, false, "aufsmount:x", 0, true},
		{Mount{FSType: "fuse.aufsmount", Source: "x", SuperOptions: "user_id=abc"}, true, false, "x", 0, false},
	}
	for _, tt := range tests {
		owner, known := tt.m.Owner()
		if tt.m.IsFUSEView() != tt.fuse || tt.m.IsKernelView() != tt.kernel || tt.m.IsView() != (tt.fuse || tt.kernel) ||
			tt.m.Ref() != tt.ref || owner != tt.owner || known != tt.ownerKnown {
			t.Errorf("%s %s %s: FUSE %v kernel %v ref %q owner %d %v; want %v %v %q %d %v", tt.m.FSType, tt.m.Source, tt.m.SuperOptions,
				tt.m.IsFUSEView(), tt.m.IsKernelView(), tt.m.Ref(), owner, known, tt.fuse, tt.kernel, tt.ref, tt.owner, tt.ownerKnown)
		}
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a", true},
		{"/a", "/a", true},
		{"/ab", "/a", false},
		{"/a", "/a/b", false},
		{"/x/..a", "/x", true},
		{"/", "/", true},
	}
	for _, tt := range tests {
		if got := Within(tt.path, tt.dir); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}

// TestUnmountRefuses: Unmount takes only our views; a tmpfs and a plain
// directory are left as they are, with an error naming the path.
func TestUnmountRefuses(t *testing.T) {
	dir := t.TempDir()
	testenv.Root(t, "mounting a tmpfs")
	mnt := filepath.Join(dir, "tmp")
	plain := filepath.Join(dir, "plain")
	for _, d := range []string{mnt, plain} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("aufsmount-test", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	tests := []struct{ arg, want string }{
		{mnt, mnt + ": not an aufsmount mount (it is tmpfs)"},
		{plain, plain + ": not an aufsmount mount (not a mount point)"},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ": no such file or directory"},
	}
	for _, tt := range tests {
		if _, err := Unmount(tt.arg); err == nil || err.Error() != tt.want {
			t.Errorf("Unmount(%s): %v, want %q", tt.arg, err, tt.want)
		}
	}
	mounts, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := Find(mounts, mnt); !ok || m.FSType != "tmpfs" {
		t.Errorf("the tmpfs is gone after Unmount refused it")
	}
}
