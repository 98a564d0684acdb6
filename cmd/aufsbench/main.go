package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// metric is one figure the benchmark reports; lower is better for all.
type metric struct {
	key, title, unit string
}

var metrics = []metric{
	{"mount", "mount (start to answering)", "ms"},
	{"shim_build", "  of which scan, plan and shims (--kernel)", "ms"},
	{"stat_cold", "stat-cold: find -printf after mounting", "s"},
	{"stat_warm", "stat-warm: the same again", "s"},
	{"read_small", "read-small: grep -r of every file < 1 MiB", "s"},
	{"read_big", "read-big: dd of the big file, first read", "s"},
	{"diff", "diff: diff -r of two mounted images", "s"},
	{"layer_diff", "aufsmount diff (layer-aware) of the two", "s"},
	{"rss_per_entry", "memory: peak RSS per entry walked", "B"},
}

// kernelStats are the last kernel mount's figures, for the report.
var kernelStats kernelFigures

type report struct {
	Date    string                          `json:"date"`
	Machine string                          `json:"machine"`
	Params  params                          `json:"params"`
	Entries int                             `json:"entries_walked"`
	Rounds  int                             `json:"rounds"`
	Raw     map[string]map[string][]float64 `json:"raw"`
	Median  map[string]map[string]float64   `json:"median"`
}

func main() {
	if len(os.Args) == 5 && os.Args[1] == kernelMountCmd {
		if err := kernelMount(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, "aufsbench:", err)
			os.Exit(1)
		}
		return
	}
	dir := flag.String("dir", "/var/tmp/aufsbench", "work directory (the store is kept there between runs)")
	entries := flag.Int("entries", 100_000, "entries over all layers")
	layers := flag.Int("layers", 60, "layers in the chain")
	wide := flag.Int("wide", 20_000, "entries in the one wide directory")
	big := flag.Int64("big", 1<<30, "size of the big file in bytes")
	rounds := flag.Int("rounds", 3, "rounds; figures are medians")
	jsonOut := flag.String("json", "", "also write the figures as JSON to this file")
	bin := flag.String("bin", "bin/aufsmount", "the aufsmount binary")
	smoke := flag.Bool("smoke", false, "a tiny store and one round: checks the benchmark runs")
	drivers := flag.String("drivers", "aufs,overlay2,podman,containerd", "the storage drivers to write the store for, each measured apart (podman: a containers/storage graphroot, overlay driver; containerd: a containerd root, overlayfs snapshotter, mounted by kernel overlayfs as containerd stacks it; archive: the image as an OCI layout of gzip layers, against tar -xzf and the extracted tree); DRIVER-copied is a copy of that store that lost owners, modes, times, xattrs, devices and hard links")
	flag.Parse()
	if *smoke {
		*entries, *layers, *wide, *big, *rounds = 3000, 8, 500, 8<<20, 1
		realTree = "usr/share/zoneinfo"
		*dir = filepath.Join(os.TempDir(), fmt.Sprintf("aufsbench-smoke-%d", os.Getpid()))
		defer os.RemoveAll(*dir)
	}
	reports := map[string]*report{}
	for _, d := range strings.Split(*drivers, ",") {
		driver, copied := strings.CutSuffix(d, "-copied")
		measure := run
		if driver == archiveDriver {
			measure = runArchive
		}
		rep, err := measure(*dir, params{Entries: *entries, Layers: *layers, Wide: *wide, Big: *big, Driver: driver, Copied: copied}, *rounds, *bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "aufsbench:", err)
			os.Exit(1)
		}
		reports[d] = rep
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(reports, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0644); err != nil {
			fmt.Fprintln(os.Stderr, "aufsbench:", err)
			os.Exit(1)
		}
	}
}

