package storetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aufsmount/aufsmount/internal/testenv"
	"github.com/aufsmount/aufsmount/layerstore"
)

// TestMergeAgainstFuseOverlayfs checks the model against a second
// opinion: fuse-overlayfs mounting the same layer directories. It differs
// from aufs on one rule (it hides a name whited out in its own layer),
// which the layers below avoid.
func TestMergeAgainstFuseOverlayfs(t *testing.T) {
	bin := testenv.Tool(t, "fuse-overlayfs")
	_, err := os.Stat("/dev/fuse")
	testenv.Require(t, err == nil, "no /dev/fuse: %v", err)
	layers := []*Layer{ // top first
		NewLayer("top",
			F("etc/new", "n"), WH("etc/passwd"), OPQ("opq"), F("opq/mine", ""),
			WH("gone"), F("d/a", "top"), L("sym", "/"), F("filedir", "now a file"),
			D("dir-over-file").WithMode(0700), F("dir-over-file/x", ""),
			F(".wh..wh.aufs", ""), F(".wh..wh.plnk/1.2", ""), F(".wh..", ""),
			F("hl", "linked").WithMode(0640), H("hl2", "hl"),
		),
		NewLayer("middle",
			F("d/b", "mid"), D("d").WithMode(0711).WithOwner(1, 2),
			F("dir-over-file", "file"), WH("d/c"), F("opq/hidden", ""),
		),
		NewLayer("base",
			F("etc/passwd", "root"), F("etc/group", "g"), F("gone/deep/x", ""),
			F("d/c", "base"), F("d/e", "base"), F("sym/x", ""), F("filedir/x", ""),
			F("dir-over-file/below", ""), F("opq/hidden2", ""),
			Mknod("null", CharDev, 1, 3), Mknod("fifo", Fifo, 0, 0),
			F("old", "o").WithMtime(t1999).WithOwner(5, 6).WithMode(04711),
			Big("big", 5<<20),
		),
	}
	// Reversed so that Images lists layers base first.
	img := &Image{Names: []string{"x"}, Layers: []*Layer{layers[2], layers[1], layers[0]}}
	b, err := (&Store{Images: []*Image{img}}).Write(t.TempDir(), layerstore.LayoutCAS)
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	cmd := exec.Command(bin, "-o", "ro,lowerdir="+strings.Join(b.Chain[img], ":"), mnt)
	out, err := cmd.CombinedOutput()
	testenv.Require(t, err == nil, "fuse-overlayfs: %v: %s", err, out)
	defer func() {
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", mnt).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount %s", mnt)
	}()
	want := Merge(b.ChainLayers[img])
	if len(want) < 20 {
		t.Fatalf("model has only %d nodes", len(want))
	}
	// Hard links are left out: see CompareOptions.SkipLinks.
	if err := Compare(mnt, want, CompareOptions{SkipLinks: true}); err != nil {
		t.Error(err)
	}
	// And the model is not trivially satisfied: a missing file is noticed.
	if err := Compare(mnt, want[:len(want)-1], CompareOptions{SkipContent: true}); err == nil {
		t.Error("Compare missed an extra file")
	}
}

// TestGeneratedAgainstFuseOverlayfs checks the model on a random store
// against fuse-overlayfs.
func TestGeneratedAgainstFuseOverlayfs(t *testing.T) {
	bin := testenv.Tool(t, "fuse-overlayfs")
	for seed := uint64(1); seed <= 3; seed++ {
		layers := Generate(GenOptions{Seed: seed, Layers: 8, Entries: 3000})
		img := &Image{Names: []string{"gen"}, Layers: layers}
		b, err := (&Store{Images: []*Image{img}}).Write(t.TempDir(), layerstore.LayoutGraph)
		if err != nil {
			t.Fatal(err)
		}
		mnt := t.TempDir()
		out, err := exec.Command(bin, "-o", "ro,lowerdir="+strings.Join(b.Chain[img], ":"), mnt).CombinedOutput()
		testenv.Require(t, err == nil, "fuse-overlayfs: %v: %s", err, out)
		want := Merge(b.ChainLayers[img])
		err = Compare(mnt, want, CompareOptions{SkipLinks: true})
		for i := 0; i < 50 && exec.Command("fusermount3", "-u", mnt).Run() != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
		whiteouts, opaque := 0, 0
		for _, l := range layers {
			for _, e := range l.Entries {
				switch e.Kind {
				case Whiteout:
					whiteouts++
				case Opaque:
					opaque++
				}
			}
		}
		t.Logf("seed %d: %d nodes in the view, %d whiteouts, %d opaque markers", seed, len(want), whiteouts, opaque)
		if whiteouts == 0 || opaque == 0 {
			t.Errorf("seed %d: the generator made no whiteout or opaque marker", seed)
		}
	}
}
