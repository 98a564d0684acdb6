package chainid

import (
	"slices"
	"testing"
)

func TestAll(t *testing.T) {
	const (
		a = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
		b = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
	)
	for _, tc := range []struct {
		diffs, want []string
	}{
		{nil, []string{}},
		{[]string{a}, []string{a}},
		// sha256("sha256:a3ed... sha256:5f70...") by sha256sum.
		{[]string{a, b}, []string{a, "sha256:71dec89dc33c1a1cd5f73cd1e0885ec74b73b03fb9d5a98fddb6486563565072"}},
	} {
		if got := All(tc.diffs); !slices.Equal(got, tc.want) {
			t.Errorf("All(%v) = %v, want %v", tc.diffs, got, tc.want)
		}
	}
}
