package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aufsmount/aufsmount/layerstore"
	st "github.com/aufsmount/aufsmount/layerstore/storetest"
)

func main() {
	root := os.Args[1]
	if _, err := os.Stat(root); err != nil {
		layers := st.Generate(st.GenOptions{Seed: 1, Layers: 57, Entries: 80000})
		img := &st.Image{Names: []string{"bench:a"}, Layers: layers}
		s := &st.Store{Images: []*st.Image{img}, Driver: st.DriverOverlay2}
		t := time.Now()
		if _, err := s.Write(root, layerstore.LayoutCAS); err != nil {
			panic(err)
		}
		fmt.Println("written in", time.Since(t))
	}
	s, err := layerstore.Open(root)
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		t := time.Now()
		tg, err := s.Resolve("bench:a")
		if err != nil {
			panic(err)
		}
		t1 := time.Since(t)
		rs, err := s.RecoverMarkers(tg)
		if err != nil {
			panic(err)
		}
		fmt.Println("resolve", t1, "recover", time.Since(t)-t1, len(rs), "repairs")
	}
}
