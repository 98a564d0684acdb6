package integration

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
)

// save -o FILE writes a new file beside FILE and renames it over FILE
// once the archive is whole: a save that a signal ends leaves no FILE
// and no temporary file, and a FILE that was there is as it was.

// bigSaveStore is a store whose archive is big enough (512 MiB, a sparse
// file in the store, all of it in the archive) that a save is still
// writing it when the test stops it.
func bigSaveStore(t *testing.T) *st.Built {
	t.Helper()
	img := &st.Image{Names: []string{"big/sparse:1"}, Layers: []*st.Layer{
		l(st.F("etc/motd", "hi\n"), st.SparseFile("var/big.bin", "start", 512<<20)),
	}}
	b, err := (&st.Store{Driver: st.DriverOverlay2, Images: []*st.Image{img}}).Write(filepath.Join(t.TempDir(), "docker"), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startSave starts aufsmount save -o file of the big image.
func startSave(t *testing.T, root, file string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, "--root", root, "save", "-o", file, "big/sparse:1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Env = append(os.Environ(), "AUFSMOUNT_ROOT=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &errb
}

// tempOf waits for save's temporary file for FILE to hold some of the
// archive and returns its name; it fails the test if the save ends first.
func tempOf(t *testing.T, cmd *exec.Cmd, file string) string {
	t.Helper()
	prefix := "." + filepath.Base(file) + ".aufsmount-"
	deadline := time.Now().Add(60 * time.Second) // a bound on a stuck save, not a measure
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(filepath.Dir(file))
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), prefix) && fi.Size() > 0 {
				return filepath.Join(filepath.Dir(file), e.Name())
			}
		}
		var ws unix.WaitStatus
		if pid, _ := unix.Wait4(cmd.Process.Pid, &ws, unix.WNOHANG|unix.WNOWAIT, nil); pid == cmd.Process.Pid {
			t.Fatalf("save ended (%v) before its temporary file %s* showed", ws, prefix)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no temporary file %s* in %s", prefix, filepath.Dir(file))
	return ""
}

// dirNames lists a directory's names, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestSaveSignals ends save -o FILE with SIGINT, SIGTERM and SIGPIPE
// while it writes (the process stopped with SIGSTOP once its temporary
// file holds part of the archive, so that it cannot finish first): it
// dies of the signal, and its directory holds no FILE and no temporary
// file; a FILE that was there is untouched.
func TestSaveSignals(t *testing.T) {
	b := bigSaveStore(t)
	snap := roSnap(t, b.Root)
	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		existing bool
	}{
		{"SIGINT", unix.SIGINT, false},
		{"SIGTERM", unix.SIGTERM, false},
		{"SIGPIPE", unix.SIGPIPE, false},
		{"SIGINT over an existing FILE", unix.SIGINT, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "big.tar")
			var want []string
			if tc.existing {
				if err := os.WriteFile(file, []byte("old archive\n"), 0o640); err != nil {
					t.Fatal(err)
				}
				want = []string{"big.tar"}
			}
			cmd, errb := startSave(t, b.Root, file)
			tmp := tempOf(t, cmd, file)
			if err := cmd.Process.Signal(unix.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(tmp); err != nil {
				t.Fatalf("the temporary file went before the signal: %v (stderr %q)", err, errb)
			}
			cmd.Process.Signal(tc.sig)
			cmd.Process.Signal(unix.SIGCONT)
			cmd.Wait()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			switch {
			case tc.sig == unix.SIGPIPE:
				// The Go runtime does not die of a SIGPIPE that a write to
				// standard output or error did not raise: the shell's code.
				if ws.ExitStatus() != 128+13 {
					t.Errorf("save after SIGPIPE: %v, want exit 141", ws)
				}
			case !ws.Signaled() || ws.Signal() != tc.sig:
				t.Errorf("save after %v: %v, want it killed by the signal", tc.sig, ws)
			}
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("after %v the directory holds %q, want %q", tc.sig, got, want)
			}
			if tc.existing {
				fi, err := os.Stat(file)
				data, _ := os.ReadFile(file)
				if err != nil || string(data) != "old archive\n" || fi.Mode().Perm() != 0o640 {
					t.Errorf("FILE after an interrupted save: %q, %v, %v; want it as it was", data, fi, err)
				}
			}
		})
	}
	checkStoreUnchanged(t, b.Root, "interrupted saves", snap)
}

// TestSaveReplacesAtomically saves over an existing FILE and looks at
// FILE all the while: it is the old file until it is the whole archive,
// the very file the save wrote beside it (renamed, not copied), with the
// old file's permissions.
func TestSaveReplacesAtomically(t *testing.T) {
	b := bigSaveStore(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "big.tar")
	if err := os.WriteFile(file, []byte("old archive\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var old unix.Stat_t
	if err := unix.Stat(file, &old); err != nil {
		t.Fatal(err)
	}
	cmd, errb := startSave(t, b.Root, file)
	tmp := tempOf(t, cmd, file)
	var tmpSt unix.Stat_t
	if err := unix.Stat(tmp, &tmpSt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var seen []unix.Stat_t // every state of FILE other than the old one
	watch := func() {
		var s unix.Stat_t
		if err := unix.Stat(file, &s); err != nil {
			t.Errorf("FILE missing during the save: %v", err)
			return
		}
		if s.Ino == old.Ino {
			if s.Size != old.Size {
				t.Errorf("the old FILE was written to: %d bytes", s.Size)
			}
			return
		}
		seen = append(seen, s)
	}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("save: %v: %s", err, errb)
			}
			running = false
		default:
			watch()
			time.Sleep(time.Millisecond)
		}
	}
	watch()
	last := seen[len(seen)-1]
	for _, s := range seen {
		if s.Ino != tmpSt.Ino || s.Size != last.Size {
			t.Errorf("FILE seen as inode %d, %d bytes; want only the old file or the temporary file %d whole (%d bytes)", s.Ino, s.Size, tmpSt.Ino, last.Size)
			break
		}
	}
	if last.Mode&0o7777 != 0o640 {
		t.Errorf("FILE's mode %#o, want the old file's 0640", last.Mode&0o7777)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"big.tar"}) {
		t.Errorf("after the save the directory holds %q", got)
	}
	a := readSaved(t, file)
	a.check(t)
}

// TestSaveClosedPipe closes the reader of save's standard output after
// the first bytes of the archive: the save ends with an error and leaves
// no file anywhere (the archive had no file).
func TestSaveClosedPipe(t *testing.T) {
	b := bigSaveStore(t)
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--root", b.Root, "save", "big/sparse:1")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Dir = w, &errb, dir
	cmd.Env = append(os.Environ(), "AUFSMOUNT_ROOT=")
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(r, make([]byte, 1<<20))
		r.Close()
		read <- err
	}()
	code := runBounded(t, cmd)
	w.Close()
	if err := <-read; err != nil {
		t.Fatalf("reading the archive: %v", err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if code == 0 || !(ws.Signaled() && ws.Signal() == unix.SIGPIPE) && !strings.Contains(errb.String(), "broken pipe") {
		t.Errorf("save into a closed pipe: %v, stderr %q; want it ended by SIGPIPE or a broken-pipe error", ws, errb.String())
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("save into a pipe left %q in its directory", got)
	}
}
