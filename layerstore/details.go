package layerstore

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is what a container's config says of its state when the store
// was written: Docker's container.State.
type State struct {
	Running, Paused, Restarting, OOMKilled, Dead, RemovalInProgress bool
	Pid, ExitCode                                                   int
	Error                                                           string
	StartedAt, FinishedAt                                           time.Time // zero when never
	Health                                                          string    // "healthy", "unhealthy", "starting"; "" without a health check
}

// Port is one port of a container as docker ps lists it: published
// (IP and PublicPort set) or only exposed.
type Port struct {
	IP          string
	PrivatePort uint16
	PublicPort  uint16
	Type        string // tcp, udp, sctp
}

// MountPoint is one of a container's mount points as its config records
// it (MountPoints; Volumes before Docker 1.7).
type MountPoint struct {
	Type        string // volume, bind, tmpfs, npipe ...
	Name        string // a volume's name
	Source      string // the host path the config names (empty for most volumes)
	Destination string // the path in the container
	Driver      string // a volume's driver
	Mode        string
	RW          bool
	Propagation string
}

// details is the part of a container config shown by ps and inspect,
// read field by field: a field of the wrong shape is left out, never
// failing the container.
type details struct {
	Path           string
	Args           []string
	State          State
	ConfigImage    string
	Ports          []Port
	Labels         map[string]string
	Networks       []string
	Mounts         []MountPoint
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
	LogPath        string
}

// parseDetails reads what ps and inspect show from a container config.
func parseDetails(data []byte) details {
	var raw map[string]json.RawMessage
	var d details
	if json.Unmarshal(data, &raw) != nil {
		return d
	}
	get := func(key string, v any) { _ = json.Unmarshal(raw[key], v) }
	get("Path", &d.Path)
	get("Args", &d.Args)
	get("HostnamePath", &d.HostnamePath)
	get("HostsPath", &d.HostsPath)
	get("ResolvConfPath", &d.ResolvConfPath)
	get("LogPath", &d.LogPath)
	d.State = parseState(raw["State"])
	var cfg struct {
		Image  json.RawMessage
		Labels json.RawMessage
	}
	get("Config", &cfg)
	_ = json.Unmarshal(cfg.Image, &d.ConfigImage)
	_ = json.Unmarshal(cfg.Labels, &d.Labels)
	var ns struct {
		Ports    json.RawMessage
		Networks map[string]json.RawMessage
	}
	get("NetworkSettings", &ns)
	d.Ports = parsePorts(ns.Ports)
	for n := range ns.Networks {
		d.Networks = append(d.Networks, n)
	}
	sort.Strings(d.Networks)
	d.Mounts = parseMountPoints(raw["MountPoints"], raw["Volumes"], raw["VolumesRW"])
	return d
}

func parseState(raw json.RawMessage) State {
	var s struct {
		Running, Paused, Restarting, OOMKilled, Dead, RemovalInProgress bool
		Pid, ExitCode                                                   int
		Error                                                           string
		StartedAt, FinishedAt                                           string
		Health                                                          *struct{ Status string }
	}
	if json.Unmarshal(raw, &s) != nil {
		// Field by field, so that one odd value keeps the rest.
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		for k, v := range map[string]any{"Running": &s.Running, "Paused": &s.Paused, "Restarting": &s.Restarting,
			"Dead": &s.Dead, "ExitCode": &s.ExitCode, "StartedAt": &s.StartedAt, "FinishedAt": &s.FinishedAt} {
			_ = json.Unmarshal(m[k], v)
		}
	}
	st := State{Running: s.Running, Paused: s.Paused, Restarting: s.Restarting, OOMKilled: s.OOMKilled,
		Dead: s.Dead, RemovalInProgress: s.RemovalInProgress, Pid: s.Pid, ExitCode: s.ExitCode, Error: s.Error,
		StartedAt: dockerTime(s.StartedAt), FinishedAt: dockerTime(s.FinishedAt)}
	if s.Health != nil {
		st.Health = s.Health.Status
	}
	return st
}

