package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
)

func (e *env) inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print what the store says of images or containers, like docker inspect",
		UsageText: "aufsmount [--root DIR] inspect [-f FORMAT] [--type image|container] REF...",
		Description: `Prints a JSON array with one object for each REF, shaped as docker inspect
prints it. For an image: Id, RepoTags, RepoDigests, Parent, Comment,
Created, Container, ContainerConfig, DockerVersion, Author, Config,
Architecture, Os, Size, VirtualSize, GraphDriver, RootFS and Metadata,
from its config. For a container: its config (config.v2.json,
config.json before Docker 1.10) with HostConfig from hostconfig.json,
NetworkSettings as docker shapes it, Platform, GraphDriver, Mounts,
and State as docker shows it, plus "AufsMount": what a view of it shows
over its layers (Binds: its /etc/hosts, volumes ... with where they are
in the store) and what it cannot show (NotShown: host paths, tmpfs,
volumes of other drivers, each with why). Paths in GraphDriver and
Mounts are where the store has them now.

A REF is looked for as docker inspect looks: among containers first,
then among images; --type image or --type container looks among those
only.

-f takes a Go template, run on each object as docker's -f is:
{{.Config.Env}}, {{json .State}}, {{.NetworkSettings.IPAddress}}. A
field docker's own types have prints empty where the store has nothing
for it; a field nothing has is an error.

Examples:
   aufsmount inspect busybox:latest
   aufsmount inspect -f '{{.State.Status}} {{.State.ExitCode}}' web`,
		Flags: append(storeFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "print each object with the Go template `FORMAT`"},
			&cli.StringFlag{Name: "type", Usage: "look for images only (`TYPE` image) or containers only (container)"}),
		Action: e.inspectAction,
	}
}

type graphDriverJSON struct {
	Data map[string]string
	Name string
}

type rootFSJSON struct {
	Type   string
	Layers []string
}

type imageMetadataJSON struct {
	LastTagTime time.Time
}

// imageInspect is an image as docker inspect prints it.
type imageInspect struct {
	Id              string
	RepoTags        []string
	RepoDigests     []string
	Parent          string
	Comment         string
	Created         string
	Container       string
	ContainerConfig json.RawMessage
	DockerVersion   string
	Author          string
	Config          json.RawMessage
	Architecture    string
	Variant         string `json:",omitempty"`
	Os              string
	OsVersion       string `json:",omitempty"`
	Size            *int64
	VirtualSize     *int64
	GraphDriver     graphDriverJSON
	RootFS          *rootFSJSON        `json:",omitempty"`
	Metadata        *imageMetadataJSON `json:",omitempty"`
	AufsMount       *viewJSON          `json:",omitempty"`
}

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

