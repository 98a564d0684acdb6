package layertar

import (
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTally counts findings by kind in the order a summary gives them,
// whatever order they come in, and names each count.
func TestTally(t *testing.T) {
	f := func(k Kind) Finding { return Finding{Path: "p", Kind: k} }
	tests := []struct {
		name string
		in   []Finding
		want []string
	}{
		{"none", nil, nil},
		{"one of a kind", []Finding{f(XattrMissing)}, []string{"1 xattr"}},
		{"a copy's losses, out of order",
			[]Finding{f(LinkBroken), f(FifoMissing), f(MtimeChanged), f(OwnerChanged), f(ModeChanged), f(OwnerChanged), f(FifoMissing), f(DeviceMissing)},
			[]string{"2 owners", "1 mode", "1 mtime", "1 device node", "2 fifos", "1 hard link"}},
		{"changes after losses",
			[]Finding{f(Added), f(ContentChanged), f(XattrChanged), f(OwnerChanged), f(Missing), f(Missing)},
			[]string{"1 owner", "1 xattr value", "1 file's bytes", "2 missing entries", "1 added entry"}},
		{"overlay markers", []Finding{f(OpaqueMissing), f(WhiteoutMissing), f(WhiteoutMissing)},
			[]string{"2 whiteouts", "1 opaque marker"}},
		{"entries of another kind", []Finding{f(TypeChanged), f(TypeChanged), f(SymlinkChanged), f(DeviceChanged)},
			[]string{"2 entries of another type", "1 symlink target", "1 device number"}},
		{"a kind of no summary's order, last", []Finding{f(Kind(200)), f(Added)}, []string{"1 added entry", "1 kind 200"}},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range Tally(tt.in) {
			got = append(got, strconv.Itoa(c.N)+" "+c.Kind.Noun(c.N))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Tally = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestKindsNamed: every kind has a name, a noun and a place in a
// summary, so that none is counted under a made-up name.
func TestKindsNamed(t *testing.T) {
	for k := Outside; k <= FifoMissing; k++ {
		if _, ok := kindNames[k]; !ok {
			t.Errorf("kind %d has no name", k)
		}
		if _, ok := nouns[k]; !ok {
			t.Errorf("kind %s has no noun", k)
		}
		if !slices.Contains(tallyOrder, k) {
			t.Errorf("kind %s has no place in tallyOrder", k)
		}
	}
	if len(kindNames) != int(FifoMissing) || len(nouns) != len(kindNames) || len(tallyOrder) != len(kindNames) {
		t.Errorf("%d names, %d nouns, %d in tallyOrder for %d kinds", len(kindNames), len(nouns), len(tallyOrder), FifoMissing)
	}
	if got := Kind(200).Noun(2); got != "kind 200" {
		t.Errorf("an unknown kind's noun is %q", got)
	}
}

// TestMissingKind: a missing device or fifo, which a copy skips, is a
// kind of its own; anything else missing is Missing.
func TestMissingKind(t *testing.T) {
	for mode, want := range map[uint32]Kind{
		unix.S_IFCHR: DeviceMissing, unix.S_IFBLK: DeviceMissing, unix.S_IFIFO: FifoMissing,
		unix.S_IFREG: Missing, unix.S_IFDIR: Missing, unix.S_IFLNK: Missing, 0: Missing,
	} {
		if got := missingKind(mode); got != want {
			t.Errorf("missingKind(%o) = %s, want %s", mode, got, want)
		}
	}
}
