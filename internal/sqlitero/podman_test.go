package sqlitero

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPodman5 reads a database shaped as Podman 5's libpod/db.sql, whose
// JSON (Podman binds it as []byte) is kept as blobs, over overflow pages.
func TestPodman5(t *testing.T) {
	db := openBytes(t, load(t, "podman5.db"))
	tables, err := db.Tables()
	want := []string{"DBConfig", "IDNamespace", "ContainerConfig", "ContainerState", "ContainerExecSession", "ContainerDependency",
		"ContainerVolume", "ContainerExitCode", "PodConfig", "PodState", "VolumeConfig", "VolumeState"}
	if err != nil || !reflect.DeepEqual(tables, want) {
		t.Errorf("Tables() = %q, %v; want %q", tables, err, want)
	}

	cols, got := rows(t, db, "DBConfig")
	wantRows := []row{{1, []any{int64(1), int64(1), "linux", "/var/lib/containers/storage/libpod", "/run/libpod",
		"/var/lib/containers/storage", "/run/containers/storage", "overlay", "/var/lib/containers/storage/volumes"}}}
	if want := []string{"ID", "SchemaVersion", "OS", "StaticDir", "TmpDir", "GraphRoot", "RunRoot", "GraphDriver", "VolumeDir"}; !reflect.DeepEqual(cols, want) || !reflect.DeepEqual(got, wantRows) {
		t.Errorf("DBConfig = %q %v, want %q %v", cols, got, want, wantRows)
	}

	const c1, c2 = "d60c727cb923d465b158abe5df17a52b1d8a235265264d86e3bbcf4adc43b15f", "2fbabf07f448eb25289d11a6036a7b7f915fe85d00be3706833f86b21254f22e"
	config := func(id string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "podman", id+".config.json"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	cols, got = rows(t, db, "ContainerConfig")
	wantRows = []row{{1, []any{c1, "c1", nil, config(c1)}}, {2, []any{c2, "c2", nil, config(c2)}}}
	if want := []string{"ID", "Name", "PodID", "JSON"}; !reflect.DeepEqual(cols, want) || !reflect.DeepEqual(got, wantRows) {
		t.Errorf("ContainerConfig = %q %.300v, want %q %.300v", cols, got, want, wantRows)
	}
	if n := len(config(c1)); n != 11349 {
		t.Errorf("c1's config JSON is %d bytes, want 11349 (more than a 4096-byte page holds)", n)
	}

	_, got = rows(t, db, "ContainerState")
	wantRows = []row{
		{1, []any{c1, int64(1), int64(0), []byte(`{"state":1,"runDir":"/run/containers/storage/overlay-containers/` + c1 + `/userdata","startedTime":"0001-01-01T00:00:00Z","finishedTime":"0001-01-01T00:00:00Z","Service":{"servicePods":null},"checkpointedTime":"0001-01-01T00:00:00Z","restoredTime":"0001-01-01T00:00:00Z"}`)}},
		{2, []any{c2, int64(6), int64(2), []byte(`{"state":6,"runDir":"/run/containers/storage/overlay-containers/` + c2 + `/userdata","startedTime":"2026-12-05T03:47:00.5Z","finishedTime":"2026-12-05T03:47:03Z","Service":{"servicePods":null},"checkpointedTime":"0001-01-01T00:00:00Z","restoredTime":"0001-01-01T00:00:00Z","exitCode":2,"exited":true}`)}},
	}
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("ContainerState =\n%v\nwant\n%v", got, wantRows)
	}

	_, got = rows(t, db, "ContainerVolume")
	if wantRows := []row{{1, []any{c2, "vol1"}}}; !reflect.DeepEqual(got, wantRows) {
		t.Errorf("ContainerVolume = %v, want %v", got, wantRows)
	}
}
