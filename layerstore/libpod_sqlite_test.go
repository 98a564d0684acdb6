package layerstore

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// podman5DB is a database shaped as Podman 5's libpod/db.sql, written by
// a real SQLite (internal/sqlitero/testdata/gen.py): containers c1 and c2
// with the JSON Podman 4.3 wrote for them, c2 exited with code 2.
const podman5DB = "../internal/sqlitero/testdata/podman5.db.gz"

const (
	podmanC1 = "d60c727cb923d465b158abe5df17a52b1d8a235265264d86e3bbcf4adc43b15f"
	podmanC2 = "2fbabf07f448eb25289d11a6036a7b7f915fe85d00be3706833f86b21254f22e"
)

// withDBSQL is the hand-written graphroot with its container made c2 and
// podman5DB as its libpod/db.sql; it returns the database's path.
func withDBSQL(t *testing.T) (*graphroot, string) {
	t.Helper()
	g := newGraphroot(t)
	g.ctrID = podmanC2
	g.containers[0]["id"], g.containers[0]["names"] = podmanC2, []string{"c2"}
	g.write(t)
	f, err := os.Open(podman5DB)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(g.dir, "libpod", "db.sql")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return g, p
}

func TestLibpodSQLite(t *testing.T) {
	g, p := withDBSQL(t)
	// An atime older than the mtime is one that a read would move even
	// under relatime.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(p, old, old.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	if ps := s.Problems(); len(ps) != 0 {
		t.Errorf("Problems() = %v, want none", ps)
	}
	cs := s.Containers()
	if len(cs) != 1 {
		t.Fatalf("Containers() = %+v, want c2 only", cs)
	}
	c := cs[0]
	want := State{ExitCode: 2, StartedAt: time.Date(2026, 12, 5, 3, 47, 0, 500000000, time.UTC), FinishedAt: time.Date(2026, 12, 5, 3, 47, 3, 0, time.UTC)}
	if c.Name != "c2" || c.Path != "/bin/busybox" || !reflect.DeepEqual(c.Args, []string{"true"}) || c.ConfigImage != "localhost/base:1" ||
		!c.State.StartedAt.Equal(want.StartedAt) || !c.State.FinishedAt.Equal(want.FinishedAt) || c.State.ExitCode != 2 || c.State.Running {
		t.Errorf("c2 = %+v, want /bin/busybox true from localhost/base:1, exited 2 at %v after starting at %v", c, want.FinishedAt, want.StartedAt)
	}
	if want := []MountPoint{{Type: "volume", Name: "vol1", Destination: "/data", Driver: "local", RW: true}}; !reflect.DeepEqual(c.Mounts, want) {
		t.Errorf("c2's mounts = %+v, want %+v", c.Mounts, want)
	}

	// Read, the database is as it was, with nothing beside it.
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	at := func(fi os.FileInfo) time.Time {
		st := fi.Sys().(*syscall.Stat_t)
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	if !at(after).Equal(at(before)) || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Errorf("db.sql went from atime %v, mtime %v, %d bytes to %v, %v, %d bytes", at(before), before.ModTime(), before.Size(),
			at(after), after.ModTime(), after.Size())
	}
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "db.sql" {
		t.Errorf("libpod/ holds %v, want db.sql only", ents)
	}
}

func TestReadLibpodSQL(t *testing.T) {
	_, p := withDBSQL(t)
	got, err := readLibpodSQL(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]details{
		podmanC1: {Path: "/bin/busybox", Args: []string{"sh"}, ConfigImage: "localhost/base:1"},
		podmanC2: {Path: "/bin/busybox", Args: []string{"true"}, ConfigImage: "localhost/base:1",
			State:  State{ExitCode: 2, StartedAt: time.Date(2026, 12, 5, 3, 47, 0, 500000000, time.UTC), FinishedAt: time.Date(2026, 12, 5, 3, 47, 3, 0, time.UTC)},
			Mounts: []MountPoint{{Type: "volume", Name: "vol1", Destination: "/data", Driver: "local", RW: true}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readLibpodSQL =\n%+v\nwant\n%+v", got, want)
	}
}

// TestLibpodSQLiteFaults: a database that cannot be read, or that has
// changes beside it, is a problem naming the file; the container is still
// listed, without its details where they could not be read.
func TestLibpodSQLiteFaults(t *testing.T) {
	for _, c := range []struct {
		name      string
		edit      func(t *testing.T, p string) error
		file      string // the problem's file, under libpod/
		want      string
		detailsOK bool
	}{
		{"truncated", func(_ *testing.T, p string) error { return os.Truncate(p, 20000) }, "db.sql",
			"truncated: the header counts 34 pages of 4096 bytes, the file holds 4", false},
		{"not SQLite", func(_ *testing.T, p string) error { return os.WriteFile(p, []byte(`{"json": true}`), 0o600) }, "db.sql",
			"not a SQLite database: 14 bytes", false},
		{"a symlink", func(_ *testing.T, p string) error {
			if err := os.Rename(p, p+".real"); err != nil {
				return err
			}
			return os.Symlink("db.sql.real", p)
		}, "db.sql", "is a symlink, not a file", false},
		{"a WAL beside it", func(_ *testing.T, p string) error { return os.WriteFile(p+"-wal", []byte("wal frames"), 0o600) }, "db.sql-wal",
			"holds changes not yet in db.sql, which are not read", true},
		{"a hot journal beside it", func(_ *testing.T, p string) error { return os.WriteFile(p+"-journal", []byte("journal"), 0o600) }, "db.sql-journal",
			"holds changes not yet in db.sql", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, p := withDBSQL(t)
			if err := c.edit(t, p); err != nil {
				t.Fatal(err)
			}
			s, err := Open(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			ps := s.Problems()
			var ce *CorruptError
			if len(ps) != 1 || !errors.As(ps[0], &ce) || ce.File != filepath.Join(g.dir, "libpod", c.file) || !strings.Contains(ce.Err.Error(), c.want) {
				t.Errorf("Problems() = %v, want one for libpod/%s with %q", ps, c.file, c.want)
			}
			cs := s.Containers()
			if len(cs) != 1 || cs[0].Name != "c2" || (cs[0].Path == "/bin/busybox") != c.detailsOK {
				t.Errorf("Containers() = %+v, want c2 with its details read: %v", cs, c.detailsOK)
			}
		})
	}
}