// dockerTime is parseTime, with Go's zero time ("0001-01-01T00:00:00Z",
// what Docker writes for never) as zero.
func dockerTime(s string) time.Time {
	t := parseTime(s)
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// parsePorts reads NetworkSettings.Ports: {"80/tcp": [{"HostIp", "HostPort"}] or null}.
func parsePorts(raw json.RawMessage) []Port {
	var m map[string][]struct{ HostIp, HostPort string }
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []Port
	for key, bindings := range m {
		num, proto, _ := strings.Cut(key, "/")
		if proto == "" {
			proto = "tcp"
		}
		priv, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue
		}
		if len(bindings) == 0 {
			out = append(out, Port{PrivatePort: uint16(priv), Type: proto})
			continue
		}
		for _, b := range bindings {
			pub, _ := strconv.ParseUint(b.HostPort, 10, 16)
			out = append(out, Port{IP: b.HostIp, PrivatePort: uint16(priv), PublicPort: uint16(pub), Type: proto})
		}
	}
	sortPorts(out)
	return out
}

func sortPorts(ps []Port) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		switch {
		case a.PrivatePort != b.PrivatePort:
			return a.PrivatePort < b.PrivatePort
		case a.IP != b.IP:
			return a.IP < b.IP
		case a.PublicPort != b.PublicPort:
			return a.PublicPort < b.PublicPort
		}
		return a.Type < b.Type
	})
}

// parseMountPoints reads MountPoints (Docker 1.7 on), or the Volumes and
// VolumesRW maps of older configs, sorted by destination.
func parseMountPoints(mps, vols, volsRW json.RawMessage) []MountPoint {
	var out []MountPoint
	var m map[string]struct {
		Type, Name, Source, Destination, Driver, Mode, Propagation string
		RW                                                         bool
	}
	if json.Unmarshal(mps, &m) == nil && len(m) > 0 {
		for dest, mp := range m {
			if mp.Destination == "" {
				mp.Destination = dest
			}
			if mp.Type == "" { // before Docker 1.13
				mp.Type = "bind"
				if mp.Name != "" {
					mp.Type = "volume"
				}
			}
			out = append(out, MountPoint{Type: mp.Type, Name: mp.Name, Source: mp.Source, Destination: mp.Destination,
				Driver: mp.Driver, Mode: mp.Mode, RW: mp.RW, Propagation: mp.Propagation})
		}
	} else {
		var v map[string]string
		var rw map[string]bool
		_ = json.Unmarshal(vols, &v)
		_ = json.Unmarshal(volsRW, &rw)
		for dest, src := range v {
			out = append(out, MountPoint{Type: "bind", Source: src, Destination: dest, RW: rw[dest]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out
}

// Command is what docker ps shows as COMMAND, before quoting: the path
// and the arguments, those with a space in single quotes.
func (c *Container) Command() string {
	if len(c.Args) == 0 {
		return c.Path
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		args[i] = a
	}
	return c.Path + " " + strings.Join(args, " ")
}

// LayoutOfDriver is the layout of the tree of storage driver name: for
// aufs, pre-1.10 or 1.10+; 0 when the store has no such tree.
func (s *Store) LayoutOfDriver(name string) Layout {
	for _, p := range s.parts {
		if p.drv.name() == name {
			return p.layout
		}
	}
	return 0
}

// ImageIDOf is the id of the image ref names in the tree of storage
// driver driver (a tag, a digest reference, an id or a unique prefix of
// one), as docker ps resolves a container's Config.Image; "" when it
// names no image.
func (s *Store) ImageIDOf(driver, ref string) string {
	for _, p := range s.parts {
		if p.drv.name() != driver {
			continue
		}
		if kind, id := p.matchID(ref); kind == KindImage {
			return id
		}
		lookup := p.tagOf
		if p.layout == LayoutContainers {
			lookup = p.csLookup
		}
		if e, ok, _ := lookup(ref); ok && e.err == nil {
			return e.id
		}
		if imgs, _ := p.matchPrefix(ref); len(imgs) == 1 {
			return imgs[0]
		}
	}
	return ""
}

// HostConfig returns the hostconfig.json of container target t, byte for
// byte; nil when it has none.
func (s *Store) HostConfig(t *Target) ([]byte, error) {
	p, err := s.part(t)
	if err != nil {
		return nil, err
	}
	if t.Container == nil {
		return nil, errors.New(t.Ref + ": not a container")
	}
	f := filepath.Join(p.root, "containers", t.Container.ID, "hostconfig.json")
	data, err := readFile(f, maxJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, corrupt(f, err)
	}
	return data, nil
}
