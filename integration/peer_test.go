package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
)

// mountFuseOverlayfs mounts dirs (top first) read-only with fuse-overlayfs.
func mountFuseOverlayfs(t testing.TB, dirs []string) string {
	t.Helper()
	bin := testenv.Tool(t, "fuse-overlayfs")
	// Short names without commas: its option parser splits on them, and
	// test names (hence t.TempDir) hold them.
	links, err := os.MkdirTemp("", "peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(links) })
	mnt := filepath.Join(links, "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil {
		t.Fatal(err)
	}
	var short []string
	for i, d := range dirs {
		p := filepath.Join(links, fmt.Sprint(i))
		if err := os.Symlink(d, p); err != nil {
			t.Fatal(err)
		}
		short = append(short, p)
	}
	out, err := exec.Command(bin, "-o", "ro,lowerdir="+strings.Join(short, ":"), mnt).CombinedOutput()
	if err != nil {
		t.Fatalf("fuse-overlayfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", mnt).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		forceUnmount(mnt)
	})
	return mnt
}

// sameLayerWhiteouts lists the paths that a layer both holds and whites
// out: the one rule where fuse-overlayfs differs (it hides them; aufs and
// the OCI image spec show them).
func sameLayerWhiteouts(layers []*st.Layer) map[string]bool {
	out := map[string]bool{}
	for _, ly := range layers {
		has := map[string]bool{}
		for _, e := range ly.Entries {
			has[e.Path] = true
		}
		for _, e := range ly.Entries {
			if e.Kind == st.Whiteout && has[e.Path] {
				out[e.Path] = true
			}
		}
	}
	return out
}

// TestSameAsFuseOverlayfs mounts every rule case with fuse-overlayfs and
// with aufsmount and compares the walks. Differences allowed, each for a
// reason of the peer's, not of the image: the one documented rule (paths
// a layer both holds and whites out, and what lies below them); inode
// numbers and hard-link groups (fuse-overlayfs numbers inodes its own way);
// a directory's link count (it counts merged entries, we show the
// layer's) and a hard-linked file's (it counts the names it has looked up);
// atime (fuse-overlayfs may update it on read).
func TestSameAsFuseOverlayfs(t *testing.T) {
	testenv.FUSE(t)
	testenv.Tool(t, "fuse-overlayfs")
	for _, layout := range layouts {
		for _, tc := range ruleCases() {
			t.Run(fmt.Sprintf("%v/%s", layout, tc.name), func(t *testing.T) {
				_, dirs := buildImage(t, layout, tc.layers, false)
				ours := walk(t, mountLayers(t, dirs))
				theirs := walk(t, mountFuseOverlayfs(t, dirs))
				skip := sameLayerWhiteouts(tc.layers)
				for p := range skip {
					for q := range ours {
						if q == p || strings.HasPrefix(q, p+"/") {
							delete(ours, q)
						}
					}
					for q := range theirs {
						if q == p || strings.HasPrefix(q, p+"/") {
							delete(theirs, q)
						}
					}
				}
				diffs := diffTrees(theirs, ours, func(p string, w, g *info) {
					w.Ino, g.Ino = 0, 0
					w.Atime, g.Atime = unix.Timespec{}, unix.Timespec{}
					if w.Mode&unix.S_IFMT == unix.S_IFDIR || g.Nlink > 1 {
						w.Nlink, g.Nlink = 0, 0
					}
				})
				var real []string
				for _, d := range diffs {
					if !strings.Contains(d, "hard-link group") {
						real = append(real, d)
					}
				}
				if len(real) > 0 {
					t.Errorf("fuse-overlayfs (want) and aufsmount (got) differ:\n%s", strings.Join(head(real, 30), "\n"))
				}
			})
		}
	}
}
