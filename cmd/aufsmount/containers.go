package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) containersCommand() *cli.Command {
	return &cli.Command{
		Name:      "containers",
		Aliases:   []string{"ps"},
		Usage:     "list the store's containers, like docker ps -a",
		UsageText: "aufsmount [--root DIR] containers [-a] [-q] [--no-trunc] [--format FORMAT | --json]",
		Description: `Lists every container of the store, newest first, as docker ps -a does:
CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS and NAMES. Nothing
runs in an offline store, so every container is listed (-a is accepted
and changes nothing). STATUS is what the store says of the container:
"Exited (127) 3 years ago", "Created", or, for one that was running when
the store was copied, "Up 5 hours (running when copied)". A container
can be mounted by id, id prefix or name: the view is its image with its
own changes on top, and its volumes and /etc/hosts as Docker mounted them.

--format takes docker's fields: .ID .Image .Command .CreatedAt
.RunningFor .Ports .Status .State .Names .Labels .Mounts .Networks, and
aufsmount's .Driver.

Examples:
   aufsmount containers
   aufsmount ps -q
   aufsmount ps --format '{{.Names}}: {{.Status}}'
   aufsmount ps --json`,
		Flags: append(storeFlags(), jsonFlag(), noTruncFlag(),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also list Kubernetes pods' sandbox (pause) containers, left out otherwise as crictl ps leaves them out; every other container is listed anyway"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "list only the containers with label `label=KEY[=VALUE]` (several: all of them), as docker ps takes it"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print the container ids only"},
			formatFlag(".ID .Image .Command .CreatedAt .RunningFor .Ports .Status .State .Names .Labels .Mounts .Networks .Driver"),
		),
		Action: e.containersAction,
	}
}

// containerJSON is one container in containers --json.
type containerJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Image     string   `json:"image"`
	ImageID   string   `json:"image_id"`
	Command   string   `json:"command"`
	Created   string   `json:"created,omitempty"`   // RFC 3339; absent when unknown
	State     string   `json:"state"`               // created, running, paused, restarting, exited, dead, removing
	Status    string   `json:"status"`              // as ps prints it
	Ports     string   `json:"ports"`               // as ps prints them
	LayerIDs  []string `json:"layer_ids"`           // top first: writable, init, the image's chain
	Layers    []string `json:"layers"`              // layer_ids, under the name it had first; kept for the scripts that use it
	Error     string   `json:"error,omitempty"`     // why LayerIDs could not be resolved
	Driver    string   `json:"driver"`              // the storage driver of its layers
	Store     string   `json:"store,omitempty"`     // in a host's filesystem, the store that holds it
	Namespace string   `json:"namespace,omitempty"` // the containerd namespace that holds it
	Sandbox   bool     `json:"sandbox,omitempty"`   // a Kubernetes pod's sandbox (pause) container
}

var containerHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "State": "STATE", "Names": "NAMES",
	"Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "Size": "SIZE", "Driver": "DRIVER", "Store": "STORE", "Namespace": "NAMESPACE",
}

// commandWidth is where docker ps cuts COMMAND.
const commandWidth = 20

func (e *env) containersAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("containers: takes no arguments (see aufsmount containers --help)")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	e.warnProblems(s)
	format, trunc := c.String("format"), !c.Bool("no-trunc")
	if c.Bool("json") && (format != "" || c.Bool("quiet")) {
		return usageErrorf("containers: --json goes with neither --format nor -q")
	}
	filter, err := layerstore.ParseFilter(c.StringSlice("filter"))
	if err != nil {
		return usageErrorf("containers: %v", err)
	}
	containers := layerstore.ListContainers(s, filter, c.Bool("all"))
	now := e.now()
	if c.Bool("json") {
		out := make([]containerJSON, 0, len(containers))
		for _, ct := range containers {
			j := containerJSON{ID: ct.ID, Name: ct.Name, Image: layerstore.ContainerImage(s, &ct, false), ImageID: ct.ImageID,
				Command: ct.Command(), Created: rfc3339(ct.Created), State: ct.State.StateString(),
				Status: ct.State.Status(now), Ports: layerstore.DisplayPorts(ct.Ports), LayerIDs: []string{}, Layers: []string{}, Driver: ct.Driver, Store: ct.Store,
				Namespace: ct.Namespace, Sandbox: ct.Sandbox}
			// The full id cannot be ambiguous, and Resolve checks the chain.
			t, err := s.ResolveIn(ct.Tree(), ct.ID)
			if err != nil {
				j.Error = err.Error()
				fmt.Fprintf(e.stderr, "aufsmount: warning: container %s: %s\n", layerstore.ShortID(ct.ID), oneLine(err.Error()))
			} else {
				for _, l := range t.Layers {
					j.LayerIDs = append(j.LayerIDs, l.ID)
				}
				j.Layers = j.LayerIDs
			}
			out = append(out, j)
		}
		return writeJSON(e.stdout, out)
	}
	id := func(ct *layerstore.Container) string {
		if trunc {
			return layerstore.ShortID(ct.ID)
		}
		return ct.ID
	}
	if c.Bool("quiet") {
		var b strings.Builder
		for i := range containers {
			b.WriteString(id(&containers[i]) + "\n")
		}
		_, err := io.WriteString(e.stdout, b.String())
		return err
	}
	l := &listing{headers: containerHeaders,
		def: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"}
	if len(s.Drivers()) > 1 {
		l.def += "\t{{.Driver}}"
	}
	if layerstore.Namespaces(s) > 1 { // containerd's: its names are per namespace
		l.def = strings.Replace(l.def, "table ", "table {{.Namespace}}\t", 1)
	}
	if len(s.Stores()) > 1 { // a host's filesystem
		l.def = strings.Replace(l.def, "table ", "table {{.Store}}\t", 1)
	}
	for i := range containers {
		ct := &containers[i]
		cmd := ct.Command()
		if trunc {
			cmd = ellipsis(cmd, commandWidth)
		}
		row := map[string]string{
			"ID": id(ct), "Image": layerstore.ContainerImage(s, ct, trunc), "Command": strconv.Quote(cmd),
			"CreatedAt": dockerTime(ct.Created), "RunningFor": relativeTime(ct.Created, now),
			"Ports": layerstore.DisplayPorts(ct.Ports), "Status": ct.State.Status(now), "State": ct.State.StateString(),
			"Names": ct.Name, "Labels": joinLabels(ct.Labels), "Mounts": mountNames(ct.Mounts, trunc),
			"Networks": strings.Join(ct.Networks, ","), "Size": "N/A", "Driver": ct.Driver,
		}
		if ct.Store != "" { // a host's filesystem; docker's {{json .}} has no such field
			row["Store"] = ct.Store
		}
		if ct.Namespace != "" {
			row["Namespace"] = ct.Namespace
		}
		l.rows = append(l.rows, row)
	}
	width := 0
	if trunc {
		width = terminalWidth(e.stdout)
	}
	return l.print(e.stdout, "containers", format, width)
}

func joinLabels(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// mountNames is MOUNTS as docker ps shows it: each mount's volume name
// or source, cut to 15 characters unless --no-trunc.
func mountNames(mounts []layerstore.MountPoint, trunc bool) string {
	var out []string
	for _, m := range mounts {
		n := m.Name
		if n == "" {
			n = m.Source
		}
		if trunc {
			n = ellipsis(n, 15)
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}