// run measures every system on the store of p, and prints the table.
func run(dir string, p params, rounds int, bin string) (*report, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root (kernel overlayfs mounts and FUSE passthrough)")
	}
	for _, tool := range []string{"fuse-overlayfs", "fusermount3", "find", "grep", "diff", "dd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install fuse-overlayfs fuse3)", tool)
		}
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: build it first (make build)", bin)
	}
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, err
	}
	fmt.Printf("building the %s store (%d entries, %d layers, a %d MiB file, a directory of %d) in %s\n", p.Driver, p.Entries, p.Layers, p.Big>>20, p.Wide, dir)
	start := time.Now()
	bs, err := buildStore(dir, p)
	if err != nil {
		return nil, err
	}
	fmt.Printf("store ready in %.1f s\n", time.Since(start).Seconds())
	la, err := shortLinks(dir, "la", bs.ChainA)
	if err != nil {
		return nil, err
	}
	lb, err := shortLinks(dir, "lb", bs.ChainB)
	if err != nil {
		return nil, err
	}
	lowers := map[string]string{"a": la, "b": lb}
	kernel := kernelOverlay(lowers, "")
	if p.Driver == "overlay2" || p.Driver == podmanDriver {
		// The same chain as Docker (or Podman) mounts it.
		home, a, err := dockerLowers(bs.ChainA)
		if err != nil {
			return nil, err
		}
		_, b, err := dockerLowers(bs.ChainB)
		if err != nil {
			return nil, err
		}
		kernel = kernelOverlay(map[string]string{"a": a, "b": b}, home)
	}
	systems := []system{kernel, fuseOverlayfs(lowers), aufsmount(bin, bs.Root), aufsmountKernel(bs.Root)}
	mntA, mntB := filepath.Join(dir, "mnt-a"), filepath.Join(dir, "mnt-b")
	for _, m := range []string{mntA, mntB} {
		unix.Unmount(m, unix.MNT_DETACH)
		if err := os.MkdirAll(m, 0755); err != nil {
			return nil, err
		}
	}
	rep := &report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Params: p, Rounds: rounds,
		Raw: map[string]map[string][]float64{}, Median: map[string]map[string]float64{}}
	for r := 0; r < rounds; r++ {
		for i := range systems {
			s := systems[(i+r)%len(systems)] // rotate the order: no system always goes first
			fmt.Printf("round %d: %s\n", r+1, s.name)
			figs, n, err := measure(s, bs, mntA, mntB)
			if err != nil {
				unix.Unmount(mntA, unix.MNT_DETACH)
				unix.Unmount(mntB, unix.MNT_DETACH)
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
			if rep.Raw[s.name] == nil {
				rep.Raw[s.name] = map[string][]float64{}
			}
			for k, v := range figs {
				rep.Raw[s.name][k] = append(rep.Raw[s.name][k], v)
			}
			if s.name == "aufsmount" {
				rep.Entries = n
			}
		}
	}
	for name, m := range rep.Raw {
		rep.Median[name] = map[string]float64{}
		for k, v := range m {
			rep.Median[name][k] = median(v)
		}
	}
	printReport(rep, systems)
	if kernelStats.Layers > 0 {
		k := kernelStats
		fmt.Printf("\naufsmount --kernel: %d layers and %d shims (%d whiteouts, %d opaque directories, %d marker names hidden, %d directories copied); last mount: scan and plan %.1f ms, shims %.1f ms, overlay mount %.1f ms\n",
			k.Layers, k.Shims, k.Whiteouts, k.Opaque, k.Hidden, k.Copied, k.PrepareMS, k.BuildMS, k.MountMS)
	}
	return rep, nil
}

