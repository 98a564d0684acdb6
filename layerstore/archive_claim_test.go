package layerstore

import "testing"

// TestConfigClaim: the digest a docker save's config member names it by,
// as Docker before 25, Docker 25 and crane name it; none for other names.
func TestConfigClaim(t *testing.T) {
	const h = "6f1a1535b4a685661db549820d2a75c86fa4715b75a974c2bf36e2674684a927"
	tests := []struct{ member, want string }{
		{h + ".json", "sha256:" + h},
		{"blobs/sha256/" + h, "sha256:" + h},
		{"sha256:" + h, "sha256:" + h},
		{"config.json", ""},
		{"blobs/sha256/" + h[:12], ""},
		{h, ""},
		{"blobs/sha512/" + h, ""},
	}
	for _, tt := range tests {
		if got := configClaim(tt.member); got != tt.want {
			t.Errorf("configClaim(%q) = %q, want %q", tt.member, got, tt.want)
		}
	}
}
