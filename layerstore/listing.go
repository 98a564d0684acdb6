package layerstore

// What docker images and docker ps list: which images and containers,
// and the ids and image names their columns show.

// ListImages is what docker images lists of s, newest first: with
// intermediate, every image, else those docker images shows without -a;
// with a pattern (shell wildcards, MatchNames), the images that have a
// name it matches, each with those names alone.
func ListImages(s Source, pattern string, intermediate bool) []Image {
	var out []Image
	for _, img := range s.Images() {
		if img.Intermediate && !intermediate {
			continue
		}
		if pattern != "" {
			if img.Names = MatchNames(pattern, img.Names); len(img.Names) == 0 {
				continue
			}
		}
		out = append(out, img)
	}
	return out
}

// ListContainers is what docker ps -a lists of s: the containers filter
// matches, and Kubernetes pods' sandbox (pause) containers only with
// sandboxes, as crictl ps leaves them out.
func ListContainers(s Source, filter Filter, sandboxes bool) []Container {
	var out []Container
	for _, ct := range s.Containers() {
		if (!ct.Sandbox || sandboxes) && filter.Match(ct) {
			out = append(out, ct)
		}
	}
	return out
}

// Namespaces counts the containerd namespaces the images and containers
// of s are in: with more than one, a name means something only with its
// namespace, and the listings show it.
func Namespaces(s Source) int {
	seen := map[string]bool{}
	for _, img := range s.Images() {
		seen[img.Namespace] = true
	}
	for _, c := range s.Containers() {
		seen[c.Namespace] = true
	}
	delete(seen, "")
	return len(seen)
}

// FormatImageID is an image's id as docker prints it: 12 hex digits
// when short, else the whole digest, or in a graph/ store (before Docker
// 1.10, when ids were not digests) the bare id.
func FormatImageID(s Source, driver, id string, short bool) string {
	switch {
	case short:
		return ShortID(id)
	case s.LayoutOfDriver(driver) == LayoutGraph:
		return id
	}
	return sha256Prefix + id
}

// ContainerImage is IMAGE as docker ps shows it: the name the container
// was made from while it still means its image (ConfigImage, familiar
// when short), else the image's id.
func ContainerImage(s Source, ct *Container, short bool) string {
	switch name := ConfigImage(s, ct, short); {
	case name != "":
		return name
	case short:
		return ShortID(ct.ImageID)
	}
	return sha256Prefix + ct.ImageID
}
