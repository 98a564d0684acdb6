package inspect

import (
	"encoding/json"
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore"
)

// Container is a container as docker inspect prints it; the fields its
// config holds are passed on as they are.
type Container struct {
	Id              json.RawMessage // sic: docker spells it so
	Created         json.RawMessage
	Path            json.RawMessage
	Args            json.RawMessage
	State           any // State, or what the config holds where it is not of that shape
	Image           json.RawMessage
	ResolvConfPath  json.RawMessage
	HostnamePath    json.RawMessage
	HostsPath       json.RawMessage
	LogPath         json.RawMessage
	Name            json.RawMessage
	RestartCount    json.RawMessage
	Driver          json.RawMessage
	Platform        json.RawMessage
	MountLabel      json.RawMessage
	ProcessLabel    json.RawMessage
	AppArmorProfile json.RawMessage
	ExecIDs         json.RawMessage
	HostConfig      json.RawMessage
	GraphDriver     GraphDriver
	Mounts          []Mount
	Config          json.RawMessage
	NetworkSettings any // *NetworkSettings, or what the config holds where it is not of that shape
	AufsMount       *View
}

// Mount is one of a container's mounts as docker inspect prints it.
type Mount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// State is a container's State as docker inspect prints it.
type State struct {
	Status                                 string
	Running, Paused, Restarting, OOMKilled bool
	Dead                                   bool
	Pid, ExitCode                          int
	Error, StartedAt, FinishedAt           string
	Health                                 json.RawMessage `json:",omitempty"`
}

// containerOf is t, a container of s, as docker inspect prints it: its
// config with HostConfig from hostconfig.json, State with docker's
// Status, NetworkSettings and Platform as docker shapes them, its mounts
// where the store has them now, and what its view shows over its layers
// and cannot show.
func containerOf(s layerstore.Source, t *layerstore.Target) (*Container, []error, error) {
	data, _, err := s.ContainerConfig(t)
	if err != nil {
		return nil, nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, err
	}
	var warnings []error
	host, err := s.HostConfig(t)
	if err != nil {
		warnings = append(warnings, err)
	}
	ct := t.Container
	out := &Container{
		Id: raw["ID"], Created: raw["Created"], Path: raw["Path"], Args: raw["Args"], Image: raw["Image"],
		ResolvConfPath: raw["ResolvConfPath"], HostnamePath: raw["HostnamePath"], HostsPath: raw["HostsPath"],
		LogPath: raw["LogPath"], Name: raw["Name"], RestartCount: raw["RestartCount"], Driver: raw["Driver"],
		Platform: platform(raw), MountLabel: raw["MountLabel"], ProcessLabel: raw["ProcessLabel"],
		AppArmorProfile: raw["AppArmorProfile"], ExecIDs: raw["ExecIDs"], HostConfig: json.RawMessage(host),
		GraphDriver: graphDriver(t), Mounts: []Mount{}, Config: raw["Config"], NetworkSettings: networkSettings(raw["NetworkSettings"]),
		AufsMount: &View{Warnings: t.Warnings},
	}
	if len(host) == 0 {
		out.HostConfig = nil
	}
	st := State{}
	if json.Unmarshal(raw["State"], &st) == nil {
		st.Status = ct.State.StateString()
		if string(st.Health) == "null" {
			st.Health = nil // docker leaves it out
		}
		out.State = st
	} else {
		out.State = raw["State"]
	}
	for _, m := range ct.Mounts {
		src := m.Source
		if m.Type == "volume" && (m.Driver == "" || m.Driver == "local") && src == "" {
			src = filepath.Join(s.Root(), "volumes", m.Name, "_data")
			for _, b := range t.Binds { // where the store has it: in a host's filesystem, under the store's root
				if b.Kind == "volume" && b.Name == m.Name {
					src = filepath.Join(s.Root(), b.Source)
				}
			}
		}
		out.Mounts = append(out.Mounts, Mount{Type: m.Type, Name: m.Name, Source: src, Destination: m.Destination,
			Driver: m.Driver, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation})
	}
	for _, b := range t.Binds {
		out.AufsMount.Binds = append(out.AufsMount.Binds, Bind{Destination: b.Dest, Source: filepath.Join(s.Root(), b.Source), Kind: b.Kind})
	}
	for _, u := range t.Unshown {
		out.AufsMount.NotShown = append(out.AufsMount.NotShown, Unshown{Destination: u.Dest, Source: u.Source, Kind: u.Kind, Reason: u.Why})
	}
	return out, warnings, nil
}
