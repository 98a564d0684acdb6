package inspect

import (
	"encoding/json"
	"testing"
)

// TestNetworkSettings: a config's NetworkSettings as docker inspect
// shapes it, from each form Docker wrote.
func TestNetworkSettings(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"absent", ``, `null`},
		{"null", `null`, `null`},
		{"not an object", `[1,2]`, `[1,2]`},
		{"a field of another shape", `{"Bridge":7}`, `{"Bridge":7}`},
		// Docker 1.9 and later: the bridge network's addresses also at
		// the top; the engine's own fields left out; no Ports made {}.
		{"bridge", `{"SandboxID":"f49e","Service":null,"IsAnonymousEndpoint":false,"Networks":{"bridge":{"NetworkID":"e06b","EndpointID":"9975","Gateway":"172.17.0.1","IPAddress":"172.17.0.2","IPPrefixLen":16,"MacAddress":"02:42:ac:11:00:02","IPAMOperational":false}}}`,
			`{"Bridge":"","SandboxID":"f49e","HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Ports":{},"SandboxKey":"","SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,` +
				`"EndpointID":"9975","Gateway":"172.17.0.1","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":"172.17.0.2","IPPrefixLen":16,"IPv6Gateway":"","MacAddress":"02:42:ac:11:00:02",` +
				`"Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"e06b","EndpointID":"9975","Gateway":"172.17.0.1","IPAddress":"172.17.0.2","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"02:42:ac:11:00:02","DriverOpts":null}}}`},
		// Before Docker 1.9: the addresses at the top, no Networks.
		{"before 1.9", `{"IPAddress":"172.17.0.5","IPPrefixLen":16,"Gateway":"172.17.42.1","Ports":{"80/tcp":null}}`,
			`{"Bridge":"","SandboxID":"","HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Ports":{"80/tcp":null},"SandboxKey":"","SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,` +
				`"EndpointID":"","Gateway":"172.17.42.1","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":"172.17.0.5","IPPrefixLen":16,"IPv6Gateway":"","MacAddress":"","Networks":{}}`},
	} {
		var in json.RawMessage // absent: nil, as a config's missing field is
		if tc.in != "" {
			in = json.RawMessage(tc.in)
		}
		got, err := json.Marshal(networkSettings(in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestPlatform: the config's OS, or Platform, else linux.
func TestPlatform(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{"OS":"windows"}`, `"windows"`},
		{`{"Platform":"linux"}`, `"linux"`},
		{`{"OS":"","Platform":"freebsd"}`, `"freebsd"`},
		{`{"OS":null}`, `"linux"`},
		{`{}`, `"linux"`},
	} {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.config), &raw); err != nil {
			t.Fatal(err)
		}
		if got := string(platform(raw)); got != tc.want {
			t.Errorf("platform(%s) = %s, want %s", tc.config, got, tc.want)
		}
	}
}
