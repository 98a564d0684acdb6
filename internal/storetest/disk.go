package storetest

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/workpool"
)

// layerJob is one layer directory to write.
type layerJob struct {
	dir    string
	x      *expanded
	linkWh bool // whiteouts as hard links of .wh..wh.aufs
	what   string
	// after, when set, is closed once the directory this one links
	// names from is written; done is closed once this one is.
	after, done chan struct{}
}

// writeLayers writes the layer directories, a few at a time: they are
// independent (but for the after of a job, queued before it), and
// creating files is mostly waiting on the file system.
func writeLayers(jobs []layerJob) error {
	return parallel(len(jobs), func() func(int) error {
		w := newDiskWriter()
		return func(i int) error {
			j := jobs[i]
			if j.after != nil {
				<-j.after
			}
			err := w.layer(j)
			if j.done != nil {
				close(j.done)
			}
			if err != nil {
				return fmt.Errorf("writing layer %s into %s: %w", j.what, j.dir, err)
			}
			return nil
		}
	})
}

// parallel runs n tasks on a few workers, each made by newWorker (for
// its buffers), taking the tasks in order; the error is the first by
// index.
func parallel(n int, newWorker func() func(int) error) error {
	errs := make([]error, n)
	workpool.Run(n, runtime.GOMAXPROCS(0)+1, func() func(int) {
		f := newWorker()
		return func(i int) { errs[i] = f(i) }
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// diskWriter writes layers one at a time. It holds what lets it skip
// system calls that would change nothing, and a buffer for content.
type diskWriter struct {
	umask   int // -1 when unknown
	rootIDs bool
	buf     []byte
}

const chunkSize = 4 << 20

func newDiskWriter() *diskWriter {
	return &diskWriter{umask: readUmask(), rootIDs: os.Geteuid() == 0 && os.Getegid() == 0}
}

// readUmask reads the umask without changing it (umask(2) would, for the
// whole process).
func readUmask() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return int(m)
		}
	}
	return -1
}

func (w *diskWriter) layer(j layerJob) error {
	if err := os.Mkdir(j.dir, 0755); err != nil {
		return err
	}
	base := ""
	if j.linkWh {
		// A live aufs branch keeps these at its root; its whiteouts are
		// hard links of .wh..wh.aufs. A base the description names itself
		// is left to it, and whiteouts are then plain files.
		if j.x.byPath[aufsBase] == nil {
			base = j.dir + "/" + aufsBase
			if err := w.file(base, Entry{Kind: Whiteout}.normalized()); err != nil {
				return err
			}
		}
		for _, d := range []string{aufsPlnk, aufsOrph} {
			if j.x.byPath[d] == nil {
				if err := os.Mkdir(j.dir+"/"+d, 0700); err != nil {
					return err
				}
				if err := w.attrs(j.dir+"/"+d, Entry{Kind: Dir, Mode: 0700}.normalized(), 0700); err != nil {
					return err
				}
			}
		}
	}
	var dirs []*raw
	for _, r := range j.x.order {
		p := j.dir + "/" + r.path
		e := r.e
		var err error
		if r.link != "" {
			if err := unix.Link(r.link, p); err != nil {
				return fmt.Errorf("linking %q to %s: %w", r.path, r.link, err)
			}
			continue
		}
		switch e.Kind {
		case Dir:
			dirs = append(dirs, r)
			if r.path != rootPath {
				err = unix.Mkdir(p, 0755)
			}
		case File:
			err = w.file(p, e)
		case Whiteout, Opaque:
			if base != "" {
				err = unix.Link(base, p)
			} else {
				err = w.file(p, e)
			}
		case Symlink:
			if err = unix.Symlink(e.Target, p); err == nil {
				err = w.attrs(p, e, -1)
			}
		case Hardlink:
			err = unix.Link(j.dir+"/"+e.Target, p)
		case CharDev, BlockDev, Fifo, Socket:
			t := map[Kind]uint32{CharDev: unix.S_IFCHR, BlockDev: unix.S_IFBLK, Fifo: unix.S_IFIFO, Socket: unix.S_IFSOCK}[e.Kind]
			if err = unix.Mknod(p, t|e.Mode, int(unix.Mkdev(e.Major, e.Minor))); err == nil {
				err = w.attrs(p, e, int(e.Mode))
			}
		}
		if err != nil {
			return fmt.Errorf("%v %q: %w", e.Kind, r.path, err)
		}
	}
	// Last, so that creating children does not move the times, and a
	// read-only mode does not get in the way.
	for _, r := range slices.Backward(dirs) {
		if err := w.attrs(j.dir+"/"+r.path, r.e, 0755); err != nil {
			return fmt.Errorf("dir %q: %w", r.path, err)
		}
	}
	return nil
}

// file writes a regular file and its attributes.
func (w *diskWriter) file(p string, e Entry) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0644)
	if err != nil {
		return err
	}
	err = w.content(fd, e)
	if err == nil {
		err = w.attrsFd(fd, e, 0644)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = setTimes(p, e)
	}
	return err
}

func (w *diskWriter) content(fd int, e Entry) error {
	if err := writeAll(fd, e.Data); err != nil {
		return err
	}
	size := e.FileSize()
	off := int64(len(e.Data))
	if off == size {
		return nil
	}
	if e.Sparse {
		return unix.Ftruncate(fd, size)
	}
	if need := min(chunkSize, size-off); int64(len(w.buf)) < need {
		w.buf = make([]byte, need)
	}
	seed := seedOf(e.Path)
	for off < size {
		n := min(int64(len(w.buf)), size-off)
		b := w.buf[:n]
		fill(seed, off, b)
		if err := writeAll(fd, b); err != nil {
			return err
		}
		off += n
	}
	return nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// attrsFd sets owner, mode and xattrs of an open file, in the order that
// keeps them: chown clears setuid and security.capability.
func (w *diskWriter) attrsFd(fd int, e Entry, created int) error {
	if e.UID != 0 || e.GID != 0 || !w.rootIDs {
		if err := unix.Fchown(fd, e.UID, e.GID); err != nil {
			return err
		}
	}
	if w.needChmod(e.Mode, created) {
		if err := unix.Fchmod(fd, e.Mode); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(e.Xattrs) {
		if err := unix.Fsetxattr(fd, k, []byte(e.Xattrs[k]), 0); err != nil {
			return fmt.Errorf("setting xattr %s: %w", k, err)
		}
	}
	return nil
}

// attrs sets owner, mode (unless created is -1: a symlink), xattrs and
// times of p without following a symlink.
func (w *diskWriter) attrs(p string, e Entry, created int) error {
	if e.UID != 0 || e.GID != 0 || !w.rootIDs {
		if err := unix.Lchown(p, e.UID, e.GID); err != nil {
			return err
		}
	}
	if created >= 0 && w.needChmod(e.Mode, created) {
		if err := unix.Chmod(p, e.Mode); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(e.Xattrs) {
		if err := unix.Lsetxattr(p, k, []byte(e.Xattrs[k]), 0); err != nil {
			return fmt.Errorf("setting xattr %s: %w", k, err)
		}
	}
	return setTimes(p, e)
}

// needChmod says whether a node created with mode created (through the
// umask) lacks mode.
func (w *diskWriter) needChmod(mode uint32, created int) bool {
	return w.umask < 0 || uint32(created&^w.umask) != mode
}

func setTimes(p string, e Entry) error {
	ts := []unix.Timespec{unix.NsecToTimespec(e.Atime.UnixNano()), unix.NsecToTimespec(e.Mtime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}
