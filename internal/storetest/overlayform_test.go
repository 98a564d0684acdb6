package storetest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
	"golang.org/x/sys/unix"
)

// TestOverlayLayerDirs checks what Write puts in a layer directory of
// each encoding against entries written out here (docs/whiteouts.md), not
// against overlayForm, which Write uses: a whiteout is a 0/0 character
// device or an empty .wh.<name>, an opaque directory carries
// <prefix>.overlay.opaque=y or holds .wh..wh..opq, and what aufs alone
// would hide is left out. A container's layer under overlay2 is as the
// kernel writes it: whiteouts only of names the view below shows, and
// an opaque root spelt out as a whiteout of each name below.
func TestOverlayLayerDirs(t *testing.T) {
	base := NewLayer("base", F("gone", "g"), F("opq/old", "o"), F("redone/old", "r"))
	top := NewLayer("top",
		WH("gone"),                    // a whiteout of a name below
		OPQ("opq"), F("opq/new", "n"), // an opaque directory
		WH("redone"), F("redone/new", "R"), // a whiteout of a name the layer has makes it opaque
		F(".wh..wh.plnk/1.2", "p"), // aufs bookkeeping
	)
	for _, tt := range []struct {
		name   string
		set    func(*Store)
		want   []string // the image's top layer
		c1, c2 []string // the containers' layers
	}{
		// The description as it is.
		{"aufs", func(s *Store) {}, []string{
			". dir 0755",
			".wh..wh.plnk dir 0755",
			`.wh..wh.plnk/1.2 file 0644 "p"`,
			`.wh.gone file 0444 ""`,
			`.wh.redone file 0444 ""`,
			"opq dir 0755",
			`opq/.wh..wh..opq file 0444 ""`,
			`opq/new file 0644 "n"`,
			"redone dir 0755",
			`redone/new file 0644 "R"`,
		}, aufsC1, aufsC2},
		{"overlay2", func(s *Store) { s.Driver = DriverOverlay2 }, overlay2Image("trusted"), overlay2C1, overlay2C2},
		{"overlay2 rootless", func(s *Store) { s.Driver, s.Rootless = DriverOverlay2, true }, overlay2Image("user"), overlay2C1, overlay2C2},
		// Without devices: aufs's encoding, less what aufs alone hides
		// (its containers' layers are aufs's).
		{"fuse-overlayfs", func(s *Store) { s.Driver = DriverFuseOverlayfs }, []string{
			". dir 0755",
			`.wh.gone file 0444 ""`,
			"opq dir 0755",
			`opq/.wh..wh..opq file 0444 ""`,
			`opq/new file 0644 "n"`,
			"redone dir 0755",
			`redone/.wh..wh..opq file 0444 ""`,
			`redone/new file 0644 "R"`,
		}, aufsC1, aufsC2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := &Image{Names: []string{"x:1"}, Layers: []*Layer{base, top}}
			c1 := &Container{Name: "c1", Image: img, RW: NewLayer("", WH("opq/new"), WH("opq/old"), WH("nothing"), F("mine", "m"))}
			c2 := &Container{Name: "c2", Image: img, RW: NewLayer("", OPQ(""), F("mine", "m"))}
			s := &Store{Images: []*Image{img}, Containers: []*Container{c1, c2}}
			tt.set(s)
			if s.Driver == DriverOverlay2 && !s.Rootless {
				testenv.Root(t, "writing trusted.* xattrs")
			}
			b, err := s.Write(t.TempDir(), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []struct {
				what, dir string
				want      []string
			}{
				{"image layer", b.Chain[img][0], tt.want},
				{"container c1", b.ContainerChain[c1][0], tt.c1},
				{"container c2", b.ContainerChain[c2][0], tt.c2},
			} {
				if got := listLayerDir(t, d.dir); !slices.Equal(got, d.want) {
					t.Errorf("%s %s:\n%s\nwant\n%s", tt.name, d.what, strings.Join(got, "\n"), strings.Join(d.want, "\n"))
				}
			}
		})
	}
}

// listLayerDir is one line per name under dir, sorted: its path, kind,
// permissions, owner when not root, a device's numbers, a file's content
// and its overlay xattrs.
func listLayerDir(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s %s %04o", rel, typeName(st.Mode), st.Mode&07777)
		if st.Uid != 0 || st.Gid != 0 {
			line += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			line += fmt.Sprintf(" %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %q", data)
		}
		for _, x := range []string{"trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"} {
			if v, err := getXattr(p, x); err == nil {
				line += " " + x + "=" + v
			}
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return lines
}

// aufsC1 and aufsC2 are the containers' layers as described, which the
// drivers without devices keep as they are.
var (
	aufsC1 = []string{
		". dir 0755",
		`.wh.nothing file 0444 ""`,
		`mine file 0644 "m"`,
		"opq dir 0755",
		`opq/.wh.new file 0444 ""`,
		`opq/.wh.old file 0444 ""`,
	}
	aufsC2 = []string{
		". dir 0755",
		`.wh..wh..opq file 0444 ""`,
		`mine file 0644 "m"`,
	}
)

// overlay2Image is the image's top layer under overlay2, its opaque
// directories marked with the xattr <prefix>.overlay.opaque (trusted, or
// user when rootless).
func overlay2Image(prefix string) []string {
	return []string{
		". dir 0755",
		"gone chardev 0000 0:0",
		"opq dir 0755 " + prefix + ".overlay.opaque=y",
		`opq/new file 0644 "n"`,
		"redone dir 0755 " + prefix + ".overlay.opaque=y",
		`redone/new file 0644 "R"`,
	}
}

// overlay2C1 is c1's layer under overlay2, as the kernel writes it: only
// the whiteouts of names the view below shows.
var overlay2C1 = []string{
	". dir 0755",
	`mine file 0644 "m"`,
	"opq dir 0755",
	"opq/new chardev 0000 0:0",
}

// overlay2C2 is c2's: no opaque root, but a whiteout of every top name
// below (the init layer's too).
var overlay2C2 = []string{
	". dir 0755",
	".dockerenv chardev 0000 0:0",
	"dev chardev 0000 0:0",
	"etc chardev 0000 0:0",
	`mine file 0644 "m"`,
	"opq chardev 0000 0:0",
	"proc chardev 0000 0:0",
	"redone chardev 0000 0:0",
	"sys chardev 0000 0:0",
}
