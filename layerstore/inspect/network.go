package inspect

import (
	"bytes"
	"encoding/json"
)

// NetworkSettings is a container's NetworkSettings as docker inspect
// prints it (moby's types.NetworkSettings): the config's, less what the
// engine keeps for itself (Service, IsAnonymousEndpoint ...), with the
// address fields of its "bridge" network at the top, as docker shows
// them for every container.
type NetworkSettings struct {
	Bridge                 string
	SandboxID              string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  json.RawMessage
	SandboxKey             string
	SecondaryIPAddresses   json.RawMessage
	SecondaryIPv6Addresses json.RawMessage
	endpointAddresses
	Networks map[string]*Endpoint
}

// endpointAddresses are where a network put the container.
type endpointAddresses struct {
	EndpointID          string
	Gateway             string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	MacAddress          string
}

// Endpoint is one of NetworkSettings.Networks, as docker inspect
// prints it (without the engine's IPAMOperational).
type Endpoint struct {
	IPAMConfig          json.RawMessage
	Links               json.RawMessage
	Aliases             json.RawMessage
	NetworkID           string
	EndpointID          string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	MacAddress          string
	DriverOpts          json.RawMessage
}

// networkSettings shapes a config's NetworkSettings as docker inspect
// does. Before Docker 1.9 the addresses were at the top, and stay there;
// where the config's is absent or of no shape docker knows, it is passed
// on as it is.
func networkSettings(raw json.RawMessage) any {
	if isNull(raw) {
		return raw
	}
	var ns NetworkSettings
	if err := json.Unmarshal(raw, &ns); err != nil {
		return raw
	}
	if ns.Networks == nil {
		ns.Networks = map[string]*Endpoint{}
	}
	if isNull(ns.Ports) {
		ns.Ports = json.RawMessage("{}") // docker copies them into a new map
	}
	if b := ns.Networks["bridge"]; b != nil {
		ns.endpointAddresses = endpointAddresses{EndpointID: b.EndpointID, Gateway: b.Gateway,
			GlobalIPv6Address: b.GlobalIPv6Address, GlobalIPv6PrefixLen: b.GlobalIPv6PrefixLen,
			IPAddress: b.IPAddress, IPPrefixLen: b.IPPrefixLen, IPv6Gateway: b.IPv6Gateway, MacAddress: b.MacAddress}
	}
	return &ns
}

// platform is a container's Platform as docker inspect prints it: the
// config's OS (or Platform, where an engine wrote that), and where it
// has none, the engine's own, linux, as the engine takes it on loading.
func platform(raw map[string]json.RawMessage) json.RawMessage {
	for _, k := range []string{"OS", "Platform"} {
		if v := raw[k]; !isNull(v) && string(v) != `""` {
			return v
		}
	}
	return json.RawMessage(`"linux"`)
}

// isNull says whether a JSON value is absent or null.
func isNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}
