package save_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/save"
)

// Writes an archive file whole: nothing is at the target until Commit
// renames the new file over it.
func ExampleFile() {
	dir, err := os.MkdirTemp("", "file-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	o := save.NewFile(filepath.Join(dir, "app.tar"))
	if err := o.Create(); err != nil {
		fmt.Println(err)
		return
	}
	defer o.Remove() // after a failure; nothing once committed
	fmt.Fprint(o, "the archive")
	_, err = os.Stat(filepath.Join(dir, "app.tar"))
	fmt.Println("before Commit:", errors.Is(err, os.ErrNotExist))
	if err := o.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(filepath.Join(dir, "app.tar"))
	fmt.Println("after Commit:", string(data))
	// Output:
	// before Commit: true
	// after Commit: the archive
}

// outcome is what a directory holds after a File's life: each entry's
// name and content, the new file's name written NEW.
func outcome(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".out.tar.aufsmount-") {
			name = "NEW"
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %o %q", name, fi.Mode().Perm(), data))
	}
	return strings.Join(out, ", ")
}

func TestFile(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	for _, tc := range []struct {
		name    string
		before  string // the target's content; "" for none
		perm    os.FileMode
		steps   string // W: write "new", C: Commit, R: Remove, r: Remove before Create
		wantErr string // of the last step; "" for none
		want    string // the directory after
	}{
		{name: "committed", steps: "WC", want: `out.tar 644 "new"`},
		{name: "committed over a file keeps its mode", before: "old", perm: 0o600, steps: "WC", want: `out.tar 600 "new"`},
		{name: "while writing", before: "old", perm: 0o640, steps: "W", want: `NEW 640 "new", out.tar 640 "old"`},
		{name: "removed", before: "old", perm: 0o644, steps: "WR", want: `out.tar 644 "old"`},
		{name: "removed, none before", steps: "WR", want: ``},
		{name: "removed then committed", steps: "WRC", wantErr: "interrupted", want: ``},
		{name: "removed before created", before: "old", perm: 0o644, steps: "r", wantErr: "interrupted", want: `out.tar 644 "old"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "out.tar")
			if tc.before != "" {
				if err := os.WriteFile(target, []byte(tc.before), tc.perm); err != nil {
					t.Fatal(err)
				}
			}
			o := save.NewFile(target)
			t.Cleanup(o.Remove)
			if o.Direct() {
				t.Fatalf("%s: Direct, want a new file beside it", target)
			}
			var err error
			if tc.steps[0] == 'r' {
				o.Remove()
				err = o.Create()
			} else if err = o.Create(); err != nil {
				t.Fatal(err)
			}
			for _, step := range tc.steps {
				switch step {
				case 'W':
					_, err = o.Write([]byte("new"))
				case 'C':
					err = o.Commit()
				case 'R':
					o.Remove()
					err = nil
				}
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tc.wantErr)
			}
			if got := outcome(t, dir); got != tc.want {
				t.Errorf("directory holds %s, want %s", got, tc.want)
			}
		})
	}
}

// A target that is not a regular file is written in place: a FIFO is
// read as the archive is written, and left a FIFO.
func TestFileDirect(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		data, err := os.ReadFile(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(data)
	}()
	o := save.NewFile(fifo)
	if !o.Direct() {
		t.Fatalf("%s: not Direct", fifo)
	}
	if err := o.Create(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write([]byte("archive")); err != nil {
		t.Fatal(err)
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "archive" {
		t.Errorf("the FIFO's reader read %q, want %q", s, "archive")
	}
	fi, err := os.Lstat(fifo)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is %v after the save, want a FIFO", fifo, fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %d entries, want the FIFO alone", dir, len(ents))
	}
}
