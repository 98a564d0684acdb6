package whiteout

import (
	"testing"
)

const (
	dir  = 0o040000
	reg  = 0o100000
	chr  = 0o020000
	blk  = 0o060000
	lnk  = 0o120000
	none = 0
)

func TestClassify(t *testing.T) {
	tests := []struct {
		enc    *Encoding
		name   string
		mode   uint32
		rdev   uint64
		kind   Kind
		target string
	}{
		// aufs: the name alone counts.
		{Aufs, "etc", dir, 0, Plain, ""},
		{Aufs, ".wh", reg, 0, Plain, ""},
		{Aufs, ".whx", reg, 0, Plain, ""},
		{Aufs, "a.wh.b", reg, 0, Plain, ""},
		{Aufs, ".wh.etc", reg, 0, Whiteout, "etc"},
		{Aufs, ".wh.etc", dir, 0, Whiteout, "etc"},
		{Aufs, ".wh.etc", none, 0, Whiteout, "etc"},
		{Aufs, ".wh..bashrc", reg, 0, Whiteout, ".bashrc"},
		{Aufs, ".wh..wh..opq", reg, 0, Opaque, ""},
		{Aufs, ".wh..wh.aufs", reg, 0, Meta, ""},
		{Aufs, ".wh..wh.plnk", dir, 0, Meta, ""},
		{Aufs, ".wh..wh.orph", dir, 0, Meta, ""},
		{Aufs, ".wh..wh.", reg, 0, Meta, ""},
		{Aufs, ".wh..wh..opqx", reg, 0, Meta, ""},
		{Aufs, ".wh.", reg, 0, Whiteout, ""},
		{Aufs, ".wh..", reg, 0, Whiteout, ""},
		{Aufs, ".wh...", reg, 0, Whiteout, ""},
		{Aufs, ".wh.a b\n\xff", reg, 0, Whiteout, "a b\n\xff"},
		{Aufs, ".wh..wh", reg, 0, Whiteout, ".wh"},
		{Aufs, "null", chr, 0, Plain, ""}, // a 0/0 device is a device to aufs
		// overlay: 0/0 character devices, nothing by name.
		{Overlay, "etc", chr, 0, Whiteout, "etc"},
		{Overlay, "console", chr, 5<<8 | 1, Plain, ""},
		{Overlay, "null", chr, 1<<8 | 3, Plain, ""},
		{Overlay, "sda", blk, 0, Plain, ""}, // a block device 0/0 is no whiteout
		{Overlay, "x", reg, 0, Plain, ""},
		{Overlay, "x", lnk, 0, Plain, ""},
		{Overlay, ".wh.etc", reg, 0, Plain, ""},
		{Overlay, ".wh..wh..opq", reg, 0, Plain, ""},
		{Overlay, ".wh..wh.aufs", reg, 0, Plain, ""},
		{Overlay, "minor", chr, 0<<8 | 1, Plain, ""},
		// fuse-overlayfs: both.
		{FuseOverlayfs, ".wh.etc", reg, 0, Whiteout, "etc"},
		{FuseOverlayfs, "etc", chr, 0, Whiteout, "etc"},
		{FuseOverlayfs, ".wh..wh..opq", reg, 0, Opaque, ""},
		{FuseOverlayfs, "tty", chr, 5<<8 | 0, Plain, ""},
		// none: everything is plain.
		{None, ".wh.etc", reg, 0, Plain, ""},
		{None, ".wh..wh..opq", reg, 0, Plain, ""},
		{None, "etc", chr, 0, Plain, ""},
	}
	for _, tt := range tests {
		k, target := tt.enc.Classify(tt.name, tt.mode, tt.rdev)
		if k != tt.kind || target != tt.target {
			t.Errorf("%s.Classify(%q, %o, %#x) = %v, %q; want %v, %q", tt.enc.Name, tt.name, tt.mode, tt.rdev, k, target, tt.kind, tt.target)
		}
	}
}

func TestNeedsRdev(t *testing.T) {
	tests := []struct {
		enc  *Encoding
		mode uint32
		want bool
	}{
		{Aufs, chr, false},
		{Overlay, chr, true},
		{Overlay, blk, false},
		{Overlay, reg, false},
		{Overlay, none, false},
		{FuseOverlayfs, chr, true},
		{None, chr, false},
	}
	for _, tt := range tests {
		if got := tt.enc.NeedsRdev(tt.mode); got != tt.want {
			t.Errorf("%s.NeedsRdev(%o) = %v, want %v", tt.enc.Name, tt.mode, got, tt.want)
		}
	}
}

