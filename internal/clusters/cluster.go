// Package clusters turns cluster specs submitted through the API into validated, stored clusters
// (profiles, machine pools, status) and holds the typed condition helper every writer of cluster
// status uses.
package clusters

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/usage"
	"github.com/easelhq/easel/internal/validate"
)

// ErrInvalid marks a cluster spec the API must refuse with 400.
var ErrInvalid = errors.New("invalid cluster")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// InstanceType is a machine size of the local provider.
type InstanceType struct {
	CPU       int
	MemoryGiB int
}

// InstanceTypes are the machine sizes a local cluster's pools may use.
var InstanceTypes = map[string]InstanceType{
	"small":  {CPU: 2, MemoryGiB: 4},
	"medium": {CPU: 4, MemoryGiB: 8},
	"large":  {CPU: 8, MemoryGiB: 16},
	"xlarge": {CPU: 16, MemoryGiB: 32},
}

// Zones are the availability zones of the local provider.
var Zones = []string{"local-a", "local-b", "local-c"}

// Defaults and limits of a machine pool.
const (
	DefaultInstanceType = "small"
	DefaultDiskGiB      = 60
	MinDiskGiB          = 20
	MaxDiskGiB          = 2048
)

// SupportedCloudTypes are the cloud types clusters can be created for.
var SupportedCloudTypes = []string{v1.CloudTypeLocal}

// Pool is one machine pool.
type Pool struct {
	Name                    string            `json:"name"`
	ControlPlane            bool              `json:"controlPlane"`
	UseControlPlaneAsWorker bool              `json:"useControlPlaneAsWorker,omitempty"`
	Size                    int               `json:"size"`
	InstanceType            string            `json:"instanceType"`
	DiskGiB                 int64             `json:"diskGiB"`
	Zones                   []string          `json:"zones"`
	Labels                  map[string]string `json:"labels,omitempty"`
	Taints                  []v1.Taint        `json:"taints,omitempty"`
	UpdateStrategy          string            `json:"updateStrategy"`
	// HealthCheck overrides the node auto-remediation timeouts for this pool (unchecked: an invalid
	// one is an event and the defaults apply).
	HealthCheck *v1.MachineHealthCheckConfig `json:"healthCheck,omitempty"`
	Values      string                       `json:"values,omitempty"`
}

// PackValues overrides one pack's values for this cluster.
type PackValues struct {
	Name   string `json:"name"`
	Tag    string `json:"tag,omitempty"`
	Values string `json:"values"`
}

// ProfileRef is a profile attached to a cluster.
type ProfileRef struct {
	UID        string       `json:"uid"`
	Name       string       `json:"name"`
	Version    string       `json:"version"`
	Type       string       `json:"type"`
	PackValues []PackValues `json:"packValues,omitempty"`
}

// Status is the observed state of a cluster.
type Status struct {
	State      string                `json:"state"`
	Conditions []v1.ClusterCondition `json:"conditions"`
	Upgrades   []v1.Upgrade          `json:"upgrades"`
	Machines   []Machine             `json:"machines,omitempty"`
	// Health is what the agent's heartbeats say; the time is the hub's receive time.
	Health Health `json:"health"`
	// Nodes are the nodes the agent last reported.
	Nodes []v1.NodeReport `json:"nodes,omitempty"`
	// Usage is the agent's last usage sample and the resources over their thresholds.
	Usage usage.State `json:"usage,omitzero"`
	// Services are the application services the agent last reported.
	Services []v1.LoadBalancerService `json:"services,omitempty"`
	// Packs is the agent's last pack report, for PacksGeneration.
	Packs           []v1.PackStatus `json:"packs,omitempty"`
	PacksGeneration int64           `json:"packsGeneration,omitempty"`
	// RemediationNotices are the auto-remediation notices last given as events (pools that wait
	// above their cap, invalid overrides), so each is given once.
	RemediationNotices []string `json:"remediationNotices,omitempty"`
	// Certificates are the control plane's certificate authorities and the certificates they
	// signed, as its provider last reported them (providers that run the control plane only).
	Certificates []v1.CertificateAuthority `json:"certificates,omitempty"`
	// Repave is the repave the cluster's changes call for, if any.
	Repave Repave `json:"repave,omitzero"`
	// NodesRevision counts changes of what the hub wants of the nodes (the machines' node
	// operations); the agent's long-poll wakes on it as on the spec generation.
	NodesRevision int64 `json:"nodesRevision,omitempty"`
	// ObservedGeneration is the spec generation the engine last acted on.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Requests are the troubleshooting requests (log bundles, doctor runs) the agent has yet to
	// carry out; RequestsRevision counts their changes, and the agent's long-poll wakes on it.
	Requests         []v1.AgentRequest `json:"requests,omitempty"`
	RequestsRevision int64             `json:"requestsRevision,omitempty"`
}

