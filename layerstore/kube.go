package layerstore

// Kubernetes' CRI runtimes (containerd's CRI plugin, CRI-O) record a
// pod's containers with labels or annotations naming the pod; a
// container is shown by those names, as crictl shows it.
const (
	k8sPodNamespace = "io.kubernetes.pod.namespace"
	k8sPodName      = "io.kubernetes.pod.name"
	k8sContainer    = "io.kubernetes.container.name"
)

// kubeName is a Kubernetes container's name, <pod namespace>/<pod>/
// <container>, or a sandbox's <pod namespace>/<pod>; "" for a container
// of no pod.
func kubeName(labels map[string]string, sandbox bool) string {
	pod := labels[k8sPodName]
	switch {
	case pod != "" && sandbox:
		return labels[k8sPodNamespace] + "/" + pod
	case pod != "" && labels[k8sContainer] != "":
		return labels[k8sPodNamespace] + "/" + pod + "/" + labels[k8sContainer]
	}
	return ""
}