func (e *env) inspectAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("inspect: expected at least one REF (see aufsmount inspect --help)")
	}
	format, typ := c.String("format"), c.String("type")
	if _, ok := inspectTypes[typ]; !ok {
		return usageErrorf("inspect: --type %s: not a type of the store (image or container)", typ)
	}
	var tmpl *template.Template
	if format != "" {
		var err error
		if tmpl, err = parseTemplate("inspect", format); err != nil {
			return err
		}
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	var out []any
	failed := false
	for _, ref := range c.Args().Slice() {
		t, err := e.inspectResolve(s, ref, typ)
		if err == nil {
			var v any
			if v, err = e.inspectTarget(s, t); err == nil {
				out = append(out, v)
				continue
			}
		}
		fmt.Fprintf(e.stderr, "aufsmount: %s\n", oneLine(err.Error()))
		failed = true
	}
	if tmpl != nil {
		var b bytes.Buffer
		for _, v := range out {
			data, err := templateData(v)
			if err != nil {
				return err
			}
			if err := tmpl.Execute(&b, data); err != nil {
				return fmt.Errorf("inspect: -f: %v", err)
			}
			b.WriteByte('\n')
		}
		if _, err := e.stdout.Write(b.Bytes()); err != nil {
			return err
		}
	} else if len(out) > 0 || !failed {
		if out == nil {
			out = []any{}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		if _, err := e.stdout.Write(unescapeHTML(b.Bytes())); err != nil {
			return err
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// htmlEscapes are the escapes json.Marshal writes for <, > and &.
var htmlEscapes = map[string]byte{`\u003c`: '<', `\u003e`: '>', `\u0026`: '&'}

// unescapeHTML undoes htmlEscapes in the JSON b: Docker wrote them into
// the configs, and docker inspect does not print them (its engine
// answers with them undone). Any other escape stays whole, so that an
// escaped backslash followed by "u003c" stays as it is.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] != '\\' || i+1 == len(b):
			out = append(out, b[i])
		case i+6 <= len(b) && htmlEscapes[string(b[i:i+6])] != 0:
			out = append(out, htmlEscapes[string(b[i:i+6])])
			i += 5
		default:
			out = append(out, b[i], b[i+1])
			i++
		}
	}
	return out
}

// inspectTypes are what --type takes.
var inspectTypes = map[string]layerstore.Kind{"": 0, "image": layerstore.KindImage, "container": layerstore.KindContainer}

// inspectResolve finds ref as docker inspect does: among containers
// first, then among images, or with typ among those only.
func (e *env) inspectResolve(s *layerstore.Store, ref, typ string) (*layerstore.Target, error) {
	var t *layerstore.Target
	var err error
	var nf *layerstore.NotFoundError
	if typ != "" {
		t, err = s.ResolveKind(ref, inspectTypes[typ])
		if errors.As(err, &nf) {
			if other, oerr := s.Resolve(ref); oerr == nil {
				return nil, fmt.Errorf("%s: no such %s (it names the %s %s)", ref, typ, kindName(other), other.Name)
			}
		}
	} else {
		t, err = s.ResolveKind(ref, layerstore.KindContainer)
		if errors.As(err, &nf) {
			t, err = s.ResolveKind(ref, layerstore.KindImage)
		}
	}
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s\n", oneLine(w))
	}
	return t, nil
}

// typedZeros are the fields docker's types have that its JSON leaves out
// when they are empty: its -f still finds them, nil or "", where a field
// of no type is an error.
var typedZeros = map[string]map[string]any{
	"container": {"SizeRw": (*int64)(nil), "SizeRootFs": (*int64)(nil), "Node": (*struct{})(nil)},
	"state":     {"Health": (*struct{})(nil)},
	"image":     {"Variant": "", "OsVersion": ""},
	// A container's Config, and an image's Config and ContainerConfig.
	"config": {"ExposedPorts": map[string]struct{}(nil), "Healthcheck": (*struct{})(nil), "ArgsEscaped": false,
		"NetworkDisabled": false, "MacAddress": "", "StopSignal": "", "StopTimeout": (*int)(nil), "Shell": []string(nil)},
}

// templateData is v as -f sees it: the JSON as printed, so that the
// fields are docker's, decoded as docker decodes it where its types do
// not answer (numbers as written: 207289555, not 2.07289555e+08), with
// typedZeros.
func templateData(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	// fill gives m[key] (m itself for "") the zeros it lacks.
	fill := func(m map[string]any, key string, zeros map[string]any) {
		if key != "" {
			if m, _ = m[key].(map[string]any); m == nil {
				return
			}
		}
		for k, z := range zeros {
			if _, ok := m[k]; !ok {
				m[k] = z
			}
		}
	}
	switch v.(type) {
	case *containerInspect:
		fill(m, "", typedZeros["container"])
		fill(m, "State", typedZeros["state"])
		fill(m, "Config", typedZeros["config"])
	case *imageInspect:
		fill(m, "", typedZeros["image"])
		fill(m, "Config", typedZeros["config"])
		fill(m, "ContainerConfig", typedZeros["config"])
		// A time.Time in docker's types, which prints as Go prints one.
		if md, ok := m["Metadata"].(map[string]any); ok {
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(md["LastTagTime"])); err == nil {
				md["LastTagTime"] = at
			}
		}
	}
	return m, nil
}

func (e *env) inspectTarget(s *layerstore.Store, t *layerstore.Target) (any, error) {
	if t.Kind == layerstore.KindContainer {
		return e.inspectContainer(s, t)
	}
	return e.inspectImage(s, t), nil
}

