package layertar

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/vbatts/tar-split/tar/storage"
)

// Size is the length in bytes of the layer's original tar stream, from
// its tar-split alone: the raw segments (headers, padding, the end of
// the archive) and the recorded size of every file's content. No file
// of the layer is read. It is the size Write gives back, whatever the
// directory holds: Write pads a short file and cuts a long one.
func Size(l Layer) (int64, error) {
	ts, err := l.OpenTarSplit()
	if err != nil {
		return 0, err
	}
	defer ts.Close()
	up := newUnpacker(ts)
	var n int64
	for {
		e, err := up.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading the tar-split: %w", err)
		}
		switch e.Type {
		case storage.SegmentType:
			n += int64(len(e.Payload))
		case storage.FileType:
			if e.Size < 0 {
				return 0, fmt.Errorf("reading the tar-split: entry %q has size %d", e.GetName(), e.Size)
			}
			n += e.Size
		default:
			return 0, fmt.Errorf("reading the tar-split: unknown entry type %d", e.Type)
		}
	}
}

// unpacker reads a tar-split as storage.NewJSONUnpacker does, entries and
// errors alike (a name given twice is storage.ErrDuplicatePath), several
// times faster: the lines tar-split's packer writes, one JSON object of
// known keys each, are parsed by hand, and any line that is not that
// simple (an escape in a string, another key or kind of value) goes to
// encoding/json.
type unpacker struct {
	r    *bufio.Reader
	dec  *json.Decoder // once the input is not one object a line
	seen map[string]struct{}
	line int
}

func newUnpacker(r io.Reader) storage.Unpacker {
	return &unpacker{r: bufio.NewReaderSize(r, 256<<10), seen: map[string]struct{}{}}
}

func (u *unpacker) Next() (*storage.Entry, error) {
	e, err := u.next()
	if err != nil {
		return nil, err
	}
	if e.Type == storage.FileType {
		name := filepath.Clean(e.GetName())
		if _, ok := u.seen[name]; ok {
			return nil, storage.ErrDuplicatePath
		}
		u.seen[name] = struct{}{}
	}
	return e, nil
}

func (u *unpacker) next() (*storage.Entry, error) {
	if u.dec != nil {
		var e storage.Entry
		if err := u.dec.Decode(&e); err != nil {
			return nil, err
		}
		return &e, nil
	}
	for {
		line, err := u.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			var rest []byte
			rest, err = u.r.ReadBytes('\n')
			line = append(append([]byte(nil), line...), rest...)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue
		}
		u.line++
		var e storage.Entry
		if parseEntry(trimmed, &e) {
			return &e, nil
		}
		if jerr := json.Unmarshal(trimmed, &e); jerr == nil {
			return &e, nil
		}
		// Not one object a line: read the rest as encoding/json would.
		u.dec = json.NewDecoder(io.MultiReader(bytes.NewReader(append([]byte(nil), line...)), u.r))
		return u.next()
	}
}

var errSlow = errors.New("not a simple line")

// parseEntry parses one line as tar-split's packer writes it:
// {"type":1,"name":"...","size":5,"payload":"<base64>","position":3}.
// It reports false for anything else, which encoding/json then reads.
func parseEntry(b []byte, e *storage.Entry) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	b = b[1 : len(b)-1]
	for len(b) > 0 {
		key, rest, ok := str(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		b = rest[1:]
		var err error
		switch string(key) {
		case "type", "size", "position":
			var n int64
			n, b, err = num(b)
			if err != nil {
				return false
			}
			switch key[0] {
			case 't':
				e.Type = storage.Type(n)
			case 's':
				e.Size = n
			default:
				e.Position = int(n)
			}
		case "name":
			var v []byte
			if v, b, ok = str(b); !ok {
				return false
			}
			for _, c := range v {
				if c < 0x20 {
					return false // not JSON: encoding/json says so
				}
			}
			e.Name = string(v)
		case "name_raw", "payload":
			var v []byte
			if bytes.HasPrefix(b, []byte("null")) {
				b = b[4:]
			} else {
				if v, b, ok = str(b); !ok {
					return false
				}
				dec := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
				n, err := base64.StdEncoding.Decode(dec, v)
				if err != nil {
					return false
				}
				v = dec[:n]
			}
			if key[0] == 'p' {
				e.Payload = v
			} else {
				e.NameRaw = v
			}
		default:
			return false
		}
		switch {
		case len(b) == 0:
		case b[0] == ',':
			b = b[1:]
			if len(b) == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// str reads a JSON string with no escapes in it.
func str(b []byte) (val, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	i := bytes.IndexByte(b[1:], '"')
	if i < 0 {
		return nil, nil, false
	}
	val = b[1 : 1+i]
	if bytes.IndexByte(val, '\\') >= 0 {
		return nil, nil, false
	}
	return val, b[2+i:], true
}

// num reads a JSON integer.
func num(b []byte) (int64, []byte, error) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0, nil, errSlow
	}
	return n, b[i:], nil
}
