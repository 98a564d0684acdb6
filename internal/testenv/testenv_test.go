package testenv

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that notes how Require ended the test instead of
// ending this one.
type recorder struct {
	testing.TB
	ended string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.ended = "fail: " + fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Skip(args ...any) {
	r.ended = "skip: " + fmt.Sprint(args...)
	panic(r)
}

func TestRequire(t *testing.T) {
	for _, c := range []struct {
		ci   string
		ok   bool
		want string
	}{
		{"", true, ""},
		{"true", true, ""},
		{"", false, "skip: no frob (7)"},
		{"false", false, "skip: no frob (7)"},
		{"1", false, "skip: no frob (7)"},
		{"true", false, "fail: no frob (7), and CI=true forbids skipping"},
	} {
		t.Setenv("CI", c.ci)
		r := &recorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != r {
					panic(p)
				}
			}()
			Require(r, c.ok, "no frob (%d)", 7)
		}()
		if r.ended != c.want {
			t.Errorf("CI=%q ok=%v: got %q, want %q", c.ci, c.ok, r.ended, c.want)
		}
	}
}

func TestTool(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	func() {
		defer func() { recover() }()
		Tool(r, "no-such-program-aufsmount-test")
	}()
	if want := "fail: no-such-program-aufsmount-test not installed, and CI=true forbids skipping"; r.ended != want {
		t.Errorf("got %q, want %q", r.ended, want)
	}
	if p := Tool(t, "sh"); p == "" {
		t.Error("Tool(sh) returned no path")
	}
}
