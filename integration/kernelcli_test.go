package integration

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore"
)

// TestKernelCommand mounts through the command with --kernel and -o
// kernel: the view is served by the kernel (no process), equals the FUSE
// view of the same reference, is listed by mounts and cleared by umount;
// -o fuse with -o kernel is a usage error; and a view the kernel cannot
// show (a container's bind-mounted files) falls back to FUSE, saying so.
func TestKernelCommand(t *testing.T) {
	requireKernelView(t)
	rs := buildRefStore(t, layerstore.LayoutCAS)
	fuseView := walk(t, mountRef(t, rs.b.Root, "user/app:v2"))
	for _, form := range [][]string{{"--kernel"}, {"-o", "kernel"}, {"-okernel,ro"}} {
		t.Run(strings.Join(form, " "), func(t *testing.T) {
			mnt := t.TempDir()
			args := append(append([]string{"--root", rs.b.Root, "mount"}, form...), "user/app:v2", mnt)
			stdout, stderr, code := run(t, args...)
			t.Cleanup(func() { forceUnmount(mnt) })
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("mount %q: exit %d, stdout %q, stderr %q", form, code, stdout, stderr)
			}
			if ps := servers(t, mnt); len(ps) != 0 {
				t.Errorf("a kernel view has serving processes %v", ps)
			}
			got := walk(t, mnt)
			// What differs is documented: a merged directory's link count,
			// and the size and ctime of directories shown from a shim.
			diffs := diffTrees(fuseView, got, func(p string, w, g *info) {
				if g.Mode&unix.S_IFMT == unix.S_IFDIR {
					w.Nlink, w.Size, w.Blocks, w.Ctime = g.Nlink, g.Size, g.Blocks, g.Ctime
				}
			})
			if len(diffs) > 0 {
				t.Errorf("kernel and FUSE views differ:\n%s", strings.Join(head(diffs, 20), "\n"))
			}
			out, _, _ := run(t, "mounts")
			if !strings.Contains(out, mnt) || !strings.Contains(out, "kernel") {
				t.Errorf("mounts does not list the kernel view at %s:\n%s", mnt, out)
			}
			if _, stderr, code := run(t, "umount", mnt); code != 0 {
				t.Fatalf("umount: exit %d: %s", code, stderr)
			}
			if isMounted(t, mnt) {
				t.Errorf("%s still mounted after umount", mnt)
			}
		})
	}
	t.Run("both", func(t *testing.T) {
		_, stderr, code := run(t, "--root", rs.b.Root, "mount", "-o", "kernel,fuse", "user/app:v2", t.TempDir())
		if code != 2 || !strings.Contains(stderr, "pick one") {
			t.Errorf("-o kernel,fuse: exit %d, %q", code, stderr)
		}
	})
	t.Run("falls back", func(t *testing.T) {
		mnt := t.TempDir()
		_, stderr, code := run(t, "--root", rs.b.Root, "mount", "--kernel", "web", mnt)
		t.Cleanup(func() { unmountRef(t, mnt) })
		if code != 0 || !strings.Contains(stderr, "serving through FUSE") {
			t.Fatalf("--kernel web: exit %d, stderr %q", code, stderr)
		}
		if ps := servers(t, mnt); len(ps) != 1 {
			t.Errorf("the FUSE fallback has %d serving processes", len(ps))
		}
	})
}
