package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
)

// verifyLossyOut is what verify prints of the store of lossyImages:
// the lines of its two image layers (top, base: status and what follows
// the id), then the container's own layers, then the targets, LOSSY.
func verifyLossyOut(b *st.Built, img *st.Image, ctr *st.Container, top, base [2]string) string {
	mount := b.MountID[ctr][:12]
	line := func(l [2]string, dir string) string {
		return l[0] + strings.Repeat(" ", 14-len(l[0])) + "layer " + layerID(dir) + ": " + l[1] + "\n"
	}
	return line(top, b.Chain[img][0]) + line(base, b.Chain[img][1]) +
		"UNVERIFIABLE  layer " + mount + ": a container's writable layer: no tar-split\n" +
		"UNVERIFIABLE  layer " + mount + "-init: a container's init layer: no tar-split\n" +
		"LOSSY         image app:v1\n" +
		"LOSSY         image base:v1\n" +
		"LOSSY         container web (its own layers cannot be checked)\n"
}

// TestVerifyLossyCopy runs verify on copies of a store that lost what a
// copy loses, each loss alone on overlay2 and aufs, all of them on every
// driver: the contents are intact, every difference is counted by kind
// as a copy's loss, and the exit status is 3. A whole-tree driver's
// layer is its chain, checked against its own tar-split alone.
func TestVerifyLossyCopy(t *testing.T) {
	const (
		top  = "contents intact (sha256:612b1063c26a, 7.17kB); "
		base = "contents intact (sha256:7f9e3bff019c, 17.4kB); "
		// The base layer has 9 directories and 9 files, symlink included,
		// besides 2 hard links, a device and a fifo; the top layer 4
		// directories and 2 files besides a device, a whiteout and an
		// opaque marker.
		allBase = base + "a copy lost 18 owners, 2 modes, 18 mtimes, 1 xattr, 1 device node, 1 fifo, 2 hard links"
		allTop  = top + "a copy lost 7 owners, 7 mtimes, 1 device node"
		// Overlay's whiteout is a device and its opaque marker an xattr.
		allTopOverlay = top + "a copy lost 7 owners, 7 mtimes, 1 device node, 1 whiteout, 1 opaque marker"
	)
	cases := []struct {
		name      string
		loss      st.Loss
		drivers   []string
		top, base [2]string // status, and the rest of the line
	}{
		// chown drops setuid (bin/su) and security.capability (bin/ping).
		{"owners", st.LostOwners, []string{"overlay2", "aufs"},
			[2]string{"LOSSY", top + "a copy lost 8 owners"}, [2]string{"LOSSY", base + "a copy lost 20 owners, 1 mode, 1 xattr"}},
		// A copy drops mode bits where it could not keep times
		// (docs/copies.md): setuid, sticky and the umask's 022, here of
		// bin/su, tmp and the devices.
		{"modes", st.LostModes | st.LostTimes, []string{"overlay2", "aufs"},
			[2]string{"LOSSY", top + "a copy lost 1 mode, 8 mtimes"}, [2]string{"LOSSY", base + "a copy lost 3 modes, 20 mtimes"}},
		{"times", st.LostTimes, []string{"overlay2", "aufs"},
			[2]string{"LOSSY", top + "a copy lost 8 mtimes"}, [2]string{"LOSSY", base + "a copy lost 20 mtimes"}},
		{"xattrs", st.LostAllXattrs, []string{"aufs"},
			[2]string{"OK", top + "directory as unpacked"}, [2]string{"LOSSY", base + "a copy lost 1 xattr"}},
		{"xattrs", st.LostAllXattrs, []string{"overlay2"},
			[2]string{"LOSSY", top + "a copy lost 1 opaque marker"}, [2]string{"LOSSY", base + "a copy lost 1 xattr"}},
		// A copy that keeps times keeps its directories' too when it
		// leaves out a device or fifo (rsync -a as a user).
		{"specials", st.LostSpecials, []string{"aufs"},
			[2]string{"LOSSY", top + "a copy lost 1 device node"}, [2]string{"LOSSY", base + "a copy lost 1 device node, 1 fifo"}},
		{"specials", st.LostSpecials, []string{"overlay2"},
			[2]string{"LOSSY", top + "a copy lost 1 device node, 1 whiteout"}, [2]string{"LOSSY", base + "a copy lost 1 device node, 1 fifo"}},
		{"links", st.LostLinks, []string{"overlay2", "aufs"},
			[2]string{"OK", top + "directory as unpacked"}, [2]string{"LOSSY", base + "a copy lost 2 hard links"}},
		{"all", st.LostMetadata, []string{"aufs", "aufs-live-whiteouts", "fuse-overlayfs", "overlay", "vfs"},
			[2]string{"LOSSY", allTop}, [2]string{"LOSSY", allBase}},
		{"all", st.LostMetadata, []string{"overlay2", "overlay2-rootless", "fuse-overlayfs-devices"},
			[2]string{"LOSSY", allTopOverlay}, [2]string{"LOSSY", allBase}},
	}
	for _, dc := range driverCases {
		for _, tc := range cases {
			if !slices.Contains(tc.drivers, dc.name) {
				continue
			}
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				img, base, ctr := lossyImages()
				b := writeDriverStore(t, dc, []*st.Image{img, base}, []*st.Container{ctr})
				if _, err := b.Damage(tc.loss); err != nil {
					t.Fatalf("damaging the copy: %v", err)
				}
				out, stderr, code := run(t, "--root", b.Root, "verify")
				want := verifyLossyOut(b, img, ctr, tc.top, tc.base)
				if code != 3 || stderr != "" || out != want {
					t.Errorf("verify: exit %d (want 3), stderr %q\n%s\nwant:\n%s", code, stderr, out, want)
				}
			})
		}
	}
}

