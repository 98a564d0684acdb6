package main

import (
	"path/filepath"
	"strings"
)

// mount(8) runs /sbin/mount.fuse.aufsmount (a symlink to aufsmount that
// make install puts there) for "mount -t fuse.aufsmount" and for fstab
// lines of that type, with the arguments every mount helper gets:
//
//	mount.fuse.aufsmount SOURCE MOUNTPOINT [-sfnv] [-N NAMESPACE] [-o OPTIONS] [-t TYPE]
//
// Without that symlink, mount(8) runs mount.fuse3, which runs
// "aufsmount SOURCE MOUNTPOINT -o OPTIONS" through /bin/sh: an ordinary
// command line.

// helperName says whether argv[0] is the name mount(8) gives a helper.
func helperName(argv0 string) bool {
	return strings.HasPrefix(filepath.Base(argv0), "mount.fuse.aufsmount")
}

// helperArgs turns a mount helper's command line into aufsmount's own:
// "aufsmount mount -o OPTIONS -- SOURCE MOUNTPOINT". fake says mount -f
// (do everything but mount) was asked for. -s (tolerate unknown options),
// -n (do not write /etc/mtab) and -v (verbose) change nothing; -N
// (another mount namespace) is refused.
func helperArgs(args []string) (out []string, fake bool, err error) {
	var pos, opts []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" || a == "-t" || a == "-N":
			if i+1 == len(args) {
				return nil, false, usageErrorf("mount helper: %s needs a value", a)
			}
			i++
			switch a {
			case "-o":
				opts = append(opts, args[i])
			case "-N":
				return nil, false, usageErrorf("mount helper: -N %s: mounting in another mount namespace is not supported", args[i])
			}
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			opts = append(opts, a[2:])
		case len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "sfnv") == "":
			fake = fake || strings.Contains(a, "f")
		case len(a) > 1 && a[0] == '-':
			return nil, false, usageErrorf("mount helper: %s: unknown option (mount.fuse.aufsmount SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS])", a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return nil, false, usageErrorf("mount helper: expected SOURCE MOUNTPOINT, got %s (mount.fuse.aufsmount SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS])", nArgs(len(pos)))
	}
	out = []string{"aufsmount", "mount"}
	if len(opts) > 0 {
		out = append(out, "-o", strings.Join(opts, ","))
	}
	return append(out, "--", pos[0], pos[1]), fake, nil
}
