package local

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/k8sbin"
)

// Labels easel puts on every node of a local cluster.
const (
	LabelPool    = "easel.dev/pool"
	LabelMachine = "easel.dev/machine"
)

// AnnotationApplied records on a node the labels and taints of its pool it was given, as JSON
// ({"labels":…,"taints":…}), so that the next change removes those the pool no longer has.
const AnnotationApplied = "easel.dev/applied"

// Machine is one machine of a pool: on a local cluster, a KWOK node.
type Machine struct {
	Name         string
	UID          string
	Pool         string
	ControlPlane bool
	InstanceType string
	Zone         string
	CPU          int
	MemoryGiB    int
	DiskGiB      int64
	Labels       map[string]string
	Taints       []v1.Taint
	// KubeletVersion and OSImage are what the node reports it runs (its image's layers); empty
	// means the control plane's version and Ubuntu 24.04.
	KubeletVersion string
	OSImage        string
}

// defaultOSImage is the OS a node reports when its image names none.
const defaultOSImage = "Ubuntu 24.04 LTS"

// node is the Node object that plays the machine, recording that it was given applied of its pool.
func (m Machine) node(applied poolConfig) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname":           m.Name,
		"kubernetes.io/os":                 "linux",
		"kubernetes.io/arch":               "amd64",
		"node.kubernetes.io/instance-type": m.InstanceType,
		"topology.kubernetes.io/zone":      m.Zone,
		LabelPool:                          m.Pool,
		LabelMachine:                       m.UID,
	}
	for k, v := range m.Labels {
		labels[k] = v
	}
	var taints []corev1.Taint
	if m.ControlPlane {
		labels["node-role.kubernetes.io/control-plane"] = ""
		taints = append(taints, corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule})
	}
	for _, t := range m.Taints {
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse(strconv.Itoa(m.CPU)),
		corev1.ResourceMemory:           resource.MustParse(strconv.Itoa(m.MemoryGiB) + "Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse(strconv.FormatInt(m.DiskGiB, 10) + "Gi"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Labels: labels, Annotations: map[string]string{KwokNodeAnnotation: "fake", AnnotationApplied: applied.annotation()}},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity: capacity, Allocatable: capacity,
			// localhost is where KWOK, the node's kubelet, answers: the API server dials it for
			// pods' logs (its --kubelet-preferred-address-types puts InternalDNS first).
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: m.internalIP()},
				{Type: corev1.NodeInternalDNS, Address: "localhost"}, {Type: corev1.NodeHostName, Address: m.Name}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: cmp.Or(m.KubeletVersion, k8sbin.KubernetesVersion),
				OSImage: cmp.Or(m.OSImage, defaultOSImage), Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
}

// internalIP is the machine's simulated address, stable for its uid, in 10.200.0.0/16.
func (m Machine) internalIP() string {
	sum := sha256.Sum256([]byte(m.UID))
	return fmt.Sprintf("10.200.%d.%d", sum[0], 1+int(sum[1])%254)
}

// Client returns a client-go clientset with the cluster-admin identity.
func (cp *ControlPlane) Client() (kubernetes.Interface, error) {
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading the admin kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

// EnsureMachine registers the machine's node (as a kubelet would); an existing node keeps
// everything but its pool's labels and taints, which are brought up to date: those the node was
// given before that the pool no longer has are removed, the pool's are set. What was given is read
// from the node itself (AnnotationApplied), never from what the hub remembers: a hub that lost the
// record of an update (a status write refused by a concurrent spec change) still removes what it
// gave. The node faults its labels name that the provider plays (applyFaults) are put in or taken
// out. It reports whether it changed the node.
func (cp *ControlPlane) EnsureMachine(ctx context.Context, c kubernetes.Interface, m Machine) (bool, error) {
	// The no-lease fault's policy is in place before any node can be labelled with it by hand.
	if err := cp.ensureFaultPolicy(ctx, c); err != nil {
		return false, err
	}
	created := false
	node, err := c.CoreV1().Nodes().Get(ctx, m.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// A node made with a fault records it as not yet given: the fault is played below, before
		// the node says it was.
		first := m.poolConfig()
		delete(first.Labels, LabelFault)
		node, err = c.CoreV1().Nodes().Create(ctx, m.node(first), metav1.CreateOptions{FieldManager: "easel"})
		created = err == nil
		if apierrors.IsAlreadyExists(err) {
			node, err = c.CoreV1().Nodes().Get(ctx, m.Name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return false, fmt.Errorf("registering node %s: %w", m.Name, err)
	}
	applied := appliedTo(node)
	if applied.equal(m.poolConfig()) {
		return created, nil
	}
	if err := cp.applyFaults(ctx, c, m, applied); err != nil {
		return false, err
	}
	return true, updateNode(ctx, c, m, applied)
}

// poolConfig is what a node is given of its pool: labels and taints.
type poolConfig struct {
	Labels map[string]string `json:"labels,omitempty"`
	Taints []v1.Taint        `json:"taints,omitempty"`
}

func (m Machine) poolConfig() poolConfig {
	return poolConfig{Labels: maps.Clone(m.Labels), Taints: slices.Clone(m.Taints)}
}

func (p poolConfig) equal(o poolConfig) bool {
	return maps.Equal(p.Labels, o.Labels) && slices.Equal(p.Taints, o.Taints)
}

func (p poolConfig) annotation() string {
	b, _ := json.Marshal(p) // strings only: it cannot fail
	return string(b)
}

// appliedTo reads what a node was given of its pool (AnnotationApplied); a node without the
// annotation was given nothing.
func appliedTo(n *corev1.Node) poolConfig {
	var p poolConfig
	if s := n.Annotations[AnnotationApplied]; s != "" {
		// The annotation is easel's own; one edited into something unreadable counts as nothing given.
		_ = json.Unmarshal([]byte(s), &p)
	}
	return p
}

// updateNode brings an existing node's pool labels and taints from applied to m's, and records
// m's as given.
func updateNode(ctx context.Context, c kubernetes.Interface, m Machine, applied poolConfig) error {
	// Node controllers and KWOK write the node too: a conflict is retried on a fresh read.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.CoreV1().Nodes().Get(ctx, m.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading node %s: %w", m.Name, err)
		}
		for k := range applied.Labels {
			if _, keep := m.Labels[k]; !keep {
				delete(node.Labels, k)
			}
		}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		maps.Copy(node.Labels, m.Labels)
		// Taints keep their order (others, such as node.kubernetes.io/not-ready, sit among them).
		same := func(t corev1.Taint) func(v1.Taint) bool {
			return func(a v1.Taint) bool { return a.Key == t.Key && a.Effect == string(t.Effect) }
		}
		node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, func(t corev1.Taint) bool {
			return slices.ContainsFunc(applied.Taints, same(t)) && !slices.ContainsFunc(m.Taints, same(t))
		})
		for _, t := range m.Taints {
			want := corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)}
			if i := slices.IndexFunc(node.Spec.Taints, func(n corev1.Taint) bool { return same(n)(t) }); i >= 0 {
				node.Spec.Taints[i] = want
			} else {
				node.Spec.Taints = append(node.Spec.Taints, want)
			}
		}
		if node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		node.Annotations[AnnotationApplied] = m.poolConfig().annotation()
		_, err = c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{FieldManager: "easel"})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating the labels and taints of node %s: %w", m.Name, err)
	}
	return nil
}

// DeleteMachine removes the machine's node; a node already gone is fine.
func (cp *ControlPlane) DeleteMachine(ctx context.Context, c kubernetes.Interface, name string) error {
	err := c.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting node %s: %w", name, err)
	}
	return nil
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
