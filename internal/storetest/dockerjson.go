package storetest

import (
	"encoding/json"
	"os"
	"time"
)

// The JSON shapes below follow the structs Docker marshalled, field order
// and tags included, trimmed to the fields that matter for a reader.

const (
	graphDockerVersion = "1.9.1"
	casDockerVersion   = "1.10.3"
	defaultPath        = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// runConfig is Docker's container config (runconfig.Config, later
// container.Config).
type runConfig struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	OnBuild      []string
	Labels       map[string]string
}

func imageRunConfig() *runConfig {
	return &runConfig{Env: []string{defaultPath}, Cmd: []string{"sh"}}
}

// buildRunConfig is the container_config of the build step that made l.
func buildRunConfig(l *Layer, parent string) *runConfig {
	return &runConfig{Env: []string{defaultPath}, Cmd: cmdOf(l), Image: parent}
}

// v1Image is graph/<id>/json (image.Image of Docker 1.9).
type v1Image struct {
	ID              string     `json:"id"`
	Parent          string     `json:"parent,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	Created         time.Time  `json:"created"`
	Container       string     `json:"container,omitempty"`
	ContainerConfig *runConfig `json:"container_config,omitempty"`
	DockerVersion   string     `json:"docker_version,omitempty"`
	Author          string     `json:"author,omitempty"`
	Config          *runConfig `json:"config,omitempty"`
	Architecture    string     `json:"architecture,omitempty"`
	OS              string     `json:"os,omitempty"`
	Size            int64      `json:"Size"`
}

// history is one entry of an image config's "history".
type history struct {
	Created    time.Time `json:"created"`
	Author     string    `json:"author,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	EmptyLayer bool      `json:"empty_layer,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids,omitempty"`
}

// imageConfig is an image config of the 1.10+ store. Docker marshals it
// with its top-level keys sorted (image.Image.MarshalJSON), as a map does.
func imageConfig(created time.Time, top *Layer, hist []history, diffIDs []string) map[string]any {
	return map[string]any{
		"architecture":     "amd64",
		"config":           imageRunConfig(),
		"container":        hexID("build container", created.String(), top.CreatedBy),
		"container_config": buildRunConfig(top, ""),
		"created":          created,
		"docker_version":   casDockerVersion,
		"history":          hist,
		"os":               "linux",
		"rootfs":           rootFS{Type: "layers", DiffIDs: diffIDs},
	}
}

type containerState struct {
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// containerConfig is containers/<cid>/config.json (pre-1.10) and
// config.v2.json (1.10+): the fields both have.
type containerConfig struct {
	State                  containerState
	ID                     string
	Created                time.Time
	Path                   string
	Args                   []string
	Config                 *runConfig
	Image                  string
	NetworkSettings        map[string]any
	LogPath                string
	Name                   string
	Driver                 string
	ExecDriver             string `json:",omitempty"`
	MountLabel             string
	ProcessLabel           string
	RestartCount           int
	HasBeenStartedBefore   bool
	HasBeenManuallyStopped bool
	MountPoints            map[string]any
	AppArmorProfile        string
	HostnamePath           string
	HostsPath              string
	ResolvConfPath         string
}

type restartPolicy struct {
	Name              string
	MaximumRetryCount int
}

type hostConfig struct {
	Binds         []string
	NetworkMode   string
	RestartPolicy restartPolicy
}

func writeJSON(p string, v any, mode os.FileMode) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFile(p, b, mode)
}
