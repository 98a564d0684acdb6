package integration

import (
	"sort"
	"strings"
	"testing"
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
// compared sorted by path, as aufsmount prints them.
func TestRealEngineDiff(t *testing.T) {
	dockerd := requireTool(t, "dockerd")
	docker := requireTool(t, "docker")
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
				requireTool(t, "fuse-overlayfs")
			}
			e := startEngine(t, dockerd, docker, driver)
			e.docker("import", rootfs, engineBase)
			e.docker("run", "--network", "none", "--name", "changed", engineBase, "sh", "-c",
				"echo started > /var/lib/app/app.log; rm /etc/motd; mkdir /tmp/session; touch /tmp/session/1; "+
					"chmod 0700 /usr/share; chmod 0644 /etc/passwd; touch -t 200102030405.06 /opt")
			lines := strings.SplitAfter(e.docker("diff", "changed"), "\n")
			sort.Slice(lines, func(i, j int) bool { return lines[i][min(2, len(lines[i])):] < lines[j][min(2, len(lines[j])):] })
			engine := strings.Join(lines, "")
			e.stop()
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
