package verify

import (
	"testing"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

func changed(p string, k layertar.Kind) layertar.Finding {
	return layertar.Finding{Path: p, Kind: k}
}

func lost(p string, k layertar.Kind) layertar.Finding {
	return layertar.Finding{Path: p, Kind: k, Loss: true}
}

// TestJudge answers the two questions of a checked layer: the
// contents (the digest where the diff id is known, else no file's bytes
// or file missing), and whether every difference is a copy's loss.
func TestJudge(t *testing.T) {
	tests := []struct {
		name            string
		fs              []layertar.Finding
		mismatch, known bool
		status          Status
		contents        bool
	}{
		{"intact", nil, false, true, "OK", true},
		{"losses alone", []layertar.Finding{lost("a", layertar.OwnerChanged), lost("b", layertar.FifoMissing)}, false, true, "LOSSY", true},
		{"a change among losses", []layertar.Finding{lost("a", layertar.OwnerChanged), changed("a", layertar.ModeChanged)}, false, true, "MODIFIED", true},
		{"bytes", []layertar.Finding{changed("a", layertar.ContentChanged)}, true, true, "MODIFIED", false},
		{"a digest alone", nil, true, true, "MODIFIED", false},
		{"an entry added", []layertar.Finding{changed("x", layertar.Added)}, false, true, "MODIFIED", true},
		// The header of a missing symlink is in the tar-split: the
		// digest, where known, says the stream is whole.
		{"missing, diff id known", []layertar.Finding{changed("a", layertar.Missing)}, false, true, "MODIFIED", true},
		{"missing, no diff id", []layertar.Finding{changed("a", layertar.Missing)}, false, false, "MODIFIED", false},
		{"a fifo lost, no diff id", []layertar.Finding{lost("a", layertar.FifoMissing)}, false, false, "LOSSY", true},
		{"a size, no diff id", []layertar.Finding{changed("a", layertar.SizeChanged)}, false, false, "MODIFIED", false},
	}
	for _, tt := range tests {
		status, contents := judge(tt.fs, tt.mismatch, tt.known)
		if status != tt.status || contents != tt.contents {
			t.Errorf("%s: judge = %s, contents %v; want %s, %v", tt.name, status, contents, tt.status, tt.contents)
		}
	}
}

// TestDirectory: a directory is changed by any change that is not of
// the contents, lossy where every such difference is a copy's loss.
func TestDirectory(t *testing.T) {
	tests := []struct {
		name string
		fs   []layertar.Finding
		want Directory
	}{
		{"none", nil, "intact"},
		{"bytes alone", []layertar.Finding{changed("a", layertar.ContentChanged)}, "intact"},
		{"losses", []layertar.Finding{lost("a", layertar.OwnerChanged), lost("b", layertar.XattrMissing)}, "lossy"},
		{"a change among losses", []layertar.Finding{lost("a", layertar.OwnerChanged), changed("b", layertar.Added)}, "changed"},
	}
	for _, tt := range tests {
		if got := directory(tt.fs); got != tt.want {
			t.Errorf("%s: directory = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestWorst: a target's status is the worst of its layers', and
// UNVERIFIABLE only where none could be checked.
func TestWorst(t *testing.T) {
	tests := []struct {
		statuses []Status
		want     Status
	}{
		{nil, "UNVERIFIABLE"},
		{[]Status{"UNVERIFIABLE", "OK"}, "OK"},
		{[]Status{"OK", "LOSSY", "UNVERIFIABLE"}, "LOSSY"},
		{[]Status{"MODIFIED", "LOSSY"}, "MODIFIED"},
		{[]Status{"OK", "ERROR", "MODIFIED"}, "ERROR"},
	}
	for _, tt := range tests {
		var ls []*Layer
		for _, s := range tt.statuses {
			ls = append(ls, &Layer{Status: s})
		}
		if got := worst(ls); got != tt.want {
			t.Errorf("worst(%q) = %s, want %s", tt.statuses, got, tt.want)
		}
	}
}
