// Package save writes images and containers of a store to one tar
// archive in the format of docker save of Docker 25 and later:
// manifest.json and repositories, a legacy directory per layer, and the
// OCI image layout (oci-layout, index.json, blobs/sha256/).
//
// It owns the decisions a save makes: which images the references name
// (as docker save takes them, and containers as docker commit would make
// images of them), which layers go as their original tar streams,
// rebuilt from their tar-splits (layertar), and which as fresh tars of
// their files, and with them which configs and ids stay and which are
// new; the configs Docker 1.10's migration gives pre-1.10 images; what
// becomes of a container's volumes and binds; and the writing of it all
// in one pass (imagetar).
//
// It never prints: what the user should know comes through
// Options.Warn, how far the writing is through Options.Progress. Where
// the archive goes is the caller's; File writes it to a file whole or
// not at all.
package save
