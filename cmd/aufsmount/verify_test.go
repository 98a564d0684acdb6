package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/verify"
)

func changed(p string, k layertar.Kind, what string) layertar.Finding {
	return layertar.Finding{Path: p, Kind: k, What: what}
}

func lost(p string, k layertar.Kind, what string) layertar.Finding {
	return layertar.Finding{Path: p, Kind: k, What: what, Loss: true}
}

// TestLayerLine: a layer's line says its contents and its directory
// apart, the differences counted by kind, changes before a copy's losses.
func TestLayerLine(t *testing.T) {
	const (
		diffID = "sha256:7f9e3bff019c2f1ef11d3ef2c3c2a8b4f3b0e2d1c0b9a8f7e6d5c4b3a2918070"
		other  = "sha256:58a5f3312756aa00bb11cc22dd33ee44ff5566778899aabbccddeeff00112233"
		id     = "c8fabe1553ada75c4504d95b9ba4fd5d166c1b94307d186fe0b7bf4677f53e04"
	)
	mismatch := &layertar.Mismatch{Digest: other, DiffID: diffID}
	many := make([]layertar.Finding, 2413)
	for i := range many {
		many[i] = lost("p", layertar.OwnerChanged, "")
	}
	tests := []struct {
		name string
		lc   verify.Layer
		want string
	}{
		{"intact", verify.Layer{Status: "OK", Digest: diffID, Size: 17400, Contents: true},
			"OK            layer c8fabe1553ad: contents intact (sha256:7f9e3bff019c, 17.4kB); directory as unpacked"},
		{"a copy's losses", verify.Layer{Status: "LOSSY", Digest: diffID, Size: 17400, Contents: true,
			Findings: append(many, lost("bin/ping", layertar.XattrMissing, ""), lost("run/x", layertar.FifoMissing, ""), lost("tmp", layertar.ModeChanged, ""))},
			"LOSSY         layer c8fabe1553ad: contents intact (sha256:7f9e3bff019c, 17.4kB); a copy lost 2,413 owners, 1 mode, 1 xattr, 1 fifo"},
		{"changes and losses", verify.Layer{Status: "MODIFIED", Digest: other, Size: 17400, Mismatch: mismatch,
			Findings: []layertar.Finding{changed("bin/busybox", layertar.ModeChanged, ""), lost("bin/su", layertar.ModeChanged, ""),
				changed("etc/os-release", layertar.ContentChanged, ""), lost("etc/os-release", layertar.OwnerChanged, "")}},
			"MODIFIED      layer c8fabe1553ad: contents changed: 1 file's bytes (rebuilt sha256:58a5f3312756, not its diff id sha256:7f9e3bff019c); directory changed: 1 mode; a copy lost 1 owner, 1 mode"},
		{"bytes alone, no diff id", verify.Layer{Status: "MODIFIED", Digest: other, Size: 17400, Layer: layerstore.Layer{ID: id},
			Findings: []layertar.Finding{changed("etc/os-release", layertar.ContentChanged, "")}},
			"MODIFIED      layer c8fabe1553ad: contents changed: 1 file's bytes; directory as unpacked"},
		{"a file missing", verify.Layer{Status: "MODIFIED", Digest: other, Size: 17400, Mismatch: mismatch,
			Findings: []layertar.Finding{changed("etc/os-release", layertar.Missing, "")}},
			"MODIFIED      layer c8fabe1553ad: contents changed (rebuilt sha256:58a5f3312756, not its diff id sha256:7f9e3bff019c); directory changed: 1 missing entry"},
		{"unverifiable", verify.Layer{Status: "UNVERIFIABLE", Reason: "no tar-split (the store has lost it)"},
			"UNVERIFIABLE  layer c8fabe1553ad: no tar-split (the store has lost it)"},
	}
	for _, tt := range tests {
		lc := tt.lc
		if lc.Layer.ID == "" {
			lc.Layer = layerstore.Layer{ID: id, DiffID: diffID}
		}
		if got := layerLine(&lc); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// TestFindingLines: the changes are listed, ten at most, and --verbose
// lists every finding, a copy's losses marked.
func TestFindingLines(t *testing.T) {
	mixed := []layertar.Finding{
		lost("bin/su", layertar.ModeChanged, "mode 0755, was 4755"),
		changed("bin/busybox", layertar.ModeChanged, "mode 4755, was 0755"),
		lost("run/initctl", layertar.FifoMissing, "fifo missing"),
		changed("etc/a\nb", layertar.Added, "added since the layer was unpacked"),
	}
	var many []layertar.Finding
	for range 1012 {
		many = append(many, changed("x", layertar.ModeChanged, "mode 0777, was 0755"))
	}
	tests := []struct {
		name    string
		fs      []layertar.Finding
		verbose bool
		want    []string
	}{
		{"none", nil, true, nil},
		{"changes", mixed, false, []string{
			"    /bin/busybox: mode 4755, was 0755",
			`    /etc/a\nb: added since the layer was unpacked`,
		}},
		{"verbose", mixed, true, []string{
			"    /bin/su: mode 0755, was 4755 (lost by a copy)",
			"    /bin/busybox: mode 4755, was 0755",
			"    /run/initctl: fifo missing (lost by a copy)",
			`    /etc/a\nb: added since the layer was unpacked`,
		}},
		{"many", many, false, append(slices.Repeat([]string{"    /x: mode 0777, was 0755"}, 10),
			"    ... and 1,002 more changes (--verbose lists every path)")},
		{"eleven", many[:11], false, append(slices.Repeat([]string{"    /x: mode 0777, was 0755"}, 10),
			"    ... and 1 more change (--verbose lists every path)")},
	}
	for _, tt := range tests {
		got := findingLines(tt.fs, tt.verbose)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
	if got := findingLines(many, true); len(got) != 1012 {
		t.Errorf("verbose: %d lines, want 1012", len(got))
	}
}

// TestVerifyHelp: verify --help and the man page say what --json prints
// and every exit status.
func TestVerifyHelp(t *testing.T) {
	help := aufsmount(t, nil, "verify", "--help")
	man := aufsmount(t, nil, "gen-man")
	if !strings.Contains(help.stdout, `print one JSON object, {"layers": [...], "targets": [...]}, instead of lines`) ||
		!strings.Contains(man.stdout, `\fB--json\fP: print one JSON object, {"layers": [...], "targets": [...]}, instead of lines`) ||
		strings.Contains(help.stdout, "JSON array") {
		t.Errorf("verify --help does not say --json prints one object:\n%s", help.stdout)
	}
	for code, what := range map[int]string{
		0: "everything checked is intact (UNVERIFIABLE layers do not fail it)",
		1: "something changed, or an error occurred",
		3: "the contents are intact, and every difference is a copy's loss",
		4: "nothing could be checked: no layer has a tar-split",
	} {
		if want := fmt.Sprintf("\n      %d  %s\n", code, what); !strings.Contains(help.stdout, want) {
			t.Errorf("verify --help lacks %q:\n%s", want, help.stdout)
		}
		if want := fmt.Sprintf("\n.TP\n%d\n%s\n", code, what); !strings.Contains(man.stdout, want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
}
