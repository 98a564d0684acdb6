package fs

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"
)

// helperErrorMax caps what is kept of the mount helper's stderr.
const helperErrorMax = 4096

// withHelperStderr runs mount, which may start fusermount3, with
// os.Stderr on a pipe: go-fuse hands the helper the os.Stderr of the
// moment, and only says "fusermount exited with code 256" when it fails,
// while the reason (user_allow_other missing from /etc/fuse.conf, no
// permission on the mount point or on /dev/fuse, ...) is what the helper
// printed. A failure returns that text as the error; on success whatever
// the helper said still goes to the real stderr.
func withHelperStderr(mount func() error) error {
	r, w, err := os.Pipe()
	if err != nil {
		return mount()
	}
	said := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, helperErrorMax))
		io.Copy(io.Discard, r)
		r.Close()
		said <- b
	}()
	saved := os.Stderr
	os.Stderr = w
	err = mount()
	os.Stderr = saved
	w.Close()
	var msg []byte
	select {
	case msg = <-said:
	case <-time.After(time.Second):
		// Something the helper left running holds the pipe: do without.
	}
	text := strings.TrimSpace(string(bytes.ToValidUTF8(msg, []byte("?"))))
	if err == nil {
		if text != "" {
			saved.WriteString(text + "\n")
		}
		return nil
	}
	if text == "" {
		return err
	}
	return &helperError{msg: strings.Join(strings.Fields(text), " "), err: err}
}

// helperError is a mount helper's failure, told in its own words.
type helperError struct {
	msg string
	err error
}

func (e *helperError) Error() string { return e.msg }
func (e *helperError) Unwrap() error { return e.err }
