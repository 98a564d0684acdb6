package storetest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Podman 4's own state: libpod/bolt_state.db, a bbolt database laid out
// as libpod's boltdb_state.go (v4.3) keeps it, checked against one
// Podman 4.3 wrote. Each container is ctr/<id>/ with the keys config
// (ContainerConfig) and state (ContainerState) and the buckets
// dependencies/ and networks/; each volume vol/<name>/ with config,
// state and vol-dependencies/ (the containers using it); id-registry,
// name-registry and all-ctrs map ids and names; runtime-config holds the
// paths Podman checks against its own. The JSON is trimmed to what Podman
// reads back to list, mount and inspect a container.

// Podman's ContainerStatus (libpod/define/containerstate.go).
const (
	libpodConfigured = 1 // created, never started
	libpodExited     = 6 // ran, stopped and cleaned up
)

type libpodProcess struct {
	User struct {
		UID int `json:"uid"`
		GID int `json:"gid"`
	} `json:"user"`
	Args         []string `json:"args"`
	Env          []string `json:"env"`
	Cwd          string   `json:"cwd"`
	Capabilities struct {
		Bounding  []string `json:"bounding"`
		Effective []string `json:"effective"`
		Permitted []string `json:"permitted"`
	} `json:"capabilities"`
}

// libpodCaps are the capabilities Podman 4.3 gives a container.
var libpodCaps = []string{"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD",
	"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}

type libpodSpec struct {
	OCIVersion string        `json:"ociVersion"`
	Process    libpodProcess `json:"process"`
	Root       struct {
		Path string `json:"path"`
	} `json:"root"`
	Linux struct {
		Namespaces []libpodNamespace `json:"namespaces"`
	} `json:"linux"`
}

type libpodNamespace struct {
	Type string `json:"type"`
}

type libpodNamedVolume struct {
	Name    string   `json:"volumeName"`
	Dest    string   `json:"dest"`
	Options []string `json:"options,omitempty"`
}

// libpodConfig is libpod's ContainerConfig, the fields that matter.
type libpodConfig struct {
	Spec            *libpodSpec         `json:"spec"`
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	LockID          uint32              `json:"lockID"`
	RawImageName    string              `json:"RawImageName,omitempty"`
	RootfsImageID   string              `json:"rootfsImageID,omitempty"`
	RootfsImageName string              `json:"rootfsImageName,omitempty"`
	ShmDir          string              `json:"ShmDir,omitempty"`
	ShmSize         int64               `json:"shmSize"`
	StaticDir       string              `json:"staticDir"`
	Mounts          []string            `json:"mounts,omitempty"`
	NamedVolumes    []libpodNamedVolume `json:"namedVolumes,omitempty"`
	SecretsPath     string              `json:"secretsPath,omitempty"`
	LabelOpts       []string            `json:"labelopts,omitempty"`
	CreateNetNS     bool                `json:"createNetNS"`
	NetworkMode     string              `json:"networkMode,omitempty"`
	UserVolumes     []string            `json:"userVolumes,omitempty"`
	Command         []string            `json:"command,omitempty"`
	StopSignal      uint                `json:"stopSignal,omitempty"`
	StopTimeout     uint                `json:"stopTimeout,omitempty"`
	CreatedTime     time.Time           `json:"createdTime"`
	CgroupManager   string              `json:"cgroupManager,omitempty"`
	CgroupParent    string              `json:"cgroupParent,omitempty"`
	LogPath         string              `json:"logPath"`
	LogDriver       string              `json:"logDriver,omitempty"`
}

// libpodState is libpod's ContainerState, the fields that matter.
type libpodState struct {
	State        int       `json:"state"`
	RunDir       string    `json:"runDir,omitempty"`
	StartedTime  time.Time `json:"startedTime"`
	FinishedTime time.Time `json:"finishedTime"`
	ExitCode     int32     `json:"exitCode,omitempty"`
	Exited       bool      `json:"exited,omitempty"`
}

type libpodVolumeConfig struct {
	Name         string            `json:"name"`
	LockID       uint32            `json:"lockID"`
	Labels       map[string]string `json:"labels"`
	VolumeDriver string            `json:"volumeDriver"`
	MountPoint   string            `json:"mountPoint"`
	CreatedTime  time.Time         `json:"createdAt"`
	IsAnon       bool              `json:"isAnon"`
	UID          int               `json:"uid"`
	GID          int               `json:"gid"`
}

type libpodVolumeState struct {
	MountCount    uint `json:"mountCount"`
	NotYetMounted bool `json:"notYetMounted,omitempty"`
	NotYetChowned bool `json:"notYetChowned,omitempty"`
}

// bucket is one bucket to write: its keys and its buckets.
type bucket struct {
	keys map[string][]byte
	subs map[string]*bucket
}

func newBucket() *bucket { return &bucket{keys: map[string][]byte{}, subs: map[string]*bucket{}} }

// sub is the bucket name under b, made when missing.
func (b *bucket) sub(name string) *bucket {
	if b.subs[name] == nil {
		b.subs[name] = newBucket()
	}
	return b.subs[name]
}

func (b *bucket) put(tx *bolt.Bucket) error {
	for k, v := range b.keys {
		if err := tx.Put([]byte(k), v); err != nil {
			return err
		}
	}
	for name, s := range b.subs {
		sb, err := tx.CreateBucket([]byte(name))
		if err != nil {
			return err
		}
		if err := s.put(sb); err != nil {
			return err
		}
	}
	return nil
}

// libpod writes libpod/bolt_state.db.
func (w *csWriter) libpod() error {
	runRoot := w.s.RunRoot
	if runRoot == "" {
		runRoot = "/run/containers/storage"
	}
	top := newBucket()
	for _, name := range []string{"allPods", "exec", "exit-code", "exit-code-time-stamp", "ns-registry", "pod", "volume-ctrs", "all-ctrs", "allVolumes", "ctr", "vol", "id-registry", "name-registry"} {
		top.sub(name)
	}
	rc := top.sub("runtime-config")
	for k, v := range map[string]string{"graph-driver-name": w.driver, "graph-root": w.root, "os": "linux", "run-root": runRoot,
		"static-dir": w.path("libpod"), "tmp-dir": "/run/libpod", "volume-path": w.path("volumes")} {
		rc.keys[k] = []byte(v)
	}
	var lock uint32
	for _, c := range w.s.Containers {
		cid := w.b.ContainerID[c]
		userdata := w.path(w.driver+"-containers", cid, "userdata")
		cmd := c.Command
		if cmd == nil {
			cmd = []string{"sh"}
		}
		spec := &libpodSpec{OCIVersion: "1.0.2-dev"}
		spec.Process.Args, spec.Process.Cwd = cmd, "/"
		spec.Process.Env = []string{defaultPath, "TERM=xterm", "container=podman"}
		spec.Root.Path = "rootfs"
		caps := &spec.Process.Capabilities
		caps.Bounding, caps.Effective, caps.Permitted = libpodCaps, libpodCaps, libpodCaps
		spec.Linux.Namespaces = []libpodNamespace{{"pid"}, {"network"}, {"ipc"}, {"uts"}, {"mount"}}
		cfg := libpodConfig{Spec: spec, ID: cid, Name: c.Name, LockID: lock,
			RawImageName: w.imageName(c.Image), RootfsImageID: w.b.ImageID[c.Image], RootfsImageName: w.imageName(c.Image),
			ShmDir: filepath.Join(userdata, "shm"), ShmSize: 65536000, StaticDir: userdata,
			Mounts: []string{filepath.Join(userdata, "shm")}, SecretsPath: filepath.Join(userdata, "secrets"),
			LabelOpts: []string{"disable"}, CreateNetNS: true, NetworkMode: "bridge", Command: cmd,
			StopSignal: 15, StopTimeout: 10, CreatedTime: created(c.Created), CgroupManager: "cgroupfs",
			CgroupParent: "/libpod_parent", LogPath: filepath.Join(userdata, "ctr.log"), LogDriver: "k8s-file"}
		lock++
		for _, v := range c.Volumes {
			cfg.NamedVolumes = append(cfg.NamedVolumes, libpodNamedVolume{Name: v.Name, Dest: v.Dest, Options: []string{"rw", "rprivate", "nosuid", "nodev", "rbind"}})
			cfg.UserVolumes = append(cfg.UserVolumes, v.Dest)
		}
		st := libpodState{State: libpodConfigured, RunDir: filepath.Join(runRoot, w.driver+"-containers", cid, "userdata")}
		if c.Ran {
			st.State, st.Exited = libpodExited, true
			st.StartedTime, st.FinishedTime = created(c.Created).Add(time.Second), created(c.Created).Add(2*time.Second)
		}
		ctr := top.sub("ctr").sub(cid)
		ctr.sub("dependencies")
		ctr.sub("networks").keys["podman"] = fmt.Appendf(nil, `{"aliases":[%q],"interface_name":"eth0"}`, cid[:12])
		if err := putJSON(ctr, "config", cfg); err != nil {
			return err
		}
		if err := putJSON(ctr, "state", st); err != nil {
			return err
		}
		top.sub("all-ctrs").keys[cid] = []byte(c.Name)
		top.sub("id-registry").keys[cid] = []byte(c.Name)
		top.sub("name-registry").keys[c.Name] = []byte(cid)
	}
	for _, name := range sortedVolumes(w.volumes) {
		owners := w.volOwner[name]
		vc := libpodVolumeConfig{Name: name, LockID: lock, Labels: map[string]string{}, VolumeDriver: "local",
			MountPoint: w.b.VolumeDir[name], CreatedTime: w.volumeCreated(name)}
		lock++
		vol := top.sub("vol").sub(name)
		if err := putJSON(vol, "config", vc); err != nil {
			return err
		}
		if err := putJSON(vol, "state", libpodVolumeState{}); err != nil {
			return err
		}
		deps := vol.sub("vol-dependencies")
		for _, cid := range owners {
			deps.keys[cid] = []byte(cid)
		}
		top.sub("allVolumes").keys[name] = []byte(name)
	}
	db, err := bolt.Open(w.path("libpod", "bolt_state.db"), 0600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("libpod database: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for name, s := range top.subs {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := s.put(b); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("libpod database: %w", err)
	}
	return nil
}

// volumeCreated is when a volume was made: just before the first
// container that uses it.
func (w *csWriter) volumeCreated(name string) time.Time {
	for _, c := range w.s.Containers {
		for _, v := range c.Volumes {
			if v.Name == name {
				return created(c.Created).Add(-time.Second)
			}
		}
	}
	return DefaultTime
}

func putJSON(b *bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.keys[key] = data
	return nil
}
