package layerstore

import (
	"strings"
	"time"
)

// historyStep is one entry of an image's history as the store records
// it: the image config's "history" (1.10+), or the image's own graph
// json (before 1.10, where each layer is an image of one step).
type historyStep struct {
	created            time.Time
	createdBy, comment string
	empty              bool
}

// HistoryEntry is one step of an image's history, as docker history
// shows it.
type HistoryEntry struct {
	// ImageID is the image the step made, where the store has one: the
	// image itself for the top step, then its parents (Image.Parent) down;
	// "" (docker's <missing>) below them.
	ImageID   string
	Created   time.Time // zero when unknown
	CreatedBy string    // as recorded: "/bin/sh -c #(nop)  CMD [\"sh\"]"
	Comment   string
	Empty     bool   // the step made no layer (ENV, CMD, LABEL ...)
	Layer     *Layer // the layer the step made; nil for an empty step
}

// History lists the steps of t's image (for a container, of the image
// it was made from), top first: every entry of its history, those that
// made no layer included, each with the layer it made. A layer the
// history does not account for is listed above them with nothing known
// but the layer.
func (s *Store) History(t *Target) ([]HistoryEntry, error) {
	p, err := s.part(t)
	if err != nil {
		return nil, err
	}
	layers := imageLayers(t)
	if p.layout == LayoutGraph {
		out := make([]HistoryEntry, len(layers))
		for i := range layers {
			out[i] = HistoryEntry{ImageID: layers[i].ID, Layer: &layers[i]}
			if r := p.graphRecs[layers[i].ID]; r != nil && len(r.steps) > 0 {
				st := r.steps[0]
				out[i].Created, out[i].CreatedBy, out[i].Comment = st.created, st.createdBy, st.comment
			}
		}
		return out, nil
	}
	var rec *imageRec
	if t.Image != nil {
		rec = p.images[t.Image.ID]
	}
	var steps []historyStep
	if rec != nil {
		steps = rec.steps
	}
	// Base first, as recorded; non-empty steps take the layers in order.
	var out []HistoryEntry
	k := 0
	for _, st := range steps {
		e := HistoryEntry{Created: st.created, CreatedBy: st.createdBy, Comment: st.comment, Empty: st.empty}
		if !st.empty && k < len(layers) {
			e.Layer = &layers[len(layers)-1-k]
			k++
		}
		out = append(out, e)
	}
	for ; k < len(layers); k++ {
		out = append(out, HistoryEntry{Layer: &layers[len(layers)-1-k]})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	// The top step is the image's; each step below, its parent's, for as
	// long as the store has them.
	id := ""
	if t.Image != nil {
		id = t.Image.ID
	}
	for i := range out {
		if id == "" {
			break
		}
		out[i].ImageID = id
		r := p.images[id]
		if r == nil {
			break
		}
		id = r.Parent
	}
	return out, nil
}

// imageLayers is the part of t's chain that is its image's: for a
// container, what is below its writable and init layers.
func imageLayers(t *Target) []Layer {
	if t.Kind != KindContainer || len(t.Layers) == 0 {
		return t.Layers
	}
	own := 1
	if len(t.Layers) > 1 && strings.HasSuffix(t.Layers[1].ID, "-init") {
		own = 2
	}
	return t.Layers[own:]
}

// metadataParent is the parent image a local build recorded for image
// id (imagedb/metadata/sha256/<id>/parent), or "".
func (s *store) metadataParent(id string) string {
	v, err := readSmallOptional(s.casPath("imagedb", "metadata", "sha256", id, "parent"))
	if err != nil || v == "" {
		return ""
	}
	hex, err := parseDigest(v)
	if err != nil {
		return ""
	}
	return hex
}

// markIntermediate flags the images docker images hides without -a:
// untagged ones that another image is built on, or whose chain is the
// start of another image's chain.
func (s *store) markIntermediate() {
	parents := map[string]bool{}
	inner := map[string]bool{} // chain ids below the top of some image's chain
	for _, r := range s.images {
		if r.Parent != "" {
			parents[r.Parent] = true
		}
		for i := 0; i+1 < len(r.chainIDs); i++ {
			inner[r.chainIDs[i]] = true
		}
	}
	for _, r := range s.graphRecs { // a broken image still has its parent
		if r.parent != "" {
			parents[r.parent] = true
		}
	}
	for id, r := range s.images {
		n := len(r.chainIDs)
		r.Intermediate = len(r.Names) == 0 && (parents[id] || n > 0 && inner[r.chainIDs[n-1]])
	}
}
