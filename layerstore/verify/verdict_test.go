package verify

import "testing"

// TestVerdict: Changed for any change or error or a reference not
// resolved, LossyCopy where the losses are all, Unchecked where nothing
// could be checked, Intact else.
func TestVerdict(t *testing.T) {
	tests := []struct {
		statuses   []Status
		unresolved bool
		want       Verdict
	}{
		{[]Status{"OK", "OK"}, false, Intact},
		{[]Status{"OK", "UNVERIFIABLE"}, false, Intact},
		{[]Status{"LOSSY", "OK", "UNVERIFIABLE"}, false, LossyCopy},
		{[]Status{"LOSSY", "MODIFIED"}, false, Changed},
		{[]Status{"OK", "ERROR"}, false, Changed},
		{[]Status{"LOSSY"}, true, Changed},
		{[]Status{"UNVERIFIABLE", "UNVERIFIABLE"}, false, Unchecked},
		{nil, false, Unchecked},
		{[]Status{"UNVERIFIABLE"}, true, Changed},
	}
	for _, tt := range tests {
		if got := verdictOf(tt.statuses, tt.unresolved); got != tt.want {
			t.Errorf("verdictOf(%q, %v) = %d, want %d", tt.statuses, tt.unresolved, got, tt.want)
		}
	}
}