// Cluster is the stored document of a cluster.
type Cluster struct {
	Labels         map[string]string `json:"labels,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	CloudType      string            `json:"cloudType"`
	CloudConfigUID string            `json:"cloudConfigUid"`
	ClusterValues  string            `json:"clusterValues,omitempty"`
	Profiles       []ProfileRef      `json:"profiles"`
	Pools          []Pool            `json:"pools"`
	// Image is what the machines are built from (the infra profile's OS and Kubernetes layers).
	Image Image `json:"image,omitzero"`
	// RepaveApproval: a repave waits for PATCH …/repave/approve before it starts.
	RepaveApproval bool `json:"repaveApproval,omitempty"`
	// UpdateWorkerPoolsInParallel is the client's clusterConfig setting, kept to be answered back.
	UpdateWorkerPoolsInParallel bool `json:"updateWorkerPoolsInParallel,omitempty"`
	// CertificatesRenewal is when a renewal of the control plane's certificates was last requested
	// (PATCH …/k8certificates/renew): control-plane machines created before it are replaced, and
	// the provider re-issues the certificates issued before it.
	CertificatesRenewal time.Time `json:"certificatesRenewal,omitzero"`
	Status              Status    `json:"status"`
}

// Health states.
const (
	HealthUnknown   = "Unknown" // no heartbeat yet
	HealthHealthy   = "Healthy"
	HealthUnhealthy = "Unhealthy"
)

// Health is what the hub knows of a cluster's agent, and the verdict drawn from it.
type Health struct {
	LastHeartbeat time.Time `json:"lastHeartbeat,omitzero"`
	AgentVersion  string    `json:"agentVersion,omitempty"`
	State         string    `json:"state,omitempty"`
	// Reasons say why a cluster is unhealthy, one line each.
	Reasons []string `json:"reasons,omitempty"`
}

// ObserveHeartbeat takes a heartbeat kept apart from the cluster's document (the store's heartbeat
// row, which most heartbeats write instead of the document), when it is newer than the one the
// document holds.
func (h *Health) ObserveHeartbeat(at time.Time, agentVersion string) {
	if at.After(h.LastHeartbeat) {
		h.LastHeartbeat, h.AgentVersion = at, agentVersion
	}
}

// reasonNoHeartbeat begins the health reason of a cluster whose agent's heartbeats stopped.
const reasonNoHeartbeat = "NoHeartbeat"

// HeartbeatMatters says whether a heartbeat from an agent of agentVersion changes what the engine
// judges of the cluster: the first one, one from another version, or one after the heartbeats had
// stopped. Any other heartbeat (a healthy cluster's, or one of a cluster unhealthy for its nodes or
// its usage) only moves the time of the newest one.
func (h Health) HeartbeatMatters(agentVersion string) bool {
	switch {
	case h.AgentVersion != agentVersion:
		return true
	case h.State == HealthHealthy:
		return false
	case h.State == HealthUnhealthy:
		return slices.ContainsFunc(h.Reasons, func(r string) bool { return strings.HasPrefix(r, reasonNoHeartbeat+":") })
	}
	return true
}

// problemConditions are the node conditions that report trouble when True.
var problemConditions = []string{"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}

// FailedConditions are the node's conditions that report trouble: Ready not True, or a problem
// condition True.
func FailedConditions(n v1.NodeReport) []v1.NodeCondition {
	var out []v1.NodeCondition
	for _, c := range n.Conditions {
		if (c.Type == "Ready" && c.Status != "True") || (slices.Contains(problemConditions, c.Type) && c.Status == "True") {
			out = append(out, c)
		}
	}
	return out
}

// NodeProblems lists, one line each, the nodes that are not Ready or report a problem condition.
func NodeProblems(nodes []v1.NodeReport) []string {
	var out []string
	for _, n := range nodes {
		for _, c := range FailedConditions(n) {
			if c.Type == "Ready" {
				out = append(out, fmt.Sprintf("NodeNotReady: node %s is Ready=%s (%s)%s", n.Name, c.Status, c.Reason, doctorHint(n.Name)))
			} else {
				out = append(out, fmt.Sprintf("NodeCondition: node %s reports %s (%s)%s", n.Name, c.Type, c.Reason, doctorHint(n.Name)))
			}
		}
	}
	return out
}

// doctorHint points a node's health reason at the doctor, which says why and what to do.
func doctorHint(node string) string {
	return "; easel doctor CLUSTER " + node + " says why"
}

// Assess draws the health verdict at now: unhealthy when no heartbeat arrived for longer than
// timeout, when a node is not Ready or reports a problem condition, or when a node's usage has
// stayed over a threshold for the period. It returns when the verdict would change next without
// news from the agent (zero if never).
func (h *Health) Assess(now time.Time, timeout time.Duration, nodes []v1.NodeReport, use *usage.State) (next time.Duration) {
	if h.LastHeartbeat.IsZero() {
		h.State, h.Reasons = HealthUnknown, nil
		return 0
	}
	h.Reasons = nil
	if now.Sub(h.LastHeartbeat) > timeout {
		h.Reasons = append(h.Reasons, fmt.Sprintf("%s: no heartbeat from the agent since %s (the limit is %s)",
			reasonNoHeartbeat, h.LastHeartbeat.UTC().Format(time.RFC3339), timeout))
	} else {
		next = timeout - now.Sub(h.LastHeartbeat) + time.Second
	}
	h.Reasons = append(h.Reasons, NodeProblems(nodes)...)
	over, mature := use.Reasons(now)
	h.Reasons = append(h.Reasons, over...)
	if mature > 0 && (next == 0 || mature < next) {
		next = mature
	}
	h.State = HealthHealthy
	if len(h.Reasons) > 0 {
		h.State = HealthUnhealthy
	}
	return next
}

// ProfileResolver finds a profile the caller may use, by uid.
type ProfileResolver func(uid string) (profiles.Profile, bool)

// FromEntity validates a create request for a cluster of cloudType and returns the cluster to
// store (without uids and status). Every problem is an ErrInvalid naming the field.
func FromEntity(cloudType string, e v1.SpectroClusterEntity, resolve ProfileResolver, catalog *packs.Catalog) (Cluster, error) {
	c := Cluster{CloudType: cloudType, Labels: e.Metadata.Labels, Annotations: e.Metadata.Annotations,
		ClusterValues: e.Spec.CloudConfig.Values, RepaveApproval: e.Spec.ClusterConfig.RepaveApprovalRequired,
		UpdateWorkerPoolsInParallel: e.Spec.ClusterConfig.UpdateWorkerPoolsInParallel}
	if !slices.Contains(SupportedCloudTypes, cloudType) {
		return c, invalid("cloud type %q is not supported (supported: %s)", cloudType, strings.Join(SupportedCloudTypes, ", "))
	}
	if err := validate.Name("metadata.name", e.Metadata.Name); err != nil {
		return c, invalid("%v", err)
	}
	if err := Metadata(e.Metadata.Labels, e.Metadata.Annotations); err != nil {
		return c, err
	}
	if err := validate.YAML("spec.cloudConfig.values", c.ClusterValues); err != nil {
		return c, invalid("%v", err)
	}
	refs, img, err := ResolveProfiles(cloudType, e.Spec.Profiles, resolve, catalog)
	if err != nil {
		return c, err
	}
	c.Profiles, c.Image = refs, img
	switch n := len(e.Spec.Machinepoolconfig); {
	case n == 0:
		return c, invalid("spec.machinepoolconfig: a cluster needs a control-plane pool")
	case n > v1.MaxPoolsPerCluster: // before any of them is parsed
		return c, invalid("spec.machinepoolconfig: %d pools; a cluster has at most %d (MaxPoolsPerCluster)", n, v1.MaxPoolsPerCluster)
	}
	names := map[string]bool{}
	for i, mp := range e.Spec.Machinepoolconfig {
		p, err := PoolFromEntity(fmt.Sprintf("spec.machinepoolconfig[%d]", i), mp)
		if err != nil {
			return c, err
		}
		if names[p.Name] {
			return c, invalid("spec.machinepoolconfig[%d]: pool name %q is used twice", i, p.Name)
		}
		names[p.Name] = true
		c.Pools = append(c.Pools, p)
	}
	if err := CheckPools(c.Pools); err != nil {
		return c, err
	}
	return c, nil
}

// ResolveProfiles checks the profiles of a cluster: exactly one infra (or full cluster) profile,
// any number of add-on profiles, all published and for this cloud type, no name twice, pack values
// well-formed. It returns them with the image the infra profile builds machines from.
func ResolveProfiles(cloudType string, in []v1.SpectroClusterProfileEntity, resolve ProfileResolver, catalog *packs.Catalog) ([]ProfileRef, Image, error) {
	var (
		refs  []ProfileRef
		img   Image
		infra int
		seen  = map[string]bool{}
	)
	for i, pe := range in {
		field := fmt.Sprintf("spec.profiles[%d]", i)
		if pe.UID == "" {
			return nil, img, invalid("%s.uid is required", field)
		}
		if seen[pe.UID] {
			return nil, img, invalid("%s: profile %s is attached twice", field, pe.UID)
		}
		seen[pe.UID] = true
		p, ok := resolve(pe.UID)
		if !ok {
			return nil, img, invalid("%s: profile %s not found", field, pe.UID)
		}
		if !p.Published {
			return nil, img, invalid("%s: profile %s (%s) is a draft; publish it first", field, p.Name, p.Version)
		}
		if !p.SupportsCloud(cloudType) {
			return nil, img, invalid("%s: profile %s (%s) is for cloud type %q, not %q", field, p.Name, p.Version, p.CloudType, cloudType)
		}
		if slices.ContainsFunc(refs, func(r ProfileRef) bool { return r.Name == p.Name }) {
			return nil, img, invalid("%s: profile %s is attached twice (versions of one profile replace each other)", field, p.Name)
		}
		ref := ProfileRef{UID: pe.UID, Name: p.Name, Version: p.Version, Type: p.Type}
		for j, pv := range pe.PackValues {
			vfield := fmt.Sprintf("%s.packValues[%d]", field, j)
			pk, ok := p.FindPack(pv.Name)
			if !ok {
				return nil, img, invalid("%s: profile %s has no pack %q", vfield, p.Name, pv.Name)
			}
			if pv.Tag != "" && pv.Tag != pk.Version {
				return nil, img, invalid("%s: pack %s is at %s in profile %s, not %s", vfield, pv.Name, pk.Version, p.Name, pv.Tag)
			}
			if err := validate.YAML(vfield+".values", pv.Values); err != nil {
				return nil, img, invalid("%v", err)
			}
			ref.PackValues = append(ref.PackValues, PackValues{Name: pv.Name, Tag: pk.Version, Values: pv.Values})
		}
		if p.Infra() {
			infra++
			img = imageOf(p, ref, catalog)
		}
		refs = append(refs, ref)
	}
	if infra != 1 {
		return nil, img, invalid("spec.profiles: a cluster needs exactly one infra or cluster profile (it has %d)", infra)
	}
	return refs, img, nil
}

// Metadata checks the labels and annotations of a cluster (those of an imported one too).
func Metadata(labels, annotations map[string]string) error {
	if err := validate.Labels("metadata.labels", labels); err != nil {
		return invalid("%v", err)
	}
	if err := validate.Annotations("metadata.annotations", annotations); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// CheckPools checks the pools as a whole: exactly one control-plane pool, at most
// v1.MaxPoolsPerCluster pools and v1.MaxMachinesPerCluster machines.
func CheckPools(pools []Pool) error {
	var cp []string
	machines := 0
	for _, p := range pools {
		if p.ControlPlane {
			cp = append(cp, p.Name)
		}
		machines += p.Size
	}
	switch {
	case len(pools) > v1.MaxPoolsPerCluster:
		return invalid("spec.machinepoolconfig: %d pools; a cluster has at most %d (MaxPoolsPerCluster)", len(pools), v1.MaxPoolsPerCluster)
	case machines > v1.MaxMachinesPerCluster:
		return invalid("spec.machinepoolconfig: the pools ask for %d machines together; a cluster has at most %d (MaxMachinesPerCluster)", machines, v1.MaxMachinesPerCluster)
	}
	switch len(cp) {
	case 0:
		return invalid("spec.machinepoolconfig: a cluster needs a control-plane pool (poolConfig.isControlPlane: true)")
	case 1:
		return nil
	default:
		return invalid("spec.machinepoolconfig: only one pool may be the control plane, not %s", strings.Join(cp, " and "))
	}
}

// Encode returns the stored document.
func (c Cluster) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a Cluster always marshals
	}
	return b
}

// Decode reads a stored cluster document.
func Decode(doc []byte) (Cluster, error) {
	var c Cluster
	if err := json.Unmarshal(doc, &c); err != nil {
		return c, fmt.Errorf("decoding stored cluster: %w", err)
	}
	return c, nil
}

// AgentView is what the agent's frequent calls read of a cluster's document: the health its
// heartbeats keep, and the revisions its long-poll compares. Decoding only these skips building
// the rest (nodes, usage, conditions): a fleet's heartbeats and long-polls read it hundreds of
// times a second, and this takes half the time of Decode.
type AgentView struct {
	Health           Health `json:"health"`
	NodesRevision    int64  `json:"nodesRevision"`
	RequestsRevision int64  `json:"requestsRevision"`
}

// DecodeAgentView reads the AgentView of a stored cluster document.
func DecodeAgentView(doc []byte) (AgentView, error) {
	var c struct {
		Status AgentView `json:"status"`
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		return c.Status, fmt.Errorf("decoding stored cluster: %w", err)
	}
	return c.Status, nil
}

// Pool returns the pool of that name.
func (c *Cluster) Pool(name string) (*Pool, bool) {
	for i := range c.Pools {
		if c.Pools[i].Name == name {
			return &c.Pools[i], true
		}
	}
	return nil, false
}
