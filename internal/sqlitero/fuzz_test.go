package sqlitero

import "testing"

// FuzzRead drives the reader over mutated databases (seeds of a few pages,
// small enough for the fuzzer to minimize what it finds): whatever the bytes,
// reading every table must end, in rows or an error, without a panic.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"small.db", "reserved.db"} {
		data := load(f, name)
		// The valid seeds must read whole, or the target could pass
		// without ever reaching the rows.
		if err := readAll(data); err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readAll(data)
	})
}
