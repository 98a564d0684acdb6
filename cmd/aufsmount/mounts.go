package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/fs/kernelview"
	"github.com/aufsmount/aufsmount/fs/mountinfo"
)

// A serving process describes its view in a sealed memfd named
// viewRecordName that it keeps open until it exits: the mount table only
// has the mount point and the reference, and a process that dies takes
// its record with it, so nothing goes stale. aufsmount mounts reads the
// record through /proc/PID/fd (its owner's processes, or any as root).
const viewRecordName = "aufsmount-view"

// viewRecord is what the memfd holds.
type viewRecord struct {
	MountPoint string `json:"mountpoint"`
	MountID    int    `json:"mount_id"` // the first field of its line in mountinfo
	Ref        string `json:"ref,omitempty"`
	All        bool   `json:"all,omitempty"` // mount-all: the whole store
	Store      string `json:"store"`
	Driver     string `json:"driver,omitempty"`
}

// viewRecordFile is kept referenced so that the memfd stays open (an
// *os.File is closed when collected).
var viewRecordFile *os.File

// keepViewRecord writes this process's record of the view it just
// mounted at mnt. Failing to is logged: the view works without it, only
// mounts cannot tell its store and process.
func keepViewRecord(mnt string, req mountRequest, plan *mountPlan, logger *log.Logger) {
	mounts, err := mountinfo.Read()
	if err != nil {
		logger.Printf("recording the view for aufsmount mounts: %v", err)
		return
	}
	m, ok := mountinfo.Find(mounts, mnt)
	if !ok {
		return
	}
	b, err := json.Marshal(viewRecord{MountPoint: mnt, MountID: m.ID, Ref: req.ref, All: req.all, Store: plan.Root, Driver: plan.Driver})
	if err != nil {
		return
	}
	fd, err := unix.MemfdCreate(viewRecordName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_NOEXEC_SEAL)
	if errors.Is(err, unix.EINVAL) { // before Linux 6.3, no MFD_NOEXEC_SEAL
		fd, err = unix.MemfdCreate(viewRecordName, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		logger.Printf("recording the view for aufsmount mounts: memfd: %v", err)
		return
	}
	f := os.NewFile(uintptr(fd), viewRecordName)
	if _, err := f.Write(b); err != nil {
		f.Close()
		logger.Printf("recording the view for aufsmount mounts: %v", err)
		return
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	viewRecordFile = f
}

// server is a process serving a view, with its record.
type server struct {
	PID    int
	Record viewRecord
}

// findServers maps mount ids to the processes that serve them, from the
// records of every aufsmount process this user may look into.
func findServers() map[int]server {
	out := map[int]server{}
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
			if err != nil || !strings.HasPrefix(target, "/memfd:"+viewRecordName+" ") {
				continue
			}
			b, err := readSmall(dir + "/fd/" + fd.Name())
			var rec viewRecord
			if err != nil || json.Unmarshal(b, &rec) != nil {
				continue
			}
			out[rec.MountID] = server{PID: pid, Record: rec}
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

// serverState is what a FUSE mount answers.
type serverState int

const (
	serverAnswers serverState = iota
	serverGone                // the process that served it ended: ENOTCONN
	serverSilent              // no answer within the probe's time: stopped or hung
)

// probeServer asks the filesystem at path something the kernel cannot
// answer from its caches (statfs), for at most a second: a view whose
// server died answers ENOTCONN, a stopped one not at all.
func probeServer(path string) serverState {
	done := make(chan error, 1)
	go func() {
		var st unix.Statfs_t
		done <- unix.Statfs(path, &st)
	}()
	select {
	case err := <-done:
		if errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED) {
			return serverGone
		}
		return serverAnswers
	case <-time.After(time.Second):
		return serverSilent
	}
}

// alreadyMounted is the error for a mount point that has a mount on it;
// for a view of ours, it says whether its server is still there.
func alreadyMounted(arg string, m *mountinfo.Mount) error {
	msg := fmt.Sprintf("%s: already a mount point (%s %s)", arg, m.FSType, m.Source)
	if m.FSType != fsType {
		return fmt.Errorf("%s: unmount it first", msg)
	}
	if _, ok := findServers()[m.ID]; !ok {
		switch probeServer(m.MountPoint) {
		case serverGone:
			return fmt.Errorf("%s, whose server is gone (its process ended): aufsmount umount %s clears it", msg, arg)
		case serverSilent:
			return fmt.Errorf("%s, whose server does not answer: aufsmount umount %s clears it", msg, arg)
		}
	}
	return fmt.Errorf("%s: unmount it first (aufsmount umount %s)", msg, arg)
}

// checkEmpty refuses a directory that has entries: a view mounted on it
// would hide them (-o nonempty allows it).
func checkEmpty(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) > 0 {
		return errors.New("mount point is not empty: the view would hide what it holds (use an empty directory, or -o nonempty to mount over it)")
	}
	if err != nil && err != io.EOF {
		return err
	}
	return nil
}

// mountedView is one line of aufsmount mounts.
type mountedView struct {
	MountPoint string `json:"mountpoint"`
	Ref        string `json:"ref"`           // as typed; "" for mount-all
	All        bool   `json:"all,omitempty"` // mount-all: the whole store
	Store      string `json:"store"`         // "" when unknown
	Driver     string `json:"driver"`        // "" when unknown
	PID        *int   `json:"pid"`           // the serving process; null when gone or not visible, or served by the kernel
	Gone       bool   `json:"gone,omitempty"`
	Kernel     bool   `json:"kernel,omitempty"` // served by the kernel's overlayfs (mount -o kernel)
}

func (e *env) mountsCommand() *cli.Command {
	return &cli.Command{
		Name:      "mounts",
		Usage:     "list the aufsmount views mounted on this host",
		UsageText: "aufsmount mounts [--json]",
		Description: `Lists every mount of type fuse.aufsmount: its mount point, the reference
it shows ((mount-all) for a whole store), the store and storage driver it
reads and the process serving it. PID says "gone" for a view whose
process died (aufsmount umount clears it); store, driver and PID are "-"
for another user's views unless run as root.

Examples:
   aufsmount mounts
   aufsmount mounts --json`,
		Flags:  append(storeFlags(), jsonFlag()),
		Action: e.mountsAction,
	}
}

// listViews lists the aufsmount mounts of this mount namespace, in the
// order of the mount table.
func listViews() ([]mountedView, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	var servers map[int]server
	var out []mountedView
	for _, m := range mounts {
		if kernelview.IsKernelView(m) {
			out = append(out, mountedView{MountPoint: m.MountPoint, Ref: strings.TrimPrefix(m.Source, kernelview.SourcePrefix), Kernel: true})
			continue
		}
		if m.FSType != fsType {
			continue
		}
		if servers == nil {
			servers = findServers()
		}
		v := mountedView{MountPoint: m.MountPoint, Ref: m.Source}
		if s, ok := servers[m.ID]; ok {
			pid := s.PID
			v.PID = &pid
			v.Ref, v.All, v.Store, v.Driver = s.Record.Ref, s.Record.All, s.Record.Store, s.Record.Driver
		} else if probeServer(m.MountPoint) == serverGone {
			v.Gone = true
		}
		out = append(out, v)
	}
	return out, nil
}

func (e *env) mountsAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("mounts: takes no arguments (see aufsmount mounts --help)")
	}
	views, err := listViews()
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if views == nil {
			views = []mountedView{}
		}
		return writeJSON(e.stdout, views)
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "MOUNT POINT\tREFERENCE\tSTORE\tDRIVER\tPID")
	for _, v := range views {
		ref := v.Ref
		if v.All {
			ref = "(mount-all)"
		}
		pid := "-"
		switch {
		case v.PID != nil:
			pid = strconv.Itoa(*v.PID)
		case v.Gone:
			pid = "gone"
		case v.Kernel:
			pid = "kernel"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", oneLine(v.MountPoint), oneLine(orDash(ref)), oneLine(orDash(v.Store)), orDash(v.Driver), pid)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// unmountAll unmounts every aufsmount view this user may unmount (as
// root, all of them; otherwise the user's own), innermost first, and says
// on stderr which could not be.
func unmountAll(stderr io.Writer) error {
	mounts, err := mountinfo.Read()
	if err != nil {
		return err
	}
	uid := "user_id=" + strconv.Itoa(os.Geteuid())
	failed := 0
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if kernelview.IsKernelView(m) && os.Geteuid() == 0 {
			if err := kernelview.Unmount(m.MountPoint); err != nil {
				fmt.Fprintf(stderr, "aufsmount: unmounting %s: %v\n", m.MountPoint, err)
				failed++
			}
			continue
		}
		if m.FSType != fsType {
			continue
		}
		if os.Geteuid() != 0 && !hasOption(m.SuperOptions, uid) {
			continue
		}
		lazy, err := unmount(m.MountPoint)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "aufsmount: unmounting %s: %v\n", m.MountPoint, err)
			failed++
		case lazy:
			fmt.Fprintf(stderr, "aufsmount: %s was busy: detached; it is freed when its last user goes\n", m.MountPoint)
		}
	}
	if failed > 0 {
		return errSilent
	}
	return nil
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