func (e *env) inspectImage(s *layerstore.Store, t *layerstore.Target) *imageInspect {
	img := t.Image
	graph := s.LayoutOfDriver(t.Driver) == layerstore.LayoutGraph
	out := &imageInspect{Id: "sha256:" + img.ID, RepoTags: []string{}, RepoDigests: []string{},
		GraphDriver: graphDriver(t)}
	if graph {
		out.Id = img.ID
	}
	for _, n := range img.Names {
		if _, tag, _ := splitName(n); tag != "" {
			out.RepoTags = append(out.RepoTags, n)
		} else {
			out.RepoDigests = append(out.RepoDigests, n)
		}
	}
	if img.Parent != "" {
		out.Parent = imageID(s, t.Driver, img.Parent, false)
	}
	var data []byte
	var err error
	if graph {
		data, err = s.GraphJSON(t, img.ID)
	} else {
		data, err = s.ImageConfig(t)
	}
	if err == nil {
		var cfg struct {
			Comment         string          `json:"comment"`
			Created         string          `json:"created"`
			Container       string          `json:"container"`
			ContainerConfig json.RawMessage `json:"container_config"`
			DockerVersion   string          `json:"docker_version"`
			Author          string          `json:"author"`
			Config          json.RawMessage `json:"config"`
			Architecture    string          `json:"architecture"`
			Variant         string          `json:"variant"`
			OS              string          `json:"os"`
			OSVersion       string          `json:"os.version"`
		}
		if err = json.Unmarshal(data, &cfg); err == nil {
			out.Comment, out.Created, out.Container, out.ContainerConfig = cfg.Comment, cfg.Created, cfg.Container, cfg.ContainerConfig
			out.DockerVersion, out.Author, out.Config, out.Architecture = cfg.DockerVersion, cfg.Author, cfg.Config, cfg.Architecture
			out.Variant, out.Os, out.OsVersion = cfg.Variant, cfg.OS, cfg.OSVersion
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s: %s\n", t.Ref, oneLine(err.Error()))
	}
	if n := newSizer().chain(t.Layers); n >= 0 {
		out.Size, out.VirtualSize = &n, &n
	}
	if !graph {
		out.RootFS = &rootFSJSON{Type: "layers", Layers: []string{}}
		for i := len(t.Layers) - 1; i >= 0; i-- {
			out.RootFS.Layers = append(out.RootFS.Layers, t.Layers[i].DiffID)
		}
		tagged, err := s.ImageTagged(t)
		if err != nil {
			fmt.Fprintf(e.stderr, "aufsmount: warning: %s: %s\n", t.Ref, oneLine(err.Error()))
		}
		out.Metadata = &imageMetadataJSON{LastTagTime: tagged}
	}
	if len(t.Warnings) > 0 {
		out.AufsMount = &viewJSON{Warnings: t.Warnings}
	}
	return out
}

func (e *env) inspectContainer(s *layerstore.Store, t *layerstore.Target) (*containerInspect, error) {
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
		st.Status = containerState(ct.State)
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

// graphDriver is GraphDriver as docker inspect shows it: the driver's
// name, and for the overlay drivers the directories a mount of the view
// would be made of (for aufs and vfs, docker gives none).
func graphDriver(t *layerstore.Target) graphDriverJSON {
	g := graphDriverJSON{Name: t.Driver}
	if len(t.Layers) == 0 {
		return g
	}
	top := filepath.Dir(t.Layers[0].Dir)
	switch t.Driver {
	case "overlay2", "fuse-overlayfs":
		g.Data = map[string]string{"MergedDir": filepath.Join(top, "merged"), "UpperDir": t.Layers[0].Dir, "WorkDir": filepath.Join(top, "work")}
		var lower []string
		for _, l := range t.Layers[1:] {
			lower = append(lower, l.Dir)
		}
		if len(lower) > 0 {
			g.Data["LowerDir"] = strings.Join(lower, ":")
		}
	case "overlay":
		if t.Kind == layerstore.KindImage {
			g.Data = map[string]string{"RootDir": t.Layers[0].Dir}
			break
		}
		g.Data = map[string]string{"MergedDir": filepath.Join(top, "merged"), "UpperDir": t.Layers[0].Dir, "WorkDir": filepath.Join(top, "work")}
		if n := len(t.Stack); n > 1 {
			g.Data["LowerDir"] = t.Stack[n-1].Dir
		}
	}
	return g
}
