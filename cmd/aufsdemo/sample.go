package main

import (
	"time"

	st "github.com/aufsmount/aufsmount/internal/storetest"
)

// sampleStore is the demo's store: a base image, two versions of an
// application built on it, and a stopped container of the first.
func sampleStore() (s *st.Store, v1, v2 *st.Image) {
	t0 := time.Date(2016, 4, 21, 10, 42, 7, 0, time.UTC)
	base := st.NewLayer("#(nop) ADD file:4f7b8d7e1c in /",
		st.F("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 8 (jessie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"8\"\nID=debian\n"),
		st.F("etc/motd", "The programs included with the Debian GNU/Linux system are free software.\n"),
		st.F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"),
		st.Big("bin/busybox", 18<<10).WithMode(0755),
		st.H("bin/sh", "bin/busybox"),
		st.H("bin/ls", "bin/busybox"),
		st.F("bin/ping", "\x7fELF ping").WithMode(04755).WithXattr("security.capability", capNetRaw()),
		st.L("usr/bin/vi", "/bin/busybox"),
		st.Mknod("dev/null", st.CharDev, 1, 3).WithMode(0666),
		st.D("tmp").WithMode(01777),
		st.Big("var/cache/apt/pkgcache.bin", 12<<10),
		st.Big("var/cache/apt/srcpkgcache.bin", 9<<10),
	)
	base.Created = t0
	cmd := &st.Layer{CreatedBy: `#(nop) CMD ["/bin/sh"]`, Empty: true, Created: t0.Add(time.Minute)}
	app := st.NewLayer("apt-get update && apt-get install -y python && rm /etc/motd",
		st.WH("etc/motd"),
		st.OPQ("var/cache/apt"),
		st.F("var/cache/apt/archives/lock", ""),
		st.D("opt/app").WithOwner(33, 33),
		st.F("opt/app/app.py", "print('hello from app')\n").WithOwner(33, 33),
		st.F("opt/app/config.yml", "listen: :8080\nworkers: 2\n").WithOwner(33, 33).WithXattr("user.origin", "build 41"),
		st.F("opt/app/run.sh", "#!/bin/sh\nexec python /opt/app/app.py\n").WithMode(0755).WithOwner(33, 33),
	)
	app.Created = t0.Add(24 * time.Hour)
	v2Layer := st.NewLayer("COPY config.yml VERSION /opt/app/ && rm /opt/app/run.sh",
		st.F("opt/app/config.yml", "listen: :8080\nworkers: 8\n").WithOwner(33, 33).WithXattr("user.origin", "build 57"),
		st.F("opt/app/VERSION", "2\n"),
		st.WH("opt/app/run.sh"),
	)
	v2Layer.Created = t0.Add(48 * time.Hour)

	jessie := &st.Image{Names: []string{"debian:jessie"}, Layers: []*st.Layer{base, cmd}}
	v1 = &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{base, cmd, app}}
	v2 = &st.Image{Names: []string{"app:v2", "app:latest"}, Layers: []*st.Layer{base, cmd, app, v2Layer}}
	web := &st.Container{
		Name:  "web",
		Image: v1,
		RW: st.NewLayer("",
			st.F("var/log/app.log", "2016-04-23 09:12:01 started\n2016-04-23 09:12:01 serving on :8080\n"),
			st.F("tmp/session-1", "user=alice\n").WithMode(0600),
		),
		Created: t0.Add(49 * time.Hour),
	}
	return &st.Store{Images: []*st.Image{jessie, v1, v2}, Containers: []*st.Container{web}}, v1, v2
}

// capNetRaw is a vfs_cap_data (revision 2) granting cap_net_raw, as
// Debian's ping has.
func capNetRaw() string {
	b := make([]byte, 20)
	b[3] = 0x02   // VFS_CAP_REVISION_2, little endian
	b[5] = 1 << 5 // permitted: bit 13, cap_net_raw
	return string(b)
}
