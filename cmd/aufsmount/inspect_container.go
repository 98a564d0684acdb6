package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore"
)

// containerInspect is a container as docker inspect prints it; the
// fields the config holds are passed on as they are.
type containerInspect struct {
	Id              json.RawMessage
	Created         json.RawMessage
	Path            json.RawMessage
	Args            json.RawMessage
	State           any
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
	GraphDriver     graphDriverJSON
	Mounts          []mountJSON
	Config          json.RawMessage
	NetworkSettings any // *networkSettingsJSON, or what the config holds where it is not of that shape
	AufsMount       *viewJSON
}

type mountJSON struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// viewJSON is aufsmount's part of inspect: what a view shows over the
// layers, what it cannot show, and what was worked around.
type viewJSON struct {
	Binds    []bindJSON    `json:",omitempty"`
	NotShown []unshownJSON `json:",omitempty"`
	Warnings []string      `json:",omitempty"`
}

type bindJSON struct {
	Destination string
	Source      string // the path in the store
	Kind        string
}

type unshownJSON struct {
	Destination string
	Source      string
	Kind        string
	Reason      string
}

// stateJSON is a container's State as docker inspect prints it.
type stateJSON struct {
	Status                                 string
	Running, Paused, Restarting, OOMKilled bool
	Dead                                   bool
	Pid, ExitCode                          int
	Error, StartedAt, FinishedAt           string
	Health                                 json.RawMessage `json:",omitempty"`
}

func (e *env) inspectContainer(s layerstore.Source, t *layerstore.Target) (*containerInspect, error) {
	data, _, err := s.ContainerConfig(t)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	host, err := s.HostConfig(t)
	if err != nil {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s: %s\n", t.Ref, oneLine(err.Error()))
	}
	ct := t.Container
	out := &containerInspect{
		Id: raw["ID"], Created: raw["Created"], Path: raw["Path"], Args: raw["Args"], Image: raw["Image"],
		ResolvConfPath: raw["ResolvConfPath"], HostnamePath: raw["HostnamePath"], HostsPath: raw["HostsPath"],
		LogPath: raw["LogPath"], Name: raw["Name"], RestartCount: raw["RestartCount"], Driver: raw["Driver"],
		Platform: platform(raw), MountLabel: raw["MountLabel"], ProcessLabel: raw["ProcessLabel"],
		AppArmorProfile: raw["AppArmorProfile"], ExecIDs: raw["ExecIDs"], HostConfig: json.RawMessage(host),
		GraphDriver: graphDriver(t), Mounts: []mountJSON{}, Config: raw["Config"], NetworkSettings: networkSettings(raw["NetworkSettings"]),
		AufsMount: &viewJSON{Warnings: t.Warnings},
	}
	if len(host) == 0 {
		out.HostConfig = nil
	}
	st := stateJSON{}
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
		out.Mounts = append(out.Mounts, mountJSON{Type: m.Type, Name: m.Name, Source: src, Destination: m.Destination,
			Driver: m.Driver, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation})
	}
	for _, b := range t.Binds {
		out.AufsMount.Binds = append(out.AufsMount.Binds, bindJSON{Destination: b.Dest, Source: filepath.Join(s.Root(), b.Source), Kind: b.Kind})
	}
	for _, u := range t.Unshown {
		out.AufsMount.NotShown = append(out.AufsMount.NotShown, unshownJSON{Destination: u.Dest, Source: u.Source, Kind: u.Kind, Reason: u.Why})
	}
	return out, nil
}
