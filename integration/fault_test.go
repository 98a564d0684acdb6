package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// Faults while mounted: layers that go away or change under the daemon,
// signals, a killed daemon, several mounts at once.

// faultLayers is an image of three layers, base first; the middle one is
// the one the tests break. Its files all have the same size, so that only
// the file's identity can tell one from another.
func faultLayers() []*st.Layer {
	mid := []st.Entry{st.F("shared/mid", "shared mid"), st.F("fresh/x", "fresh x"), st.F("fresh/y", "fresh y")}
	for i := range 8 {
		mid = append(mid, st.F(fmt.Sprintf("mid/f%d", i), midContent("old", i)))
	}
	return []*st.Layer{
		l(st.F("base/a", "base a"), st.F("base/b", "base b"), st.F("shared/base", "shared base")),
		l(mid...),
		l(st.F("top/t", "top t"), st.F("shared/top", "shared top")),
	}
}

// midContent is the content of mid/f<i>: 64 bytes, whatever the version.
func midContent(version string, i int) string {
	s := fmt.Sprintf("%s content of mid/f%d ", version, i)
	return s + strings.Repeat(".", 64-len(s))
}

// wantOldOrErrno reads p (relative to mnt): it must fail with ENOENT or
// EIO, or give exactly old. It says whether it failed.
func wantOldOrErrno(t *testing.T, mnt, p, old string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mnt, p))
	switch {
	case err == nil && string(data) != old:
		t.Errorf("%s: read %q, which is not what the layer held (%q)", p, data, old)
	case err != nil && !isErrnoOf(err, syscall.ENOENT, syscall.EIO):
		t.Errorf("%s: %v, want ENOENT or EIO", p, err)
	}
	return err != nil
}

