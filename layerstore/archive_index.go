package layerstore

// IndexProgress is told how the first index pass over an image's
// archive layers goes (IndexArchive), for a display: the library
// itself never prints. Each func may be nil.
type IndexProgress struct {
	// Start is told, before any blob is read, the image's name and how
	// many of its layers have no index cached, with their blobs' bytes.
	Start func(image string, layers int, bytes int64)
	// Progress is told the blobs' bytes as they are read, adding up to
	// Start's; LayerDone, each layer indexed (or failed); End, that the
	// pass is over.
	Progress  func(n int64)
	LayerDone func()
	End       func()
}

// IndexArchive builds and caches the indexes a view of t needs
// (OpenArchiveLayer) of each layer of t's Stack that is a blob of an
// image archive with no index cached yet, so that the view, opened
// after in this process or in a mount's server, reads none of the
// blobs; p is told how it goes. Nothing is read where every index is
// cached, nor without a cache (AUFSMOUNT_NO_CACHE), where the view's
// own opening builds them. A blob that fails is left for the view's
// opening to report, as it would without this pass.
func IndexArchive(t *Target, p IndexProgress) {
	dir := cacheRoot("archive")
	if dir == "" {
		return
	}
	var todo []Layer
	var total int64
	seen := map[string]bool{}
	for _, l := range t.Stack {
		b := l.Archive
		if b == nil || seen[b.Digest] {
			continue
		}
		seen[b.Digest] = true
		hex, err := parseDigest(b.Digest)
		if err != nil || indexed(b, dir, hex) {
			continue // not cached by digest, or cached already
		}
		todo = append(todo, l)
		total += b.Size
	}
	if len(todo) == 0 {
		return
	}
	if p.Start != nil {
		p.Start(t.Name, len(todo), total)
	}
	for _, l := range todo {
		var reported int64
		progress := func(done int64) {
			if p.Progress != nil && done > reported {
				p.Progress(done - reported)
			}
			reported = max(reported, done)
		}
		if s, err := openArchiveLayer(l.Archive, l.DiffID, progress, false); err == nil {
			s.Close()
		}
		progress(l.Archive.Size) // what a cached part of it, or a failure, left unread
		if p.LayerDone != nil {
			p.LayerDone()
		}
	}
	if p.End != nil {
		p.End()
	}
}
