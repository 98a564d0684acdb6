package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// AsNobody is for a check that only a user without root's privileges can
// make (root reads every file). Run as root, it runs the test t again, in
// a copy of the test binary, as user and group 65534 with no other
// groups and env (NAME=value) added to a minimal environment, makes the
// child's verdict t's, and returns true: the caller returns. Run as any
// other user it returns false, and the caller makes the check itself. What
// the child is to read, root makes public first (Public).
func AsNobody(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	setpriv := Tool(t, "setpriv")
	dir := t.TempDir()
	Public(t, dir) // the binary and its working directory
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil { // past the umask
		t.Fatal(err)
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatalf("reading the test binary: %v", err)
	}
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups",
		bin, "-test.run", strings.Join(run, "/"), "-test.v", "-test.count", "1")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "TMPDIR=" + tmp, "CI=" + os.Getenv("CI")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as user 65534: %v\n%s", t.Name(), err, out)
	}
	// A child that skipped or ran nothing has not made the check.
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")) {
		t.Fatalf("%s as user 65534 did not pass:\n%s", t.Name(), out)
	}
	return true
}

// Public lets every user enter dir and the directories above it, up to
// the temporary directory (t.TempDir makes them 0700).
func Public(t testing.TB, dir string) {
	t.Helper()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("making %s public: %v", d, err)
		}
	}
}
