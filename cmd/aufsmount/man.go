//go:build !urfave_cli_no_docs

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The man page is generated from the commands' own help by urfave/cli,
// whose generator the Makefile leaves out of the installed binary
// (-tags urfave_cli_no_docs): make builds aufsmount once without that tag
// and runs "aufsmount gen-man > aufsmount.1".
func init() {
	manCommand = func() *cli.Command {
		return &cli.Command{
			Name:   "gen-man",
			Usage:  "print the man page aufsmount(1) (for make)",
			Hidden: true,
			Action: func(c *cli.Context) error {
				page, err := c.App.ToManWithSection(1)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, page, manExtra)
				return err
			},
		}
	}
}

// manExtra is what the commands' help does not say: mount(8), fstab and
// systemd, the exit status, related pages.
var manExtra = `
.SH MOUNT(8), FSTAB AND SYSTEMD
make install links \fB/sbin/mount.fuse.aufsmount\fP to aufsmount, so that
mount(8) mounts views of type \fBfuse.aufsmount\fP; without that link,
mount.fuse3 runs \fBaufsmount\fP from PATH. The store is the option
\fBroot=DIR\fP (and \fBdriver=NAME\fP), or $AUFSMOUNT_ROOT.
.PP
.EX
mount -t fuse.aufsmount -o ro,root=/srv/old-host/docker busybox:latest /mnt/img
.EE
.PP
An /etc/fstab line:
.PP
.EX
busybox:latest  /mnt/img  fuse.aufsmount  ro,nofail,root=/srv/old-host/docker  0  0
.EE
.PP
The view is always read-only, nosuid and nodev: \fBrw\fP is accepted with a
note, and \fBdefaults\fP, \fBsuid\fP, \fBdev\fP, \fBauto\fP, \fBnoauto\fP,
\fBuser\fP, \fBusers\fP, \fBnofail\fP, \fB_netdev\fP and \fBx-*\fP
change nothing. \fBnoexec\fP and \fBnoatime\fP apply; \fBnonempty\fP allows
a mount point that is not empty; \fBas-is\fP shows the layer directories
exactly as they are, with nothing a copy of the store lost restored from
the layers' tar-splits.
.SH EXIT STATUS
0 on success, 1 on an error, 2 for a mistake in the command line.
` + verifyStatusText(".PP\n\\fBverify\\fP has statuses of its own:\n", ".TP\n%d\n%s\n") + `.SH ENVIRONMENT
.TP
\fBAUFSMOUNT_ROOT\fP
the store to read when --root is not given (default /var/lib/docker)
.SH SEE ALSO
mount(8), fstab(5), systemd.mount(5), fusermount3(1), mount.fuse3(8)
`
