package layerstore

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DisplayPorts is PORTS as docker ps shows a container's ports (docker's
// api/types DisplayablePorts): published ports as
// "0.0.0.0:8080->80/tcp", exposed ones as "443/tcp", runs of ports as
// ranges ("8000-8002/tcp"), in the order of ports (sorted as Container's
// Ports are), the mappings to another port last.
func DisplayPorts(ports []Port) string {
	type group struct{ first, last uint16 }
	groups := map[string]*group{}
	var keys, result, mappings []string
	for _, p := range ports {
		key := p.Type
		if p.IP != "" {
			if p.PublicPort != p.PrivatePort {
				mappings = append(mappings, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
				continue
			}
			key = p.IP + "/" + p.Type
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{p.PrivatePort, p.PrivatePort}
			keys = append(keys, key)
		case p.PrivatePort == g.last+1:
			g.last = p.PrivatePort
		default:
			result = append(result, portGroup(key, g.first, g.last))
			groups[key] = &group{p.PrivatePort, p.PrivatePort}
		}
	}
	for _, k := range keys {
		result = append(result, portGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(result, mappings...), ", ")
}

// portGroup is one run of ports of key ("tcp", or "IP/tcp" for published
// ones) as PORTS prints it.
func portGroup(key string, first, last uint16) string {
	ip, typ, ok := strings.Cut(key, "/")
	if !ok {
		ip, typ = "", key
	}
	g := strconv.Itoa(int(first))
	if first != last {
		g += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		g = net.JoinHostPort(ip, g) + "->" + g
	}
	return g + "/" + typ
}
