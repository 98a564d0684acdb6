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
