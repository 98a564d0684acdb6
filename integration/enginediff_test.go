package integration

import (
	"sort"
	"strings"
	"testing"

	"github.com/aufsmount/aufsmount/internal/testenv"
)

// TestRealEngineDiff checks aufsmount diff CONTAINER against docker diff
// of a real engine (Docker 20.10), on each storage driver it runs here:
// a container of the engine test's base image writes
// /var/lib/app/app.log, deletes /etc/motd, makes /tmp/session/1, changes
// the mode of /usr/share, copies /etc/passwd up without changing it and
// gives /opt a new modification time. The engine is asked while it runs,
// then stopped, and aufsmount reads its root. Both must print what is
// written out here: the directories above each change are listed, the
// copy and the new time of a directory are not (20.10 compares the two
// trees for every one of these drivers, overlay2 included). docker diff
// lists siblings in no set order (the engine walks a map): its lines are
// compared sorted by path, as aufsmount prints them. Then what docker's
// templates print of the container and its image (inspect -f, images
// --format), and docker inspect of each, are asked of aufsmount too.
func TestRealEngineDiff(t *testing.T) {
	dockerd := testenv.Tool(t, "dockerd")
	docker := testenv.Tool(t, "docker")
	rootfs := writeEngineRootfs(t, requireStaticBusybox(t))
	const want = `C /etc
D /etc/motd
C /tmp
A /tmp/session
A /tmp/session/1
C /usr
C /usr/share
C /var
C /var/lib
C /var/lib/app
A /var/lib/app/app.log
`
	for _, driver := range []string{"overlay2", "vfs", "overlay", "fuse-overlayfs"} {
		t.Run(driver, func(t *testing.T) {
			if driver == "fuse-overlayfs" {
				testenv.Tool(t, "fuse-overlayfs")
			}
			e := startEngine(t, dockerd, docker, driver)
			e.docker("import", rootfs, engineBase)
			e.docker("run", "--network", "none", "--name", "changed", engineBase, "sh", "-c",
				"echo started > /var/lib/app/app.log; rm /etc/motd; mkdir /tmp/session; touch /tmp/session/1; "+
					"chmod 0700 /usr/share; chmod 0644 /etc/passwd; touch -t 200102030405.06 /opt")
			lines := strings.SplitAfter(e.docker("diff", "changed"), "\n")
			sort.Slice(lines, func(i, j int) bool { return lines[i][min(2, len(lines[i])):] < lines[j][min(2, len(lines[j])):] })
			engine := strings.Join(lines, "")
			// What docker's templates print of the same store: the
			// container by a one-digit prefix of its id, as docker takes it.
			id := strings.TrimSpace(e.docker("inspect", "-f", "{{.Id}}", "changed"))
			formats := [][]string{
				{"inspect", "-f", "{{.NetworkSettings.IPAddress}}|{{.Platform}}|{{.SizeRw}}|{{.State.ExitCode}}|{{json .State.Pid}}|{{.Name}}", id[:1]},
				{"inspect", "--type", "image", "-f", "{{.Size}}|{{json .VirtualSize}}|{{.Os}}|{{.Variant}}", engineBase},
				{"inspect", "-f", "{{.Config.ExposedPorts}}|{{.Config.StopTimeout}}|{{.Config.Shell}}|{{.State.Health}}|{{.SizeRootFs}}", "changed"},
				{"inspect", "-f", "{{.ContainerConfig.Healthcheck}}|{{.Config.Shell}}|{{.Metadata.LastTagTime.IsZero}}", engineBase},
				{"images", "--format", "{{.Repository}}|{{.Tag}}|{{.Size}}|{{.VirtualSize}}|{{.Digest}}|{{.ID}}"},
			}
			var said []string
			for _, f := range formats {
				said = append(said, e.docker(f...))
			}
			inspectImage, inspectContainer := e.docker("inspect", engineBase), e.docker("inspect", "changed")
			if want := "|linux|<nil>|0|0|/changed\n"; said[0] != want {
				t.Errorf("docker %q printed %q, want %q", formats[0], said[0], want)
			}
			e.stop()
			for i, f := range formats {
				if out, stderr, code := run(t, append([]string{"--root", e.root}, f...)...); code != 0 || out != said[i] {
					t.Errorf("aufsmount %q: exit %d, stderr %q, printed %q; docker printed %q", f, code, stderr, out, said[i])
				}
			}
			// inspect prints what docker does, byte for byte; for the
			// container, AufsMount follows.
			if out, _, code := run(t, "--root", e.root, "inspect", engineBase); code != 0 || out != inspectImage {
				t.Errorf("aufsmount inspect %s: exit %d, printed\n%s\ndocker inspect printed\n%s", engineBase, code, out, inspectImage)
			}
			out, _, code := run(t, "--root", e.root, "inspect", "changed")
			if code != 0 || !strings.HasPrefix(out, strings.TrimSuffix(inspectContainer, "\n    }\n]\n")+",\n        \"AufsMount\": {") {
				t.Errorf("aufsmount inspect changed: exit %d, printed\n%s\ndocker inspect printed (AufsMount apart)\n%s", code, out, inspectContainer)
			}
			if engine != want {
				t.Errorf("docker diff printed\n%s\nwant\n%s", engine, want)
			}
			// Notes may say how layers were read (fuse-overlayfs leaves a
			// mode on disk that its tar-split corrects); nothing worse.
			out, stderr, code := run(t, "--root", e.root, "diff", "changed")
			for _, line := range strings.SplitAfter(stderr, "\n") {
				if line != "" && !strings.HasPrefix(line, "aufsmount: note: ") {
					t.Errorf("aufsmount diff changed: stderr %q", line)
				}
			}
			if code != 0 || out != engine {
				t.Errorf("aufsmount diff changed: exit %d, printed\n%s\ndocker diff printed\n%s", code, out, engine)
			}
		})
	}
}
