#!/usr/bin/env python3
"""Remakes the SQLite databases sqlitero's tests read, with a real SQLite.

Run from anywhere: python3 gen.py; each NAME.db is written gzipped, as
NAME.db.gz. It needs python3's sqlite3 module and,
for reserved.db only, the sqlite3 command (its .filectrl reserve_bytes).

basic-512.db, basic-4096.db, basic-65536.db: the same tables at three page
sizes (the tests expect the same rows of each):
  kinds    INTEGER PRIMARY KEY rowid alias, each storage class, ints of every
           width, a negative rowid
  big      payloads on both sides of the page's local limit, and one spanning
           many overflow pages
  many     enough rows for interior pages, two levels deep at 512 bytes
  added    a column added by ALTER TABLE after the first row
  desckey  INTEGER PRIMARY KEY DESC, which is not a rowid alias
  tablepk  PRIMARY KEY(id) as a table constraint, which is one
  quoted   quoted column names
  gen      a VIRTUAL and a STORED generated column
  norowid  WITHOUT ROWID (the reader refuses it)
  an index on kinds, and a view, which Table must pass over
small.db: 512-byte pages, a dozen of them: a seed small enough to fuzz,
  with an interior page, an overflow chain and each storage class.
reserved.db: 1024-byte pages with 32 reserved bytes, one overflowing row.
podman5.db: Podman 5's libpod/db.sql as libpod/sqlite_state_internal.go
  (schema version 1) creates it, with two containers whose config and state
  JSON come from podman/: what Podman 4.3 wrote to bolt_state.db, with
  /tmp/pm/root and /tmp/pm/run replaced by the default graphroot and
  runroot; c2's state is made exited (code 2). Podman binds the JSON as
  []byte, so like it this stores them as blobs.
"""

import gzip
import json
import os
import sqlite3
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def fresh(name, page_size):
    path = os.path.join(HERE, name)
    for p in (path, path + "-journal", path + "-wal"):
        if os.path.exists(p):
            os.remove(p)
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=%d" % page_size)
    return path, db


def pack(path):
    """Gzips the database (its pages are mostly zeros) to path.gz."""
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".gz", "wb") as f:
        f.write(gzip.compress(data, mtime=0))
    os.remove(path)


