package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
)

// TestVerifyCommand runs verify on every driver's store: intact, every
// image layer is OK and the exit status 0; after a one-byte change of
// the same size in an image layer, that layer and every image and
// container on it are MODIFIED, the file is named, and the exit status
// is 1; the container's own layers are UNVERIFIABLE.
// (verify_copies_test.go has the copies, tampering and --json.)
func TestVerifyCommand(t *testing.T) {
	for _, dc := range driverCases {
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			named := func(n string) string { return n }
			if dc.layout == layerstore.LayoutContainers {
				named = func(n string) string { return "localhost/" + n } // as podman load names it
			}
			out, stderr, code := run(t, "--root", rs.b.Root, "verify")
			if code != 0 || stderr != "" {
				t.Fatalf("verify of an intact store: exit %d, stderr %q\n%s", code, stderr, out)
			}
			if strings.Contains(out, "MODIFIED") || strings.Contains(out, "ERROR") || !strings.Contains(out, "OK            image "+named("busybox:1.36")) {
				t.Fatalf("verify of an intact store:\n%s", out)
			}
			if !strings.Contains(out, "UNVERIFIABLE  layer "+rs.b.MountID[rs.web][:12]+": a container's writable layer: no tar-split") {
				t.Errorf("the container's writable layer is not UNVERIFIABLE:\n%s", out)
			}
			// One byte of etc/os-release, in the base layer's directory
			// (for whole-tree drivers, every tree has its own copy).
			chain := rs.b.Chain[rs.busybox]
			base := chain[len(chain)-1]
			p := filepath.Join(base, "etc/os-release")
			st0, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(p)
			data[0] ^= 0x20
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, st0.ModTime(), st0.ModTime())
			out, _, code = run(t, "--root", rs.b.Root, "verify", "busybox:latest")
			if code != 1 {
				t.Errorf("verify after a change: exit %d, want 1\n%s", code, out)
			}
			for _, want := range []string{
				"MODIFIED      layer " + filepath.Base(layerID(base)) + ": contents changed: 1 file's bytes",
				"; directory as unpacked\n    /etc/os-release: content changed (crc64 differs)\n",
				"MODIFIED      image " + named("busybox:latest"),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("verify after a change lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// layerID is a layer directory's id, whatever the driver calls the
// directory of its files (diff/, root/, or the id itself).
func layerID(dir string) string {
	switch filepath.Base(dir) {
	case "diff", "root", "upper":
		return filepath.Base(filepath.Dir(dir))[:12]
	}
	return filepath.Base(dir)[:12]
}
