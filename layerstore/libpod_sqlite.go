package layerstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/aufsmount/aufsmount/internal/sqlitero"
)

// Podman 5 keeps its state in libpod/db.sql, a SQLite database whose
// tables ContainerConfig and ContainerState (libpod's sqlite_state.go,
// schema version 1) hold, per container ID, the same JSON as Podman 4's
// bolt "config" and "state" keys. It is read whole as any file of the
// store is (readFile: read-only, without moving its atime) and decoded
// from memory with internal/sqlitero: no lock is taken and no -journal,
// -wal or -shm file is made, as with SQLite's immutable=1. Changes a live
// Podman has in a -wal or hot -journal file beside it are not read: that
// is reported.

// libpodSQL is where Podman 5 keeps its state under the graphroot.
const libpodSQL = "libpod/db.sql"

// libpodSQLDetails reads Podman 5's state of every container, by id, as
// libpodDetails does Podman 4's.
func (s *store) libpodSQLDetails(p string) map[string]details {
	out, err := readLibpodSQL(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.problem(corrupt(p, err))
	}
	if err == nil {
		for _, side := range sqlitero.Pending(p) {
			s.problem(corrupt(side, errors.New("holds changes not yet in db.sql, which are not read: containers' states may be older")))
		}
	}
	return out
}

// maxSQLite bounds db.sql, read whole: Podman keeps some 12 KiB of JSON
// a container.
const maxSQLite = 256 << 20

// readLibpodSQL reads the containers of a Podman 5 state database.
func readLibpodSQL(p string) (map[string]details, error) {
	data, err := readFile(p, maxSQLite)
	if err != nil {
		return nil, err
	}
	db, err := sqlitero.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	configs, err := libpodJSON(db, "ContainerConfig")
	if err != nil {
		return nil, err
	}
	states, err := libpodJSON(db, "ContainerState")
	if err != nil {
		return nil, err
	}
	out := map[string]details{}
	for id, config := range configs {
		out[id] = libpodContainer(config, states[id])
	}
	return out, nil
}

// libpodJSON reads the JSON column of one of libpod's tables, by ID.
// Podman binds the JSON as []byte, so it is a blob, but text is taken too.
func libpodJSON(db *sqlitero.DB, table string) (map[string][]byte, error) {
	t, err := db.Table(table)
	if err != nil {
		return nil, err
	}
	idCol, jsonCol := t.Column("ID"), t.Column("JSON")
	if idCol < 0 || jsonCol < 0 {
		return nil, fmt.Errorf("table %s has no ID or no JSON column: %q", table, t.Columns)
	}
	out := map[string][]byte{}
	err = t.Rows(func(_ int64, row []any) error {
		id, ok := row[idCol].(string)
		if !ok || !isHexID(id) {
			return nil
		}
		switch v := row[jsonCol].(type) {
		case []byte:
			out[id] = v
		case string:
			out[id] = []byte(v)
		}
		return nil
	})
	return out, err
}