// measure runs every workload once on s.
func measure(s system, bs *benchStore, mntA, mntB string) (map[string]float64, int, error) {
	figs := map[string]float64{}
	d, err := mountTimed(s, "a", mntA)
	if err != nil {
		return nil, 0, err
	}
	figs["mount"] = float64(d.Microseconds()) / 1000
	if s.name == "aufsmount --kernel" {
		figs["shim_build"] = lastKernel.PrepareMS + lastKernel.BuildMS
		kernelStats = lastKernel
	}
	find := fmt.Sprintf("find %q -printf '%%i %%m %%s %%n\\n'", mntA)
	d, out, err := timed(find)
	if err != nil {
		return nil, 0, err
	}
	n := strings.Count(out, "\n")
	figs["stat_cold"] = d.Seconds()
	if d, _, err = timed(find + " > /dev/null"); err != nil {
		return nil, 0, err
	}
	figs["stat_warm"] = d.Seconds()
	if s.name == "aufsmount" {
		if pid := servingPid(mntA); pid != 0 && n > 0 {
			figs["rss_per_entry"] = float64(statusKB(pid, "VmHWM")*1024) / float64(n)
		}
	}
	if err := warm(bs.ChainA...); err != nil {
		return nil, 0, err
	}
	if d, _, err = timed(fmt.Sprintf("grep -r -F --exclude=blob.bin AUFSBENCH_NOT_THERE %q", mntA)); err != nil {
		return nil, 0, err
	}
	figs["read_small"] = d.Seconds()
	if err := s.unmount(mntA); err != nil {
		return nil, 0, err
	}
	if _, err := mountTimed(s, "a", mntA); err != nil {
		return nil, 0, err
	}
	big, err := bs.bigFile()
	if err != nil {
		return nil, 0, err
	}
	if err := warm(big); err != nil {
		return nil, 0, err
	}
	if d, _, err = timed(fmt.Sprintf("dd if=%q of=/dev/null bs=1M status=none", filepath.Join(mntA, bs.BigPath))); err != nil {
		return nil, 0, err
	}
	figs["read_big"] = d.Seconds()
	if _, err := mountTimed(s, "b", mntB); err != nil {
		return nil, 0, err
	}
	if err := warm(append(bs.ChainA, bs.ChainB[0])...); err != nil {
		return nil, 0, err
	}
	diff := fmt.Sprintf("diff -r --no-dereference %q %q > /dev/null", mntA, mntB)
	if s.name == "kernel overlayfs" && (bs.Params.Driver == "overlay2" || bs.Params.Driver == podmanDriver || bs.Params.Driver == containerdDriver) {
		// The kernel lists an overlay2 whiteout that hides nothing (in a
		// directory no lower layer has) and then cannot stat it: diff
		// says so and exits 2, as it would on Docker's own mount.
		diff = fmt.Sprintf("diff -r --no-dereference %q %q > /dev/null 2>&1; [ $? -le 2 ]", mntA, mntB)
	}
	if d, _, err = timed(diff); err != nil {
		return nil, 0, err
	}
	figs["diff"] = d.Seconds()
	if err := s.unmount(mntB); err != nil {
		return nil, 0, err
	}
	if s.name == "aufsmount" {
		if d, _, err = timed(fmt.Sprintf("%q --root %q diff bench:a bench:b > /dev/null", s.bin, bs.Root)); err != nil {
			return nil, 0, err
		}
		figs["layer_diff"] = d.Seconds()
	}
	if err := s.unmount(mntA); err != nil {
		return nil, 0, err
	}
	return figs, n, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printReport(rep *report, systems []system) {
	name := rep.Params.Driver
	if rep.Params.Copied {
		name += " (a copy that lost owners, modes, times, xattrs and the rest, restored from tar-splits)"
	}
	fmt.Printf("\n%s store: %s, %s; %d entries walked, %d layers, median of %d rounds\n\n", name, rep.Machine, rep.Date, rep.Entries, rep.Params.Layers, rep.Rounds)
	var names []string
	for _, s := range systems {
		names = append(names, s.name)
	}
	printTable(rep, names, metrics)
}

// printTable prints rep's medians of ms for the systems named, each with
// its ratio to the first.
func printTable(rep *report, systems []string, ms []metric) {
	w := 22
	for _, s := range systems {
		w = max(w, len(s))
	}
	fmt.Printf("%-52s", "")
	for _, s := range systems {
		fmt.Printf(" %*s", w, s)
	}
	fmt.Println()
	first := rep.Median[systems[0]]
	for _, m := range ms {
		fmt.Printf("%-52s", m.title)
		for _, s := range systems {
			v, ok := rep.Median[s][m.key]
			if !ok {
				fmt.Printf(" %*s", w, "-")
				continue
			}
			cell := fmt.Sprintf("%.3g %s", v, m.unit)
			if k := first[m.key]; k > 0 && s != systems[0] {
				cell += fmt.Sprintf(" (%.2fx)", v/k)
			}
			fmt.Printf(" %*s", w, cell)
		}
		fmt.Println()
	}
}

func machine() string {
	var u unix.Utsname
	unix.Uname(&u)
	return fmt.Sprintf("Linux %s, %d cores", unix.ByteSliceToString(u.Release[:]), runtime.NumCPU())
}
