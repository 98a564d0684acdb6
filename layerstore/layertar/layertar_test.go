package layertar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

var mtime = time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)

// testLayer is a layer made from a real tar stream: its directory as
// aufs unpacks it (whiteouts as .wh. files), its tar-split, and the
// stream's digest.
type testLayer struct {
	dir, tarSplit, digest string
	tarBytes              []byte
}

func (tl *testLayer) layer() Layer {
	return Layer{Dir: tl.dir, Encoding: whiteout.Aufs, OpenTarSplit: func() (io.ReadCloser, error) {
		f, err := os.Open(tl.tarSplit)
		if err != nil {
			return nil, err
		}
		return f, nil
	}}
}

func hdr(name string, typ byte, mode int64, body string) (*tar.Header, string) {
	return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: int64(len(body)), ModTime: mtime, Uid: 0, Gid: 0, Format: tar.FormatPAX}, body
}

// newTestLayer writes the stream, unpacks it, and packs its tar-split
// (uncompressed JSON lines, as OpenTarSplit gives them).
func newTestLayer(t *testing.T) *testLayer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	add(hdr("etc/", tar.TypeDir, 0o755, ""))
	add(hdr("etc/passwd", tar.TypeReg, 0o644, "root:x:0:0::/root:/bin/sh\n"))
	add(hdr("etc/hostname", tar.TypeReg, 0o644, "box\n"))
	h, _ := hdr("etc/secret", tar.TypeReg, 0o600, "s3cret")
	h.Uid, h.Gid = 1000, 1000
	h.PAXRecords = map[string]string{"SCHILY.xattr.user.note": "hello"}
	add(h, "s3cret")
	l, _ := hdr("etc/localtime", tar.TypeSymlink, 0o777, "")
	l.Linkname = "/usr/share/zoneinfo/UTC"
	add(l, "")
	hl, _ := hdr("etc/passwd.hl", tar.TypeLink, 0o644, "")
	hl.Linkname = "etc/passwd"
	add(hl, "")
	add(hdr("etc/.wh.motd", tar.TypeReg, 0o644, ""))
	add(hdr("var/", tar.TypeDir, 0o755, ""))
	add(hdr("var/.wh..wh..opq", tar.TypeReg, 0o644, ""))
	add(hdr("var/big", tar.TypeReg, 0o644, strings.Repeat("0123456789", 10000)))
	tw.Close()
	tl := &testLayer{dir: filepath.Join(t.TempDir(), "layer"), tarBytes: buf.Bytes()}
	sum := sha256.Sum256(buf.Bytes())
	tl.digest = "sha256:" + hex.EncodeToString(sum[:])
	unpack(t, tl.dir, buf.Bytes())
	tl.tarSplit = filepath.Join(t.TempDir(), "tar-split.json")
	f, err := os.Create(tl.tarSplit)
	if err != nil {
		t.Fatal(err)
	}
	r, err := asm.NewInputTarStream(bytes.NewReader(buf.Bytes()), storage.NewJSONPacker(f), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	f.Close()
	return tl
}

// unpack extracts a tar as Docker's aufs driver does: entries as they are.
func unpack(t *testing.T, dir string, data []byte) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	tr := tar.NewReader(bytes.NewReader(data))
	var dirs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, os.FileMode(h.Mode))
			dirs = append(dirs, h)
			continue
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			os.WriteFile(p, b, 0o600)
		case tar.TypeSymlink:
			os.Symlink(h.Linkname, p)
		case tar.TypeLink:
			os.Link(filepath.Join(dir, h.Linkname), p)
			continue
		}
		os.Lchown(p, h.Uid, h.Gid)
		if h.Typeflag != tar.TypeSymlink {
			os.Chmod(p, os.FileMode(h.Mode))
		}
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				unix.Lsetxattr(p, name, []byte(v), 0)
			}
		}
		ts := []unix.Timespec{unix.NsecToTimespec(h.ModTime.UnixNano()), unix.NsecToTimespec(h.ModTime.UnixNano())}
		unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	for _, h := range dirs {
		p := filepath.Join(dir, h.Name)
		os.Lchown(p, h.Uid, h.Gid)
		os.Chtimes(p, h.ModTime, h.ModTime)
	}
}

func TestWriteIsTheOriginal(t *testing.T) {
	tl := newTestLayer(t)
	var out bytes.Buffer
	rep, err := Write(tl.layer(), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), tl.tarBytes) {
		t.Fatalf("rebuilt %d bytes, the original has %d; they differ", out.Len(), len(tl.tarBytes))
	}
	if rep.Digest != tl.digest || rep.Size != int64(len(tl.tarBytes)) || !rep.Intact() {
		t.Errorf("report %+v, want digest %s size %d intact", rep, tl.digest, len(tl.tarBytes))
	}
	if rep.Entries != 10 {
		t.Errorf("entries %d, want 10", rep.Entries)
	}
}

