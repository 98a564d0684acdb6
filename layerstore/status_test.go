package layerstore_test

import (
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "Less than a second"}, // clock skew
		{0, "Less than a second"},
		{999 * time.Millisecond, "Less than a second"},
		{time.Second, "1 second"},
		{1999 * time.Millisecond, "1 second"},
		{2 * time.Second, "2 seconds"},
		{59 * time.Second, "59 seconds"},
		{60 * time.Second, "About a minute"},
		{119 * time.Second, "About a minute"},
		{2 * time.Minute, "2 minutes"},
		{59 * time.Minute, "59 minutes"},
		{60 * time.Minute, "About an hour"},
		{89 * time.Minute, "About an hour"},
		{90 * time.Minute, "2 hours"},
		{47 * time.Hour, "47 hours"},
		{47*time.Hour + 40*time.Minute, "2 days"},
		{48 * time.Hour, "2 days"},
		{13 * 24 * time.Hour, "13 days"},
		{14 * 24 * time.Hour, "2 weeks"},
		{59 * 24 * time.Hour, "8 weeks"},
		{60 * 24 * time.Hour, "2 months"},
		{729 * 24 * time.Hour, "24 months"},
		{730 * 24 * time.Hour, "2 years"},
		{3*365*24*time.Hour + 5*24*time.Hour, "3 years"},
	}
	for _, tt := range tests {
		if got := layerstore.HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestContainerStatus(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	started := time.Date(2024, 5, 1, 7, 0, 0, 0, time.UTC)  // 5 hours before now
	finished := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC) // 3 hours before now
	tests := []struct {
		name        string
		st          layerstore.State
		state, text string
	}{
		{"never started", layerstore.State{}, "created", "Created"},
		{"exited", layerstore.State{ExitCode: 0, StartedAt: started, FinishedAt: finished}, "exited", "Exited (0) 3 hours ago"},
		{"exited (127), years ago", layerstore.State{ExitCode: 127, StartedAt: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
			FinishedAt: time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC)}, "exited", "Exited (127) 3 years ago"},
		{"started, never finished", layerstore.State{StartedAt: started}, "exited", ""},
		{"running", layerstore.State{Running: true, StartedAt: started}, "running", "Up 5 hours (running when copied)"},
		{"running, healthy", layerstore.State{Running: true, StartedAt: started, Health: "healthy"},
			"running", "Up 5 hours (healthy) (running when copied)"},
		{"paused", layerstore.State{Running: true, Paused: true, StartedAt: started},
			"paused", "Up 5 hours (Paused) (running when copied)"},
		{"restarting", layerstore.State{Running: true, Restarting: true, ExitCode: 1, StartedAt: started, FinishedAt: now.Add(-40 * time.Second)},
			"restarting", "Restarting (1) 40 seconds ago (running when copied)"},
		{"paused outside running", layerstore.State{Paused: true, StartedAt: started, FinishedAt: finished},
			"exited", "Exited (0) 3 hours ago"},
		{"removing", layerstore.State{RemovalInProgress: true, StartedAt: started, FinishedAt: finished}, "removing", "Removal In Progress"},
		{"dead", layerstore.State{Dead: true, ExitCode: 137, StartedAt: started, FinishedAt: finished}, "dead", "Dead"},
	}
	for _, tt := range tests {
		if got := tt.st.StateString(); got != tt.state {
			t.Errorf("%s: StateString() = %q, want %q", tt.name, got, tt.state)
		}
		if got := tt.st.Status(now); got != tt.text {
			t.Errorf("%s: Status() = %q, want %q", tt.name, got, tt.text)
		}
	}
}

func TestDisplayPorts(t *testing.T) {
	tests := []struct {
		name  string
		ports []layerstore.Port
		want  string
	}{
		{"none", nil, ""},
		{"exposed", []layerstore.Port{{PrivatePort: 443, Type: "tcp"}}, "443/tcp"},
		{"exposed run", []layerstore.Port{{PrivatePort: 8000, Type: "tcp"}, {PrivatePort: 8001, Type: "tcp"}, {PrivatePort: 8002, Type: "tcp"}},
			"8000-8002/tcp"},
		{"tcp and udp", []layerstore.Port{{PrivatePort: 53, Type: "tcp"}, {PrivatePort: 53, Type: "udp"}}, "53/tcp, 53/udp"},
		{"published to another port", []layerstore.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}},
			"0.0.0.0:8080->80/tcp"},
		{"published to the same port", []layerstore.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 80, Type: "tcp"}, {IP: "0.0.0.0", PrivatePort: 81, PublicPort: 81, Type: "tcp"}},
			"0.0.0.0:80-81->80-81/tcp"},
		{"IPv6", []layerstore.Port{{IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "[::]:8080->80/tcp"},
		{"gap splits a run", []layerstore.Port{{PrivatePort: 80, Type: "tcp"}, {PrivatePort: 82, Type: "tcp"}}, "80/tcp, 82/tcp"},
		{"mappings last", []layerstore.Port{{IP: "0.0.0.0", PrivatePort: 22, PublicPort: 2222, Type: "tcp"}, {PrivatePort: 443, Type: "tcp"}},
			"443/tcp, 0.0.0.0:2222->22/tcp"},
	}
	for _, tt := range tests {
		if got := layerstore.DisplayPorts(tt.ports); got != tt.want {
			t.Errorf("%s: DisplayPorts = %q, want %q", tt.name, got, tt.want)
		}
	}
}
