package beneath

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadDirents reads directories whose listings end at every kind of
// place in the buffer (mid-buffer, within one long name of the end,
// exactly full) and must see every entry with its type.
func TestReadDirents(t *testing.T) {
	tests := []struct {
		name    string
		entries int
		nameLen int // 0: varied lengths
		bufSize int
	}{
		{"empty", 0, 0, 4096},
		{"one", 1, 0, 4096},
		{"fits-in-one-read", 20, 0, 4096},
		{"long-names-small-buffer", 200, 255, 1024},
		{"varied-small-buffer", 500, 0, 600},
		{"many", 3000, 0, 4096},
		{"one-long-name-per-read", 50, 255, 280},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var want []string
			for i := 0; i < tc.entries; i++ {
				n := tc.nameLen
				if n == 0 {
					n = 1 + (i*37)%255
				}
				name := fmt.Sprintf("%d-", i)
				name += strings.Repeat("x", max(0, n-len(name)))
				if i%7 == 0 {
					if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
						t.Fatal(err)
					}
				} else if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				want = append(want, name)
			}
			sort.Strings(want)
			fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
			if err != nil {
				t.Fatal(err)
			}
			ents, err := ReadDirents(fd, make([]byte, tc.bufSize))
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Name)
				num, _, _ := strings.Cut(e.Name, "-")
				if i, _ := strconv.Atoi(num); (e.Mode == unix.S_IFDIR) != (i%7 == 0) {
					t.Errorf("%s: mode %o", e.Name, e.Mode)
				}
			}
			sort.Strings(got)
			if strings.Join(got, "/") != strings.Join(want, "/") {
				t.Errorf("read %d entries, want %d", len(got), len(want))
			}
		})
	}
}
