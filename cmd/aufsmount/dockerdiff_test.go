package main

import (
	"path/filepath"
	"testing"
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// writeChangedStore is a store with one image and one container that
// wrote /var/log/app.log, deleted /etc/issue, made /tmp/session/1,
// changed the mode of /srv and the capability of /bin/ping, and left
// /etc/passwd copied up unchanged and /opt with a new modification time
// and nothing else. Directories that the container holds only for what
// changed inside them have names of the same lengths as below, so that
// they keep their size on any filesystem (tmpfs and btrfs size a
// directory by what it holds).
func writeChangedStore(t *testing.T, driver string) *parityStore {
	t.Helper()
	later := st.DefaultTime.Add(time.Hour)
	tmp := st.D("tmp").WithMode(0o1777)
	base := st.NewLayer("#(nop) ADD file:0d1e in /",
		st.D("bin"), st.F("bin/ping", "ping").WithMode(0o755),
		st.D("etc"), st.F("etc/issue", "Debian\n"), st.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
		st.D("opt"), st.F("opt/tool", "t"),
		st.D("srv"),
		tmp, st.F("tmp/keepme1", ""),
		st.D("var"), st.D("var/log"), st.F("var/log/old.log", "old\n"))
	img := &st.Image{Names: []string{"base:1"}, Layers: []*st.Layer{base}}
	ctr := &st.Container{Name: "changed", Image: img, RW: st.NewLayer("",
		st.D("bin"), st.F("bin/ping", "ping").WithMode(0o755).WithXattr("security.capability", capNetRaw),
		st.D("etc"), st.WH("etc/issue"), st.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
		st.D("opt").WithMtime(later),
		st.D("srv").WithMode(0o700),
		tmp, st.D("tmp/session"), st.F("tmp/session/1", ""),
		st.D("var"), st.D("var/log"), st.F("var/log/app.log", "started\n"))}
	store := &st.Store{Driver: driver, Images: []*st.Image{img}, Containers: []*st.Container{ctr}}
	b, err := store.Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatalf("writing the store: %v", err)
	}
	return &parityStore{Built: b}
}

// capNetRaw is a security.capability value: revision 2, cap_net_raw
// permitted.
const capNetRaw = "\x00\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func TestParityDiffChanges(t *testing.T) {
	// Docker 20.10 compares the container's tree with the one below for
	// every driver but aufs (overlay2 included): the directories above
	// each change are listed; a copy that changed nothing (/etc/passwd),
	// or a directory whose modification time alone changed (/opt), is
	// not.
	trees := `C /bin
C /bin/ping
C /etc
D /etc/issue
C /srv
C /tmp
A /tmp/session
A /tmp/session/1
C /var
C /var/log
A /var/log/app.log
`
	for _, drv := range []string{"overlay2", "fuse-overlayfs", "overlay", "vfs"} {
		t.Run(drv, func(t *testing.T) {
			writeChangedStore(t, drv).wantOutput(t, trees, "diff", "changed")
		})
	}
	// With aufs it walks the writable layer: whatever it holds that is
	// below too is C, but a directory with the mode, size and
	// modification time it had (/bin, /var, /var/log, /tmp), which is
	// listed only where it holds an A or a D.
	t.Run("aufs", func(t *testing.T) {
		writeChangedStore(t, "aufs").wantOutput(t, `C /bin/ping
C /etc
D /etc/issue
C /etc/passwd
C /opt
C /srv
C /tmp
A /tmp/session
A /tmp/session/1
C /var/log
A /var/log/app.log
`, "diff", "changed")
	})
}