def pattern(n):
    """n bytes of text: "0123456789" repeated, cut to n."""
    return ("0123456789" * (n // 10 + 1))[:n]


def varint_len(v):
    n = 1
    while v >= 1 << (7 * n) and n < 9:
        n += 1
    return n


def data_len(p):
    """The text length n that makes the record ("pNNNNNN", n bytes) p bytes."""
    for n in range(p, -1, -1):
        types = varint_len(13 + 2 * 7) + varint_len(13 + 2 * n)
        head = types + varint_len(types + 1)
        if head + 7 + n == p:
            return n
    raise ValueError("no text length gives a %d-byte record" % p)


def basic(page_size):
    path, db = fresh("basic-%d.db" % page_size, page_size)
    db.execute("CREATE TABLE kinds(id INTEGER PRIMARY KEY, t TEXT, i INT, r REAL, b BLOB, n)")
    rows = [
        (1, "hello", 0, 1.5, b"\x00\x01\xff", None),
        (2, "grüße", 1, -0.25, b"", None),
        (3, "", -1, 0.0, b"\x80", None),
        (10, "int8", 127, 1e300, None, "x"),
        (11, "int16", -129, None, None, 7),
        (12, "int24", 8388607, None, None, None),
        (13, "int32", -2147483648, None, None, None),
        (14, "int48", 140737488355327, None, None, None),
        (15, "int64", 9223372036854775807, None, None, None),
        (16, "int64 min", -9223372036854775808, None, None, None),
        (-5, "negative rowid", 2, None, None, None),
    ]
    db.executemany("INSERT INTO kinds VALUES (?,?,?,?,?,?)", rows)
    db.execute("CREATE INDEX kinds_t ON kinds(t)")
    db.execute("CREATE VIEW kinds_view AS SELECT t FROM kinds")

    db.execute("CREATE TABLE big(name TEXT, data TEXT)")
    # Each row's record is P bytes, named "pNNNNNN": around X = U-35, the
    # most a cell keeps on its page; where K = M+((P-M)%(U-4)) is at most
    # X (K bytes stay) or over it (M bytes stay); and across many pages.
    u = page_size
    x, m = u - 35, (u - 12) * 32 // 255 - 23
    for p in (100, x - 1, x, x + 1, m + (u - 4) + 10, m + 2 * (u - 4) - 1, 3 * u, 100000):
        n = data_len(p)
        db.execute("INSERT INTO big VALUES (?,?)", ("p%06d" % p, pattern(n)))

    db.execute("CREATE TABLE many(k INTEGER PRIMARY KEY, v TEXT)")
    db.executemany("INSERT INTO many VALUES (?,?)", [(k, "v%d" % k) for k in range(1, 3001)])

    db.execute("CREATE TABLE added(a TEXT)")
    db.execute("INSERT INTO added VALUES ('before')")
    db.execute("ALTER TABLE added ADD COLUMN b INTEGER DEFAULT 42")
    db.execute("INSERT INTO added VALUES ('after', 7)")

    db.execute("CREATE TABLE desckey(id INTEGER PRIMARY KEY DESC, v TEXT)")
    db.execute("INSERT INTO desckey VALUES (100, 'a'), (50, 'b')")

    db.execute("CREATE TABLE tablepk(v TEXT, id INTEGER, PRIMARY KEY(id))")
    db.execute("INSERT INTO tablepk VALUES ('seven', 7), ('nine', 9)")

    db.execute('CREATE TABLE quoted("col one" TEXT, [col two] INT, `col``three` TEXT, \'col four\' TEXT)')
    db.execute("INSERT INTO quoted VALUES ('1', 2, '3', '4')")

    db.execute("CREATE TABLE gen(a INT, v INT GENERATED ALWAYS AS (a*2) VIRTUAL, s INT AS (a*3) STORED, z TEXT)")
    db.execute("INSERT INTO gen(a, z) VALUES (5, 'zed')")

    db.execute("CREATE TABLE norowid(k TEXT PRIMARY KEY, v) WITHOUT ROWID")
    db.execute("INSERT INTO norowid VALUES ('k', 'v')")
    db.commit()
    db.close()
    pack(path)


def small():
    path, db = fresh("small.db", 512)
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB, r REAL)")
    db.executemany("INSERT INTO t VALUES (?,?,?,?)", [(k, "v%d" % k, bytes([k]), k / 4) for k in range(1, 61)])
    db.execute("INSERT INTO t VALUES (100, ?, NULL, NULL)", (pattern(1200),))
    db.commit()
    db.close()
    pack(path)


def reserved():
    path, db = fresh("reserved.db", 1024)
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, data TEXT)")
    db.execute("INSERT INTO t VALUES (1, ?), (2, 'short')", (pattern(5000),))
    db.commit()
    db.close()
    subprocess.run(["sqlite3", path, ".filectrl reserve_bytes 32", "VACUUM;"], check=True, stdout=subprocess.DEVNULL)
    pack(path)


