package save_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	st "github.com/aufsmount/aufsmount/internal/storetest"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/save"
)

// Saves an image of a store to a buffer, as docker save would, and lists
// the archive's files, each digest written <digest> for short: the
// layer's stream in blobs/, the image config, its legacy directory (whose
// layer.tar links to the blob), the OCI manifest, and Docker's files.
func Example() {
	dir, err := os.MkdirTemp("", "save-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	img := &st.Image{Names: []string{"app:v1"}, Layers: []*st.Layer{st.NewLayer("", st.F("etc/motd", "hello\n"))}}
	b, err := (&st.Store{Images: []*st.Image{img}}).Write(filepath.Join(dir, "docker"), layerstore.LayoutCAS)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := layerstore.Open(b.Root)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := save.Plan(s, []string{"app:v1"}, save.Options{Warn: func(msg string) { fmt.Println("warn:", msg) }})
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if err := a.Write(&buf); err != nil {
		fmt.Println(err)
		return
	}
	hex := regexp.MustCompile(`[0-9a-f]{64}`)
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		name := h.Name
		if h.Typeflag == tar.TypeSymlink {
			name += " -> " + h.Linkname
		}
		fmt.Println(hex.ReplaceAllString(name, "<digest>"))
	}
	// Output:
	// blobs/
	// blobs/sha256/
	// blobs/sha256/<digest>
	// blobs/sha256/<digest>
	// <digest>/
	// <digest>/VERSION
	// <digest>/json
	// <digest>/layer.tar -> ../blobs/sha256/<digest>
	// blobs/sha256/<digest>
	// index.json
	// oci-layout
	// manifest.json
	// repositories
}