func TestOpaqueValue(t *testing.T) {
	tests := []struct {
		enc  *Encoding
		name string
		val  string
		want bool
	}{
		{Overlay, "trusted.overlay.opaque", "y", true},
		{Overlay, "user.overlay.opaque", "y", true},
		{Overlay, "trusted.overlay.opaque", "x", false}, // has xattr whiteouts: not opaque
		{Overlay, "trusted.overlay.opaque", "n", false},
		{Overlay, "trusted.overlay.opaque", "yes", false},
		{Overlay, "trusted.overlay.opaque", "y\n", false},
		{Overlay, "trusted.overlay.opaque", "", false},
		{Overlay, "user.fuseoverlayfs.opaque", "y", false},
		{Overlay, "security.capability", "y", false},
		{FuseOverlayfs, "user.fuseoverlayfs.opaque", "y", true},
		{FuseOverlayfs, "trusted.overlay.opaque", "y", true},
		{Aufs, "trusted.overlay.opaque", "y", false},
		{None, "trusted.overlay.opaque", "y", false},
	}
	for _, tt := range tests {
		if got := tt.enc.OpaqueValue(tt.name, []byte(tt.val)); got != tt.want {
			t.Errorf("%s.OpaqueValue(%q, %q) = %v, want %v", tt.enc.Name, tt.name, tt.val, got, tt.want)
		}
	}
}

func TestPrivate(t *testing.T) {
	tests := []struct {
		enc  *Encoding
		name string
		want bool
	}{
		{Overlay, "trusted.overlay.opaque", true},
		{Overlay, "trusted.overlay.origin", true},
		{Overlay, "trusted.overlay.redirect", true},
		{Overlay, "user.overlay.impure", true},
		{Overlay, "trusted.overlayx", false},
		{Overlay, "user.foo", false},
		{Overlay, "security.capability", false},
		{FuseOverlayfs, "user.fuseoverlayfs.origin", true},
		{Aufs, "trusted.overlay.opaque", false}, // an aufs layer's xattrs are the image's
		{None, "trusted.overlay.opaque", false},
	}
	for _, tt := range tests {
		if got := tt.enc.Private(tt.name); got != tt.want {
			t.Errorf("%s.Private(%q) = %v, want %v", tt.enc.Name, tt.name, got, tt.want)
		}
	}
}

func TestMarkersAdd(t *testing.T) {
	var m Markers
	for _, n := range []string{
		"./etc/.wh.motd", "etc/.wh.hosts", "/etc/.wh.motd", "usr/share/.wh..wh..opq",
		".wh..wh..opq", ".wh.bin", "etc/", "etc/passwd", ".wh..wh.plnk/x", "../.wh.x", "a/../../.wh.y", ".wh.",
	} {
		m.Add(n)
	}
	if got, want := len(m.Opaque), 2; got != want {
		t.Errorf("opaque dirs = %v, want usr/share and the root", m.Opaque)
	}
	if !m.IsOpaque("usr/share") || !m.IsOpaque("") || m.IsOpaque("etc") {
		t.Errorf("opaque = %v", m.Opaque)
	}
	if got := m.WhitedOut("etc"); len(got) != 2 || got[0] != "hosts" || got[1] != "motd" {
		t.Errorf("etc whiteouts = %q, want [hosts motd]", got)
	}
	if got := m.WhitedOut(""); len(got) != 1 || got[0] != "bin" {
		t.Errorf("root whiteouts = %q, want [bin]", got)
	}
	if !m.Hides("etc", "motd") || m.Hides("etc", "passwd") || m.Hides("", "x") {
		t.Errorf("Hides wrong: %v", m.Whiteouts)
	}
	if m.Len() != 5 {
		t.Errorf("Len = %d, want 5", m.Len())
	}
	var empty *Markers
	if !empty.Empty() || empty.IsOpaque("") || empty.Hides("", "a") || empty.Len() != 0 {
		t.Error("nil Markers is not empty")
	}
}

func TestCanBeOpaque(t *testing.T) {
	tests := []struct {
		enc  *Encoding
		dir  string
		want bool
	}{
		{Aufs, "", true},
		{Aufs, "etc", true},
		{Overlay, "", false}, // the kernel merges every layer's root
		{Overlay, "etc", true},
		{FuseOverlayfs, "", true},
		{FuseOverlayfs, "a/b", true},
	}
	for _, tt := range tests {
		if got := tt.enc.CanBeOpaque(tt.dir); got != tt.want {
			t.Errorf("%s.CanBeOpaque(%q) = %v, want %v", tt.enc.Name, tt.dir, got, tt.want)
		}
	}
}