# The tables as Podman 5 (libpod/sqlite_state_internal.go) creates them.
PODMAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS DBConfig(
        ID            INTEGER PRIMARY KEY NOT NULL,
        SchemaVersion INTEGER NOT NULL,
        OS            TEXT    NOT NULL,
        StaticDir     TEXT    NOT NULL,
        TmpDir        TEXT    NOT NULL,
        GraphRoot     TEXT    NOT NULL,
        RunRoot       TEXT    NOT NULL,
        GraphDriver   TEXT    NOT NULL,
        VolumeDir     TEXT    NOT NULL,
        CHECK (ID IN (1))
);
CREATE TABLE IF NOT EXISTS IDNamespace(
        ID TEXT PRIMARY KEY NOT NULL
);
CREATE TABLE IF NOT EXISTS ContainerConfig(
        ID              TEXT    PRIMARY KEY NOT NULL,
        Name            TEXT    UNIQUE NOT NULL,
        PodID           TEXT,
        JSON            TEXT    NOT NULL,
        FOREIGN KEY (ID)    REFERENCES IDNamespace(ID)    DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (ID)    REFERENCES ContainerState(ID) DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (PodID) REFERENCES PodConfig(ID)
);
CREATE TABLE IF NOT EXISTS ContainerState(
        ID       TEXT    PRIMARY KEY NOT NULL,
        State    INTEGER NOT NULL,
        ExitCode INTEGER,
        JSON     TEXT    NOT NULL,
        FOREIGN KEY (ID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
        CHECK (ExitCode BETWEEN -1 AND 255)
);
CREATE TABLE IF NOT EXISTS ContainerExecSession(
        ID          TEXT PRIMARY KEY NOT NULL,
        ContainerID TEXT NOT NULL,
        FOREIGN KEY (ContainerID) REFERENCES ContainerConfig(ID)
);
CREATE TABLE IF NOT EXISTS ContainerDependency(
        ID           TEXT NOT NULL,
        DependencyID TEXT NOT NULL,
        PRIMARY KEY (ID, DependencyID),
        FOREIGN KEY (ID)           REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (DependencyID) REFERENCES ContainerConfig(ID),
        CHECK (ID <> DependencyID)
);
CREATE TABLE IF NOT EXISTS ContainerVolume(
        ContainerID TEXT NOT NULL,
        VolumeName  TEXT NOT NULL,
        PRIMARY KEY (ContainerID, VolumeName),
        FOREIGN KEY (ContainerID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (VolumeName)  REFERENCES VolumeConfig(Name)
);
CREATE TABLE IF NOT EXISTS ContainerExitCode(
        ID        TEXT    PRIMARY KEY NOT NULL,
        Timestamp INTEGER NOT NULL,
        ExitCode  INTEGER NOT NULL,
        CHECK (ExitCode BETWEEN -1 AND 255)
);
CREATE TABLE IF NOT EXISTS PodConfig(
        ID              TEXT    PRIMARY KEY NOT NULL,
        Name            TEXT    UNIQUE NOT NULL,
        JSON            TEXT    NOT NULL,
        FOREIGN KEY (ID) REFERENCES IDNamespace(ID) DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (ID) REFERENCES PodState(ID)    DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS PodState(
        ID               TEXT PRIMARY KEY NOT NULL,
        InfraContainerID TEXT,
        JSON             TEXT NOT NULL,
        FOREIGN KEY (ID)               REFERENCES PodConfig(ID)       DEFERRABLE INITIALLY DEFERRED,
        FOREIGN KEY (InfraContainerID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS VolumeConfig(
        Name            TEXT    PRIMARY KEY NOT NULL,
        StorageID       TEXT,
        JSON            TEXT    NOT NULL,
        FOREIGN KEY (Name) REFERENCES VolumeState(Name) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS VolumeState(
        Name TEXT PRIMARY KEY NOT NULL,
        JSON TEXT NOT NULL,
        FOREIGN KEY (Name) REFERENCES VolumeConfig(Name) DEFERRABLE INITIALLY DEFERRED
);
"""

C1 = "d60c727cb923d465b158abe5df17a52b1d8a235265264d86e3bbcf4adc43b15f"
C2 = "2fbabf07f448eb25289d11a6036a7b7f915fe85d00be3706833f86b21254f22e"


def podman5():
    path, db = fresh("podman5.db", 4096)
    db.executescript(PODMAN_SCHEMA)
    db.execute("INSERT INTO DBConfig VALUES (1, 1, 'linux', ?, '/run/libpod', ?, ?, 'overlay', ?)",
               ("/var/lib/containers/storage/libpod", "/var/lib/containers/storage",
                "/run/containers/storage", "/var/lib/containers/storage/volumes"))

    def read(name):
        with open(os.path.join(HERE, "podman", name), "rb") as f:
            return f.read().rstrip(b"\n")

    for cid in (C1, C2):
        config = read(cid + ".config.json")
        state = json.loads(read(cid + ".state.json"))
        if cid == C2:
            state.update({"state": 6, "exitCode": 2, "exited": True,
                          "startedTime": "2026-12-05T03:47:00.5Z", "finishedTime": "2026-12-05T03:47:03Z"})
        name = json.loads(config)["name"]
        db.execute("INSERT INTO IDNamespace VALUES (?)", (cid,))
        db.execute("INSERT INTO ContainerConfig VALUES (?, ?, ?, ?)", (cid, name, None, config))
        db.execute("INSERT INTO ContainerState VALUES (?, ?, ?, ?)",
                   (cid, state["state"], state.get("exitCode", 0), json.dumps(state, separators=(",", ":")).encode()))
    db.execute("INSERT INTO ContainerVolume VALUES (?, 'vol1')", (C2,))
    db.execute("INSERT INTO VolumeConfig VALUES ('vol1', NULL, ?)",
               (b'{"name":"vol1","labels":{},"mountPoint":"/var/lib/containers/storage/volumes/vol1/_data","driver":"local"}',))
    db.execute("INSERT INTO VolumeState VALUES ('vol1', ?)", (b"{}",))
    db.commit()
    db.close()
    pack(path)


if __name__ == "__main__":
    for ps in (512, 4096, 65536):
        basic(ps)
    small()
    reserved()
    podman5()