// tamper makes, in a copy of lossyImages' store, the changes no copy
// makes: bin/busybox gains setuid, etc/os-release has other bytes of the
// same size (and keeps its time), bin/ping's capability is another one,
// and etc/motd's time moves earlier.
func tamper(t *testing.T, b *st.Built, img *st.Image) {
	t.Helper()
	dir := b.Chain[img][1]
	if err := os.Chmod(filepath.Join(dir, "bin/busybox"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "etc/os-release")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("ID=evil\n"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	netAdmin := []byte(capNetRaw())
	netAdmin[5] = 1 << 4 // cap_net_admin instead of cap_net_raw
	if err := unix.Setxattr(filepath.Join(dir, "bin/ping"), "security.capability", netAdmin, 0); err != nil {
		t.Fatal(err)
	}
	early := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(filepath.Join(dir, "etc/motd"), early, early); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTampered runs verify on a copy that lost everything a copy
// loses and was then tampered with: the exit status is 1, the base layer
// is MODIFIED with its changes counted and listed, told from the copy's
// losses, which --verbose lists too, each marked.
func TestVerifyTampered(t *testing.T) {
	for _, dc := range driverCases {
		if dc.name != "overlay2" && dc.name != "aufs" {
			continue
		}
		t.Run(dc.name, func(t *testing.T) {
			img, base, ctr := lossyImages()
			b := writeDriverStore(t, dc, []*st.Image{img, base}, []*st.Container{ctr})
			if _, err := b.Damage(st.LostMetadata); err != nil {
				t.Fatalf("damaging the copy: %v", err)
			}
			tamper(t, b, img)
			top := "contents intact (sha256:612b1063c26a, 7.17kB); a copy lost 7 owners, 7 mtimes, 1 device node"
			if dc.name == "overlay2" {
				top += ", 1 whiteout, 1 opaque marker"
			}
			id := layerID(b.Chain[img][1])
			mount := b.MountID[ctr][:12]
			want := "LOSSY         layer " + layerID(b.Chain[img][0]) + ": " + top + "\n" +
				"MODIFIED      layer " + id + ": contents changed: 1 file's bytes (rebuilt sha256:58a5f3312756, not its diff id sha256:7f9e3bff019c); " +
				"directory changed: 1 mode, 1 mtime, 1 xattr value; a copy lost 18 owners, 2 modes, 17 mtimes, 1 device node, 1 fifo, 2 hard links\n" +
				"    /bin/busybox: mode 4755, was 0755\n" +
				"    /bin/ping: xattr security.capability changed\n" +
				"    /etc/motd: mtime 1000000000, was 1461235327\n" +
				"    /etc/os-release: content changed (crc64 differs)\n" +
				"UNVERIFIABLE  layer " + mount + ": a container's writable layer: no tar-split\n" +
				"UNVERIFIABLE  layer " + mount + "-init: a container's init layer: no tar-split\n" +
				"MODIFIED      image app:v1\n" +
				"MODIFIED      image base:v1\n" +
				"MODIFIED      container web (its own layers cannot be checked)\n"
			out, stderr, code := run(t, "--root", b.Root, "verify")
			if code != 1 || stderr != "" || out != want {
				t.Errorf("verify: exit %d (want 1), stderr %q\n%s\nwant:\n%s", code, stderr, out, want)
			}
			out, _, code = run(t, "--root", b.Root, "verify", "--verbose", "base:v1")
			for _, line := range []string{
				"    /bin/busybox: mode 4755, was 0755\n",
				"    /bin/busybox: owner 338377:5000, was 0:0 (lost by a copy)\n",
				"    /bin/ls: no longer a hard link of /bin/busybox (lost by a copy)\n",
				"    /bin/su: mode 0755, was 4755 (lost by a copy)\n",
				"    /dev/null: character device missing (lost by a copy)\n",
				"    /run/initctl: fifo missing (lost by a copy)\n",
				"    /etc/motd: mtime 1000000000, was 1461235327\n",
				"    /etc/os-release: content changed (crc64 differs)\n",
			} {
				if !strings.Contains(out, line) {
					t.Errorf("verify --verbose lacks %q:\n%s", line, out)
				}
			}
			if n := strings.Count(out, "\n    /"); code != 1 || n != 4+18+2+17+4 {
				t.Errorf("verify --verbose: exit %d (want 1), %d paths (want 45):\n%s", code, n, out)
			}
		})
	}
}

// TestVerifyJSON checks the shape of verify --json: one object of layers
// and targets, each checked layer answering both questions, each finding
// a path, a kind, what differs and whether a copy lost it.
func TestVerifyJSON(t *testing.T) {
	dc := driverCases[3] // overlay2
	img, base, ctr := lossyImages()
	b := writeDriverStore(t, dc, []*st.Image{img, base}, []*st.Container{ctr})
	if _, err := b.Damage(st.LostMetadata); err != nil {
		t.Fatalf("damaging the copy: %v", err)
	}
	tamper(t, b, img)
	out, _, code := run(t, "--root", b.Root, "verify", "--json", "app:v1")
	if code != 1 {
		t.Errorf("verify --json: exit %d, want 1", code)
	}
	var got struct {
		Layers []struct {
			ID, Status, Contents, Directory string
			Findings                        []map[string]any
		}
		Targets []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("verify --json is not one object: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range got.Layers {
		lines = append(lines, strings.Join([]string{l.ID[:12], l.Status, l.Contents, l.Directory}, " "))
		for _, f := range l.Findings {
			if len(f) != 4 {
				t.Errorf("finding %v: want path, kind, what and loss", f)
			}
		}
	}
	want := []string{
		layerID(b.Chain[img][0]) + " LOSSY intact lossy",
		layerID(b.Chain[img][1]) + " MODIFIED changed changed",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(got.Layers) < 2 {
		t.Fatalf("verify --json: %d layers\n%s", len(got.Layers), out)
	}
	findings := map[string]bool{}
	for _, f := range got.Layers[1].Findings {
		j, _ := json.Marshal(f)
		findings[string(j)] = true
	}
	for _, f := range []string{
		`{"kind":"mode","loss":false,"path":"/bin/busybox","what":"mode 4755, was 0755"}`,
		`{"kind":"mode","loss":true,"path":"/bin/su","what":"mode 0755, was 4755"}`,
		`{"kind":"owner","loss":true,"path":"/bin/su","what":"owner 338377:5000, was 0:0"}`,
		`{"kind":"xattr changed","loss":false,"path":"/bin/ping","what":"xattr security.capability changed"}`,
		`{"kind":"content","loss":false,"path":"/etc/os-release","what":"content changed (crc64 differs)"}`,
		`{"kind":"fifo","loss":true,"path":"/run/initctl","what":"fifo missing"}`,
		`{"kind":"device node","loss":true,"path":"/dev/null","what":"character device missing"}`,
		`{"kind":"hard link","loss":true,"path":"/bin/sh","what":"no longer a hard link of /bin/busybox"}`,
	} {
		if !findings[f] {
			t.Errorf("the base layer's findings lack %s:\n%s", f, out)
		}
	}
	if len(got.Targets) != 1 || got.Targets[0]["name"] != "app:v1" || got.Targets[0]["status"] != "MODIFIED" {
		t.Errorf("targets: %v", got.Targets)
	}
}

// TestVerifyNothingChecked runs verify on stores where no layer has a
// tar-split (Docker before 1.8 kept none): nothing could be checked,
// which is not success but exit status 4, said on stderr. Where some
// layer could be checked and is intact, the others' lack of a tar-split
// does not fail it: 0.
func TestVerifyNothingChecked(t *testing.T) {
	for _, dc := range []driverCase{driverCases[0], driverCases[3]} { // aufs-graph, overlay2
		t.Run(dc.name, func(t *testing.T) {
			rs := refStoreOf(t, dc)
			chain := rs.b.Chain[rs.busybox]
			if err := os.Remove(tarSplitOf(t, rs.b, rs.busybox, 1)); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := run(t, "--root", rs.b.Root, "verify", "busybox:latest")
			want := "UNVERIFIABLE  layer " + layerID(chain[0]) + ": no tar-split (the store has lost it)\n" +
				"OK            layer " + layerID(chain[1]) + ": contents intact (sha256:e3659aa068d8, 11.3kB); directory as unpacked\n" +
				"OK            image busybox:latest\n"
			if code != 0 || stderr != "" || out != want {
				t.Errorf("verify with the base layer's tar-split: exit %d (want 0), stderr %q\n%s\nwant:\n%s", code, stderr, out, want)
			}
			err := filepath.WalkDir(rs.b.Root, func(p string, d os.DirEntry, err error) error {
				if err == nil && (d.Name() == "tar-split.json.gz" || d.Name() == "tar-data.json.gz") {
					err = os.Remove(p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			out, stderr, code = run(t, "--root", rs.b.Root, "verify", "busybox:latest")
			want = "UNVERIFIABLE  layer " + layerID(chain[0]) + ": no tar-split (the store has lost it)\n" +
				"UNVERIFIABLE  layer " + layerID(chain[1]) + ": no tar-split (the store has lost it)\n" +
				"UNVERIFIABLE  image busybox:latest\n"
			const note = "aufsmount: nothing could be checked: no image layer has a tar-split\n"
			if code != 4 || out != want || stderr != note {
				t.Errorf("verify without tar-splits: exit %d (want 4), stderr %q\n%s\nwant:\n%s", code, stderr, out, want)
			}
			out, stderr, code = run(t, "--root", rs.b.Root, "verify")
			if code != 4 || stderr != note || strings.Contains(out, "OK ") || !strings.Contains(out, "UNVERIFIABLE  container web\n") {
				t.Errorf("verify of the store without tar-splits: exit %d (want 4), stderr %q\n%s", code, stderr, out)
			}
		})
	}
}
