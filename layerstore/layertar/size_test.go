package layertar

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

// tarSplitOf is the tar-split tar-split's own packer makes of the tar of
// entries (name to content; a name ending in "/" is a directory).
func tarSplitOf(t *testing.T, names []string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for i, n := range names {
		h := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0644, Size: int64(i * 37 % 1000), Format: tar.FormatPAX}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bytes.Repeat([]byte{byte(i)}, int(h.Size)))
	}
	tw.Close()
	var ts bytes.Buffer
	r, err := asm.NewInputTarStream(&tb, storage.NewJSONPacker(&ts), storage.NewDiscardFilePutter())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	return ts.Bytes()
}

func entries(t *testing.T, up storage.Unpacker) ([]storage.Entry, error) {
	t.Helper()
	var out []storage.Entry
	for {
		e, err := up.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, *e)
	}
}

// TestUnpacker checks that the fast tar-split reader gives what
// tar-split's own does: for names that need escapes or are not UTF-8, for
// input that is not one object a line, and for a name given twice.
func TestUnpacker(t *testing.T) {
	names := []string{"./", "./etc/", "./etc/passwd", "a \"quoted\" name", "back\\slash", "<html>&amp;", "line\nbreak",
		"not utf-8 \xff\xfe", "sep\u2028arator", strings.Repeat("long/", 60) + "name", "tab\there", "ünïcödé", "empty"}
	ts := tarSplitOf(t, names)
	want, err := entries(t, storage.NewJSONUnpacker(bytes.NewReader(ts)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := entries(t, newUnpacker(bytes.NewReader(ts)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(want), normalize(got)) {
		t.Errorf("fast unpacker:\n%+v\nwant\n%+v", got, want)
	}
	fast := 0
	for _, line := range bytes.Split(bytes.TrimSpace(ts), []byte("\n")) {
		var e storage.Entry
		if parseEntry(line, &e) {
			fast++
			var j storage.Entry
			if err := json.Unmarshal(line, &j); err != nil || !reflect.DeepEqual(normalize([]storage.Entry{e}), normalize([]storage.Entry{j})) {
				t.Errorf("line %s: parsed %+v, encoding/json %+v", line, e, j)
			}
		}
	}
	if fast < len(names) {
		t.Errorf("only %d lines of %d parsed fast", fast, len(names))
	}
	// Indented: not one object a line.
	var pretty bytes.Buffer
	for _, e := range want {
		b, _ := json.MarshalIndent(e, "", "  ")
		pretty.Write(b)
		pretty.WriteByte('\n')
	}
	got, err = entries(t, newUnpacker(&pretty))
	if err != nil || !reflect.DeepEqual(normalize(want), normalize(got)) {
		t.Errorf("indented tar-split: %v, %d entries of %d", err, len(got), len(want))
	}
	dup := "{\"type\":1,\"name\":\"a\",\"payload\":null,\"position\":0}\n{\"type\":1,\"name\":\"./a\",\"payload\":null,\"position\":1}\n"
	if _, err := entries(t, newUnpacker(strings.NewReader(dup))); !errors.Is(err, storage.ErrDuplicatePath) {
		t.Errorf("a name twice: %v, want ErrDuplicatePath", err)
	}
	if _, err := entries(t, newUnpacker(strings.NewReader("{\"type\":1,\n"))); err == nil {
		t.Errorf("a truncated tar-split read without error")
	}
}

// normalize makes empty and nil slices alike.
func normalize(es []storage.Entry) []storage.Entry {
	out := make([]storage.Entry, len(es))
	for i, e := range es {
		if len(e.Payload) == 0 {
			e.Payload = nil
		}
		if len(e.NameRaw) == 0 {
			e.NameRaw = nil
		}
		out[i] = e
	}
	return out
}
