package words

import "testing"

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 2413: "2,413", 100000: "100,000", 1234567: "1,234,567", -2413: "-2,413"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPluralJoinAnd(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Plural(1, "link", "links"), "link"},
		{Plural(0, "link", "links"), "links"},
		{Plural(2, "link", "links"), "links"},
		{JoinAnd(nil), ""},
		{JoinAnd([]string{"owners"}), "owners"},
		{JoinAnd([]string{"owners", "times"}), "owners and times"},
		{JoinAnd([]string{"owners", "modes", "times"}), "owners, modes and times"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/etc/passwd", "/etc/passwd"},
		{"/a b/c d", "/a b/c d"},
		{"/new\nline", `/new\nline`},
		{"/tab\there\r", `/tab\there\r`},
		{`/back\slash`, `/back\\slash`},
		{"/bad\xff\xfe", `/bad\377\376`},
		{"/ünïcode/日本", "/ünïcode/日本"},
		{"/bell\a\x00\x7f", `/bell\007\000\177`},
		{"/nbsp\u00a0zwsp\u200b", `/nbsp\302\240zwsp\342\200\213`},
		{"/cut\xe2\x82", `/cut\342\202`},
		{`/\101`, `/\\101`}, // an escape-looking name stays told apart
	}
	for _, tt := range tests {
		if got := Path(tt.in); got != tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
