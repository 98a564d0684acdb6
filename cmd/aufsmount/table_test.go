package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

func TestGridFits(t *testing.T) {
	g := newGrid(0, column{header: "ID"}, column{header: "DIR", fit: cutPath}, column{header: "CREATED BY", fit: cutEnd}, column{header: "SIZE"})
	g.add("3f9c0a1b2c3d", "/var/lib/docker/overlay2/3f9c0a1b2c3d.../diff", "apt-get update && apt-get install -y curl", "1.2MB")
	g.add("5b0a8c1d2e3f", "/var/lib/docker/overlay2/5b0a8c1d2e3f.../diff", "", "0B")
	var b bytes.Buffer
	if err := g.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `ID             DIR                                             CREATED BY                                  SIZE
3f9c0a1b2c3d   /var/lib/docker/overlay2/3f9c0a1b2c3d.../diff   apt-get update && apt-get install -y curl   1.2MB
5b0a8c1d2e3f   /var/lib/docker/overlay2/5b0a8c1d2e3f.../diff                                               0B
`
	if b.String() != want {
		t.Errorf("no width:\n%s\nwant\n%s", b.String(), want)
	}
	// 80 columns: the widest column that may be cut goes first, then the
	// next, never below 12; paths lose their start, commands their end.
	g.width = 80
	b.Reset()
	g.write(&b)
	want = `ID             DIR                           CREATED BY                    SIZE
3f9c0a1b2c3d   .../3f9c0a1b2c3d.../diff      apt-get update && apt-get …   1.2MB
5b0a8c1d2e3f   .../5b0a8c1d2e3f.../diff                                    0B
`
	if b.String() != want {
		t.Errorf("80 columns:\n%s\nwant\n%s", b.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d runes: %q", n, line)
		}
	}
}

func TestShortDir(t *testing.T) {
	id := strings.Repeat("3f9c", 16)
	for _, tt := range []struct{ dir, want string }{
		{"/var/lib/docker/overlay2/" + id + "/diff", ".../overlay2/3f9c3f9c3f9c.../diff"},
		{"/var/lib/docker/overlay2/" + id + "-init/diff", ".../overlay2/3f9c3f9c3f9c...-init/diff"},
		{"/var/lib/docker/aufs/diff/" + id, ".../aufs/diff/3f9c3f9c3f9c..."},
		{"/elsewhere/" + id, "/elsewhere/" + id},
	} {
		if got := shortDir(tt.dir, "/var/lib/docker/"); got != tt.want {
			t.Errorf("shortDir(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
	for _, tt := range []struct {
		p    string
		n    int
		want string
	}{
		{"/a/bb/ccc/dddd", 20, "/a/bb/ccc/dddd"},
		{"/a/bb/ccc/dddd", 12, ".../dddd"},
		{"/a/bb/ccc/dddd", 13, ".../ccc/dddd"},
		{"/averylongname", 8, "...gname"},
	} {
		if got := cutLeft(tt.p, tt.n); got != tt.want {
			t.Errorf("cutLeft(%q, %d) = %q, want %q", tt.p, tt.n, got, tt.want)
		}
	}
}

// openPty opens a pseudo-terminal cols wide, without output processing.
func openPty(t *testing.T, cols int) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	testenv.Require(t, err == nil, "no pseudo-terminal: %v", err)
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestTablesFitTheTerminal runs listings with a terminal of 70 columns
// as stdout: their tables are cut to fit, but not with --no-trunc, and
// not on a pipe.
func TestTablesFitTheTerminal(t *testing.T) {
	p := writeParity(t, "overlay2", layerstore.LayoutCAS)
	onTerminal := func(args ...string) string {
		m, s := openPty(t, 70)
		defer m.Close()
		got := make(chan string)
		go func() {
			b, _ := io.ReadAll(m) // ends with EIO once the slave is closed
			got <- string(b)
		}()
		saved, savedLocal := clock, time.Local
		clock, time.Local = func() time.Time { return parityNow }, time.UTC
		var errb bytes.Buffer
		code := run(append([]string{"aufsmount", "--root", p.Root}, args...), s, &errb)
		clock, time.Local = saved, savedLocal
		s.Close()
		out := <-got
		if code != 0 || errb.Len() > 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
		return out
	}
	want := `LAYER ID            DIR                    CREATED BY             SIZE
624b61dd7788        .../diff               -                      32B
624b61dd7788-init   .../diff               -                      12B
262f25d3fb66        .../diff               echo hello > /etc/m…   6B
4ee57018a8bf        .../diff               apk add --no-cache …   11B
8b7c443fb963        .../diff               ADD file:6ce6 in /     45B
`
	if got := onTerminal("layers", "web"); got != want {
		t.Errorf("layers web on 70 columns:\n%s\nwant\n%s", got, want)
	}
	want = `CONTAINER ID   IMAGE            COMMAND        CREATED              STATUS                             PORTS          NAMES
`
	if got := onTerminal("ps"); !strings.HasPrefix(got, want) {
		t.Errorf("ps on 70 columns:\n%s\nwant it to start\n%s", got, want)
	}
	full := onTerminal("layers", "--no-trunc", "web")
	if !strings.Contains(full, p.Root+"/overlay2/") {
		t.Errorf("layers --no-trunc on a terminal cuts:\n%s", full)
	}
}
