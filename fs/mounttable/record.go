package mounttable

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A serving process describes its view in a sealed memfd named
// recordName that it keeps open until it exits: the mount table only has
// the mount point and the reference, and a process that dies takes its
// record with it, so nothing goes stale. Servers reads the records
// through /proc/PID/fd (its owner's processes, or any as root).
const recordName = "aufsmount-view"

// Record is what a serving process says of its view.
type Record struct {
	MountPoint string `json:"mountpoint"`
	MountID    int    `json:"mount_id"` // the first field of its line in mountinfo
	Ref        string `json:"ref,omitempty"`
	All        bool   `json:"all,omitempty"` // mount-all: the whole store
	Store      string `json:"store"`
	Driver     string `json:"driver,omitempty"`
}

// recordFile is kept referenced so that the memfd stays open (an
// *os.File is closed when collected).
var recordFile *os.File

// KeepRecord records, for the life of this process, that it serves the
// view it just mounted at rec.MountPoint; MountID is filled in from the
// mount table. A view works without its record: only List cannot tell
// its store and process.
func KeepRecord(rec Record) error {
	mounts, err := Read()
	if err != nil {
		return fmt.Errorf("recording the view at %s: %w", rec.MountPoint, err)
	}
	m, ok := Find(mounts, rec.MountPoint)
	if !ok { // unmounted already: nothing to describe
		return nil
	}
	rec.MountID = m.ID
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("recording the view at %s: %w", rec.MountPoint, err)
	}
	fd, err := unix.MemfdCreate(recordName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_NOEXEC_SEAL)
	if errors.Is(err, unix.EINVAL) { // before Linux 6.3, no MFD_NOEXEC_SEAL
		fd, err = unix.MemfdCreate(recordName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return fmt.Errorf("recording the view at %s: memfd: %w", rec.MountPoint, err)
	}
	f := os.NewFile(uintptr(fd), recordName)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("recording the view at %s: %w", rec.MountPoint, err)
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	recordFile = f
	return nil
}

// Server is a process serving a view, with its record.
type Server struct {
	PID    int
	Record Record
}

// Servers maps mount ids to the processes that serve them, from the
// records of every process this user may look into (but this one).
func Servers() map[int]Server {
	out := map[int]Server{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		// Every process: the binary may go by any name.
		dir := "/proc/" + p.Name()
		fds, err := os.ReadDir(dir + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(dir + "/fd/" + fd.Name())
			if err != nil || !strings.HasPrefix(target, "/memfd:"+recordName+" ") {
				continue
			}
			b, err := readSmall(dir + "/fd/" + fd.Name())
			var rec Record
			if err != nil || json.Unmarshal(b, &rec) != nil {
				continue
			}
			out[rec.MountID] = Server{PID: pid, Record: rec}
		}
	}
	return out
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// ServerState is what a FUSE view answers.
type ServerState int

const (
	ServerAnswers ServerState = iota
	ServerGone                // the process that served it ended: ENOTCONN
	ServerSilent              // no answer within the probe's time: stopped or hung
)

// Probe asks the filesystem at path something the kernel cannot answer
// from its caches (statfs), for at most a second: a view whose server
// died answers ENOTCONN, a stopped one not at all.
func Probe(path string) ServerState {
	done := make(chan error, 1)
	go func() {
		var st unix.Statfs_t
		done <- unix.Statfs(path, &st)
	}()
	select {
	case err := <-done:
		if errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED) {
			return ServerGone
		}
		return ServerAnswers
	case <-time.After(time.Second):
		return ServerSilent
	}
}
