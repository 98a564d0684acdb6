package fs

import "testing"

// TestProviderWords: the words which prints for each reason, the path
// quoted as one line.
func TestProviderWords(t *testing.T) {
	for _, tc := range []struct {
		p           Provider
		status, why string
	}{
		{Provider{Reason: Shown, At: "/etc/motd"}, "provides", "shown"},
		{Provider{Reason: Merged, At: "/etc"}, "merged", "merged"},
		{Provider{Reason: WhitedOut, At: "/etc/motd"}, "hidden", "/etc/motd whited out by L1"},
		{Provider{Reason: UnderOpaque, At: "/etc"}, "hidden", "under /etc, made opaque by L1"},
		{Provider{Reason: Shadowed, At: "/a\nb"}, "hidden", `shadowed at /a\nb by L1`},
		{Provider{Reason: MountedOver, At: "/etc/hosts"}, "hidden", "/etc/hosts mounted over by L1"},
		{Provider{Reason: Reason(9), At: "/x"}, "hidden", "Reason(9)"},
	} {
		if got := tc.p.Status(); got != tc.status {
			t.Errorf("%v: Status() = %q, want %q", tc.p.Reason, got, tc.status)
		}
		if got := tc.p.Why("L1"); got != tc.why {
			t.Errorf("%v: Why(L1) = %q, want %q", tc.p.Reason, got, tc.why)
		}
	}
}