// TestFaultLayerChanged breaks the middle layer of a mounted image in
// three ways. Every access to what it held fails with ENOENT or EIO or
// shows what it held before, never another file's bytes; the rest keeps
// being served; the daemon logs one line about the layer.
func TestFaultLayerChanged(t *testing.T) {
	testenv.FUSE(t)
	faults := []struct {
		name   string
		break_ func(t *testing.T, dir string)
	}{
		{"removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by a new directory", func(t *testing.T, dir string) {
			tmp := dir + ".new"
			for _, p := range []string{"mid", "fresh", "shared"} {
				if err := os.MkdirAll(filepath.Join(tmp, p), 0755); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 8 {
				hostileWrite(t, filepath.Join(tmp, fmt.Sprintf("mid/f%d", i)), []byte(midContent("new", i)))
			}
			hostileWrite(t, filepath.Join(tmp, "fresh/x"), []byte("fresh X"))
			hostileWrite(t, filepath.Join(tmp, "shared/mid"), []byte("shared MID"))
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"files replaced by rename", func(t *testing.T, dir string) {
			// As editors and package managers do: a new file beside the
			// old, renamed over it. The new inodes have new numbers.
			for i := range 8 {
				p := filepath.Join(dir, fmt.Sprintf("mid/f%d", i))
				hostileWrite(t, p+".tmp", []byte(midContent("new", i)))
				if err := os.Rename(p+".tmp", p); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"files replaced in place", func(t *testing.T, dir string) {
			// New files under the old names, of the same size: on ext4 a
			// freed inode number can come back for the new file.
			for i := range 8 {
				p := filepath.Join(dir, fmt.Sprintf("mid/f%d", i))
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				hostileWrite(t, p, []byte(midContent("new", i)))
			}
			// And one name now another file of the layer.
			if err := os.Rename(filepath.Join(dir, "fresh/y"), filepath.Join(dir, "fresh/x")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			layers := faultLayers()
			img := &st.Image{Names: []string{"fault/img:latest"}, Layers: layers}
			// On the disk, not a tmpfs: ext4 reuses inode numbers.
			b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
			if err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(t.TempDir(), "aufsmount.log")
			mnt := daemonMount(t, b.Root, "fault/img:latest", "--log", logFile)
			pid := daemonPID(t, mnt)
			midDir := b.LayerDir(img, 1)
			midID := filepath.Base(midDir)

			// Index and read what the middle layer shows, but fresh/.
			for i := range 8 {
				p := fmt.Sprintf("mid/f%d", i)
				if data, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(data) != midContent("old", i) {
					t.Fatalf("%s before the fault: %q, %v", p, data, err)
				}
			}
			if _, err := os.ReadDir(filepath.Join(mnt, "shared")); err != nil {
				t.Fatal(err)
			}

			fault.break_(t, midDir)

			// What the view indexed before the fault: the old bytes or an errno.
			failed := 0
			for i := range 8 {
				if wantOldOrErrno(t, mnt, fmt.Sprintf("mid/f%d", i), midContent("old", i)) {
					failed++
				}
			}
			if wantOldOrErrno(t, mnt, "shared/mid", "shared mid") {
				failed++
			}
			// fresh/ was never listed: the view may index the layer as it
			// is now, but never show a name it does not hold or a file's
			// bytes under another's attributes.
			names, err := os.ReadDir(filepath.Join(mnt, "fresh"))
			if err != nil && !isErrnoOf(err, syscall.ENOENT, syscall.EIO) {
				t.Errorf("listing fresh: %v, want ENOENT or EIO", err)
			}
			for _, n := range names {
				p := "fresh/" + n.Name()
				// The layer now: the new directory, or the old one, moved
				// but still there, that the daemon keeps.
				now, err := os.ReadFile(filepath.Join(midDir, p))
				if err != nil {
					now, err = os.ReadFile(filepath.Join(midDir+".old", p))
				}
				if err != nil {
					t.Errorf("fresh/ lists %q, which the layer does not hold (%v)", n.Name(), err)
					continue
				}
				var old string
				if n.Name() == "x" || n.Name() == "y" {
					old = "fresh " + n.Name()
				}
				in, err := describe(filepath.Join(mnt, p))
				data, rerr := os.ReadFile(filepath.Join(mnt, p))
				switch {
				case err != nil || rerr != nil:
					if !isErrnoOf(err, syscall.ENOENT, syscall.EIO) && !isErrnoOf(rerr, syscall.ENOENT, syscall.EIO) {
						t.Errorf("%s: %v, %v; want ENOENT or EIO", p, err, rerr)
					}
				case string(data) != old && string(data) != string(now):
					t.Errorf("%s: read %q, neither the old %q nor what the layer holds now %q", p, data, old, now)
				case in.Size != int64(len(data)):
					t.Errorf("%s: %d bytes under a size of %d", p, len(data), in.Size)
				}
			}

			// The other layers are still served.
			for p, want := range map[string]string{"base/a": "base a", "base/b": "base b", "shared/base": "shared base", "top/t": "top t", "shared/top": "shared top"} {
				if data, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(data) != want {
					t.Errorf("%s after the fault: %q, %v; want %q", p, data, err, want)
				}
			}
			if !procAlive(pid) || !isMounted(t, mnt) {
				t.Fatalf("the daemon is gone (alive %v, mounted %v)", procAlive(pid), isMounted(t, mnt))
			}

			log := string(hostileRead(t, logFile))
			noCrash(t, "the log", log)
			lines := 0
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, midID) {
					lines++
				}
			}
			if failed > 0 && lines != 1 || lines > 1 {
				t.Errorf("%d accesses failed, and the log has %d lines naming the layer, want one:\n%s", failed, lines, log)
			}
			t.Logf("%d of 9 accesses failed; log:\n%s", failed, log)
		})
	}
}

// faultStore is a small store on a tmpfs with one image, mounted by the
// signal and kill tests.
func faultStore(t *testing.T) (*st.Built, *st.Image) {
	img := &st.Image{Names: []string{"fault/img:latest"}, Layers: faultLayers()}
	return writeTestStore(t, &st.Store{Images: []*st.Image{img}}, layerstore.LayoutGraph), img
}

// TestFaultSignals sends SIGTERM and SIGINT to the serving process: the
// view is gone and the mount point empty, promptly.
func TestFaultSignals(t *testing.T) {
	testenv.FUSE(t)
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			b, _ := faultStore(t)
			mnt := daemonMount(t, b.Root, "fault/img:latest")
			pid := daemonPID(t, mnt)
			// A file open in the view must not keep it there.
			f, err := os.Open(filepath.Join(mnt, "base/a"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			start := time.Now()
			if err := unix.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			if !pollUntil(promptly, func() bool { return !isMounted(t, mnt) }) {
				t.Fatalf("still mounted %v after %v", promptly, sig)
			}
			if empty, err := dirIsEmpty(mnt); !empty {
				t.Errorf("the mount point is not empty after %v (%v)", sig, err)
			}
			t.Logf("unmounted %v after %v", time.Since(start), sig)
			// Detached, the view goes when its last user does; so does
			// the daemon.
			f.Close()
			if !pollUntil(promptly, func() bool { return !procAlive(pid) }) {
				t.Errorf("the daemon still runs %v after %v and its last file closed", promptly, sig)
			}
		})
	}
}

// TestFaultKilled kills the daemon with SIGKILL: aufsmount umount clears
// the dead mount, and mounting again on the same directory works.
func TestFaultKilled(t *testing.T) {
	testenv.FUSE(t)
	b, img := faultStore(t)
	mnt := daemonMount(t, b.Root, "fault/img:latest")
	pid := daemonPID(t, mnt)
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(promptly, func() bool { return !procAlive(pid) }) {
		t.Fatalf("the daemon still runs %v after SIGKILL", promptly)
	}
	// ENOTCONN, or ECONNABORTED for a request the abort caught. While the
	// kernel is still tearing the connection down a request can get EIO;
	// once it is done, the answer must be one of those two.
	var err error
	pollUntil(promptly, func() bool {
		_, err = os.Stat(filepath.Join(mnt, "base/a"))
		return isErrnoOf(err, syscall.ENOTCONN, syscall.ECONNABORTED)
	})
	if !isErrnoOf(err, syscall.ENOTCONN, syscall.ECONNABORTED) {
		t.Errorf("a dead mount: stat says %v, want ENOTCONN", err)
	}
	if !isMounted(t, mnt) {
		t.Fatal("the dead mount is not in the mount table")
	}
	stdout, stderr, code := run(t, "umount", mnt)
	noCrash(t, "umount", stdout+stderr)
	if code != 0 {
		t.Fatalf("umount of a dead mount: exit %d: %s", code, stderr)
	}
	if isMounted(t, mnt) {
		t.Fatal("umount exited 0 but the dead mount is still there")
	}
	if empty, err := dirIsEmpty(mnt); !empty {
		t.Fatalf("the mount point is not empty after umount (%v)", err)
	}
	daemonMountAt(t, b.Root, "fault/img:latest", mnt)
	checkDaemonView(t, mnt, b.ChainLayers[img], b.Chain[img])
}

// TestFaultConcurrentMounts mounts one image twice and another image that
// shares two of its layers, all at once, and walks the three together.
func TestFaultConcurrentMounts(t *testing.T) {
	testenv.FUSE(t)
	layers := faultLayers()
	a := &st.Image{Names: []string{"shared/a:latest"}, Layers: layers}
	other := append(slices.Clone(layers[:2]), l(st.WH("base/a"), st.F("mid/f0", "b's own"), st.OPQ("shared"), st.F("shared/b", "b")))
	bImg := &st.Image{Names: []string{"shared/b:latest"}, Layers: other}
	for _, layout := range layouts {
		t.Run(layout.String(), func(t *testing.T) {
			b := writeTestStore(t, &st.Store{Images: []*st.Image{a, bImg}}, layout)
			if b.Chain[a][2] != b.Chain[bImg][2] || b.Chain[a][1] != b.Chain[bImg][1] {
				t.Fatalf("the images do not share their lower layers: %v and %v", b.Chain[a], b.Chain[bImg])
			}
			mounts := []struct {
				img *st.Image
				mnt string
			}{
				{a, daemonMount(t, b.Root, "shared/a:latest")},
				{a, daemonMount(t, b.Root, "shared/a:latest")},
				{bImg, daemonMount(t, b.Root, "shared/b:latest")},
			}
			wants := map[*st.Image]map[string]info{
				a:    expect(t, b.ChainLayers[a], b.Chain[a]),
				bImg: expect(t, b.ChainLayers[bImg], b.Chain[bImg]),
			}
			var wg sync.WaitGroup
			gots := make([]map[string]info, len(mounts))
			errs := make([]error, len(mounts))
			for i, m := range mounts {
				wg.Go(func() { gots[i], errs[i] = walkTree(m.mnt) })
			}
			wg.Wait()
			for i, m := range mounts {
				if errs[i] != nil {
					t.Errorf("walking mount %d: %v", i, errs[i])
					continue
				}
				if diffs := diffTrees(wants[m.img], gots[i], nil); len(diffs) > 0 {
					t.Errorf("mount %d of %v: %d differences:\n%s", i, m.img.Names, len(diffs), strings.Join(head(diffs, 20), "\n"))
				}
			}
		})
	}
}
