package mounttable_test

import (
	"fmt"
	"strings"

	"github.com/aufsmount/aufsmount/fs/mounttable"
)

// Parse a mount table and pick out our views: a FUSE view (type
// fuse.aufsmount, the reference as source) and a kernel view (overlay,
// source aufsmount:REF), but not Docker's own overlay mount.
func Example() {
	table := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
41 22 0:35 / /mnt/my\040img ro,nosuid,nodev,relatime shared:60 - fuse.aufsmount busybox:latest ro,user_id=1000,group_id=1000,default_permissions
42 22 0:36 / /mnt/app ro,nosuid,nodev,relatime shared:61 - overlay aufsmount:user/app:v1 ro,lowerdir=/l1:/l2
43 22 0:37 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/l3,upperdir=/u,workdir=/w
`
	mounts, err := mounttable.Parse(strings.NewReader(table))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range mounts {
		if !m.IsView() {
			continue
		}
		served := "FUSE"
		if m.IsKernelView() {
			served = "kernel"
		}
		fmt.Printf("%s: %s (%s)\n", m.MountPoint, m.Ref(), served)
	}
	m, ok := mounttable.Find(mounts, "/mnt/my img")
	uid, _ := m.Owner()
	fmt.Println(ok, m.ID, uid)
	// Output:
	// /mnt/my img: busybox:latest (FUSE)
	// /mnt/app: user/app:v1 (kernel)
	// true 41 1000
}
