package fs

import (
	"bytes"
	"log"
	"testing"
)

// go-fuse's message for a connection the kernel aborted as a lazily
// detached mount went away is dropped; every other message is kept.
func TestFuseLogger(t *testing.T) {
	var buf bytes.Buffer
	l := fuseLogger(log.New(&buf, "aufsmount: ", 0))
	l.Printf("Failed to read from fuse conn: %v", "103=software caused connection abort")
	l.Printf("Failed to read from fuse conn: %v", "5=input/output error")
	l.Printf("writer: Write/Writev failed, err: 2=no such file or directory")
	want := "aufsmount: Failed to read from fuse conn: 5=input/output error\naufsmount: writer: Write/Writev failed, err: 2=no such file or directory\n"
	if buf.String() != want {
		t.Errorf("logged %q, want %q", buf.String(), want)
	}
}
