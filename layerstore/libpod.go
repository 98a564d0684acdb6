package layerstore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Podman keeps what a container is (its command, volumes, labels) and its
// state in a database of its own beside the graphroot's: Podman 4's
// libpod/bolt_state.db, a bbolt file with a bucket "ctr" holding, per
// container id, the JSON "config" and "state"; without it, Podman 5's
// libpod/db.sql (libpod_sqlite.go). Either is opened read-only, without
// updating its atime; Podman 4's is given up on after a short wait when a
// live Podman holds its lock.

// libpodDB is where Podman 4 keeps its state under the graphroot.
const libpodDB = "libpod/bolt_state.db"

// libpodConfig is the part of libpod's ContainerConfig that is shown.
type libpodConfig struct {
	Spec *struct {
		Process *struct {
			Args []string `json:"args"`
		} `json:"process"`
		Annotations map[string]string `json:"annotations"`
	} `json:"spec"`
	RootfsImageName string            `json:"rootfsImageName"`
	RawImageName    string            `json:"RawImageName"`
	Labels          map[string]string `json:"labels"`
	NamedVolumes    []struct {
		Name    string   `json:"volumeName"`
		Dest    string   `json:"dest"`
		Options []string `json:"options"`
	} `json:"namedVolumes"`
}

// libpodState is the part of libpod's ContainerState that is shown.
type libpodState struct {
	State    int    `json:"state"`
	ExitCode int    `json:"exitCode"`
	PID      int    `json:"pid"`
	Started  string `json:"startedTime"`
	Finished string `json:"finishedTime"`
}

// libpod's ContainerStatus values (define.ContainerStatus).
const (
	libpodRunning = 3
	libpodPaused  = 5
)

// libpodDetails reads Podman's state of every container, by id. A store
// without one, or one that cannot be read, gives none; the latter is a
// problem of the store.
func (s *store) libpodDetails() map[string]details {
	p := filepath.Join(s.root, libpodDB)
	out, err := readLibpod(p)
	if errors.Is(err, os.ErrNotExist) {
		return s.libpodSQLDetails(filepath.Join(s.root, libpodSQL))
	}
	if err != nil {
		s.problem(corrupt(p, err))
	}
	return out
}

// readLibpod reads the containers of a Podman 4 state database.
func readLibpod(p string) (map[string]details, error) {
	db, err := openBolt(p, "Podman")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[string]details{}
	err = db.View(func(tx *bolt.Tx) error {
		ctrs := tx.Bucket([]byte("ctr"))
		if ctrs == nil {
			return nil
		}
		return ctrs.ForEach(func(k, v []byte) error {
			b := ctrs.Bucket(k)
			if v != nil || b == nil || !isHexID(string(k)) {
				return nil
			}
			out[string(k)] = libpodContainer(b.Get([]byte("config")), b.Get([]byte("state")))
			return nil
		})
	})
	return out, err
}

// libpodContainer is what ps and inspect show of a container from its
// config and state JSON; a part that does not parse is left out.
func libpodContainer(config, state []byte) details {
	var d details
	var c libpodConfig
	if json.Unmarshal(config, &c) == nil {
		if c.Spec != nil && c.Spec.Process != nil && len(c.Spec.Process.Args) > 0 {
			d.Path, d.Args = c.Spec.Process.Args[0], c.Spec.Process.Args[1:]
		}
		// The name it was made from, in full as podman ps shows it.
		d.ConfigImage = c.RootfsImageName
		if d.ConfigImage == "" {
			d.ConfigImage = c.RawImageName
		}
		d.Labels = c.Labels
		for _, v := range c.NamedVolumes {
			d.Mounts = append(d.Mounts, MountPoint{Type: "volume", Name: v.Name, Destination: v.Dest, Driver: "local", RW: !slices.Contains(v.Options, "ro")})
		}
		sort.Slice(d.Mounts, func(i, j int) bool { return d.Mounts[i].Destination < d.Mounts[j].Destination })
	}
	var st libpodState
	if json.Unmarshal(state, &st) == nil {
		d.State = State{Running: st.State == libpodRunning, Paused: st.State == libpodPaused, ExitCode: st.ExitCode,
			StartedAt: dockerTime(st.Started), FinishedAt: dockerTime(st.Finished)}
		if d.State.Running || d.State.Paused {
			d.State.Pid = st.PID
		}
	}
	return d
}
