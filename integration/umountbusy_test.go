package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestUnmountBusy unmounts a view that a file open in it keeps busy: the
// serving process told to stop, and aufsmount umount, each say so on one
// line (fusermount's message, which go-fuse hands on with a line break
// and its exit status, folded into the line).
func TestUnmountBusy(t *testing.T) {
	testenv.FUSE(t)
	b, _ := faultStore(t)
	t.Run("SIGTERM", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "log")
		mnt := daemonMount(t, b.Root, "fault/img:latest", "--log", log)
		pid := daemonPID(t, mnt)
		f, err := os.Open(filepath.Join(mnt, "base/a"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Kill(pid, unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if !pollUntil(promptly, func() bool { return !isMounted(t, mnt) }) {
			t.Fatalf("still mounted %v after SIGTERM", promptly)
		}
		f.Close()
		if !pollUntil(promptly, func() bool { return !procAlive(pid) }) {
			t.Fatalf("the daemon still runs %v after its view was detached and its last file closed", promptly)
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		stamp := `aufsmount: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d `
		want := []*regexp.Regexp{
			regexp.MustCompile("^" + stamp + "terminated: unmounting " + regexp.QuoteMeta(mnt) + "$"),
			regexp.MustCompile("^" + stamp + "unmounting " + regexp.QuoteMeta(mnt) + ": [^\n]*[Bb]usy; detaching it lazily$"),
		}
		if len(lines) != len(want) {
			t.Fatalf("the log has %d lines, want %d:\n%s", len(lines), len(want), data)
		}
		for i, re := range want {
			if !re.MatchString(lines[i]) {
				t.Errorf("log line %d is %q, want one matching %s", i+1, lines[i], re)
			}
		}
	})
	t.Run("umount", func(t *testing.T) {
		mnt := daemonMount(t, b.Root, "fault/img:latest")
		f, err := os.Open(filepath.Join(mnt, "base/a"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stdout, stderr, code := run(t, "umount", mnt)
		if want := "aufsmount: " + mnt + " was busy: detached; it is freed when its last user goes\n"; code != 0 || stdout != "" || stderr != want {
			t.Errorf("umount of a busy view: exit %d, stdout %q, stderr %q; want exit 0 and stderr %q", code, stdout, stderr, want)
		}
		if isMounted(t, mnt) {
			t.Error("still mounted after umount")
		}
	})
}