func TestVerify(t *testing.T) {
	testenv.Root(t, "chown")
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string
	}{
		{"intact", func(*testing.T, string) {}, nil},
		{"one byte, same size", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "etc/hostname")
			st, _ := os.Stat(p)
			os.WriteFile(p, []byte("bot\n"), 0o644)
			os.Chtimes(p, st.ModTime(), st.ModTime())
		}, []string{"/etc/hostname: content changed (crc64 differs)"}},
		{"removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "etc/hostname")) },
			[]string{"/etc: mtime", "/etc/hostname: missing"}},
		{"added", func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "etc/new"), nil, 0o644) },
			[]string{"/etc: mtime", "/etc/new: added since the layer was unpacked"}},
		{"mode", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "etc/secret"), 0o644) },
			[]string{"/etc/secret: mode 0644, was 0600"}},
		{"owner", func(t *testing.T, dir string) { os.Lchown(filepath.Join(dir, "etc/secret"), 0, 0) },
			[]string{"/etc/secret: owner 0:0, was 1000:1000"}},
		{"xattr", func(t *testing.T, dir string) {
			unix.Lsetxattr(filepath.Join(dir, "etc/secret"), "user.note", []byte("bye"), 0)
		},
			[]string{"/etc/secret: xattr user.note changed"}},
		{"replaced symlink", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "etc/localtime")
			os.Remove(p)
			os.Symlink("/etc/passwd", p)
			unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}, unix.AT_SYMLINK_NOFOLLOW)
		}, []string{"/etc: mtime", `/etc/localtime: symlink to "/etc/passwd", was to "/usr/share/zoneinfo/UTC"`}},
		{"symlink for a file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "etc/passwd.hl")
			os.Remove(p)
			os.Symlink("/etc/shadow", p)
		}, []string{"/etc: mtime", "/etc/passwd.hl: no longer a hard link of /etc/passwd"}},
		{"whiteout removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "etc/.wh.motd")) },
			[]string{"/etc: mtime", "/etc/motd: whiteout missing"}},
		{"opaque marker removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "var/.wh..wh..opq")) },
			[]string{"/var: mtime", "/var: opaque marker missing"}},
		{"big file truncated", func(t *testing.T, dir string) { os.Truncate(filepath.Join(dir, "var/big"), 10) },
			[]string{"/var/big: mtime", "/var/big: size 10, was 100000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTestLayer(t)
			tt.change(t, tl.dir)
			rep, err := Verify(tl.layer(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, f.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("finding %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			// Only content reaches the stream: headers come from the tar-split.
			contentChanged := tt.name == "one byte, same size" || tt.name == "removed" || tt.name == "big file truncated"
			if same := rep.Digest == tl.digest; same == contentChanged {
				t.Errorf("digest %s, original %s", rep.Digest, tl.digest)
			}
		})
	}
}

// TestHostileTarSplit: a tar-split cut short is an error; one that names
// paths out of the layer is a finding, never a file outside read.
func TestHostileTarSplit(t *testing.T) {
	tl := newTestLayer(t)
	data, _ := os.ReadFile(tl.tarSplit)
	os.WriteFile(tl.tarSplit, data[:len(data)/2], 0o644)
	if _, err := Verify(tl.layer(), nil); err == nil {
		t.Error("a truncated tar-split verified")
	}
	if _, err := Write(tl.layer(), io.Discard, nil); err == nil {
		t.Error("a truncated tar-split rebuilt")
	}

	tl = newTestLayer(t)
	outside := filepath.Join(filepath.Dir(tl.dir), "outside")
	os.WriteFile(outside, []byte(strings.Repeat("x", 26)), 0o644)
	os.Symlink(outside, filepath.Join(tl.dir, "etc", "link-out"))
	data, _ = os.ReadFile(tl.tarSplit)
	// Rename the passwd file entry to climb out, and hostname to go
	// through a symlink: neither may be read.
	s := strings.Replace(string(data), `"name":"etc/passwd"`, `"name":"../outside"`, 1)
	s = strings.Replace(s, `"name":"etc/hostname"`, `"name":"etc/link-out/x"`, 1)
	os.WriteFile(tl.tarSplit, []byte(s), 0o644)
	var out bytes.Buffer
	rep, err := Write(tl.layer(), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("xxxxxxxxxxxxxxxxxxxxxxxxxx")) {
		t.Fatal("the rebuilt stream holds the file outside the layer")
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	if len(got) != 2 || got[0] != "/../outside: names a path outside the layer" || got[1] != "/etc/link-out/x: missing" {
		t.Errorf("findings %q", got)
	}
}
