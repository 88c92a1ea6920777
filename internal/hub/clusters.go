package hub

import (
	"context"
	"net/http"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/usage"
)

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.clusters.Create(r.Context(), &c.Call, r.PathValue("cloudType"), body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

// importCluster registers an existing cluster (cloud type generic); it joins once its owner
// applies the import manifest.
func (s *Server) importCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	uid, err := s.clusters.Import(r.Context(), &c.Call, body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: uid})
	return nil
}

// clusterRecord returns the cluster the path's uid names, if the call may see it.
func (s *Server) clusterRecord(r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	return s.clusters.Get(r.Context(), &c.Call, clustersvc.ByUID(r.PathValue("uid")))
}

// target is the cluster the path's uid names, at the version the If-Match header names.
func target(r *http.Request) clustersvc.Target {
	return clustersvc.Target{UID: r.PathValue("uid"), IfMatch: r.Header.Get("If-Match")}
}

// profileTemplates shows the cluster's profiles; withPacks loads each profile for its packs.
func (s *Server) profileTemplates(ctx context.Context, cl clusters.Cluster, withPacks bool) ([]v1.ClusterProfileTemplateMeta, error) {
	out := templateMetas(cl.Profiles, cl.CloudType)
	if !withPacks {
		return out, nil
	}
	for i, ref := range cl.Profiles {
		attached, err := s.clusters.AttachedProfile(ctx, ref)
		if err != nil {
			return nil, err
		}
		out[i].Packs = attached.Packs
	}
	return out, nil
}

// templateMetas shows a cluster's profiles without their packs.
func templateMetas(refs []clusters.ProfileRef, cloudType string) []v1.ClusterProfileTemplateMeta {
	out := []v1.ClusterProfileTemplateMeta{}
	for _, ref := range refs {
		out = append(out, v1.ClusterProfileTemplateMeta{UID: ref.UID, Name: ref.Name, Type: ref.Type, CloudType: cloudType,
			Version: 1, ProfileVersion: ref.Version, Packs: []v1.PackRef{}})
	}
	return out
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(rec))
	out := v1.SpectroCluster{APIVersion: "v1", Kind: "SpectroCluster", Metadata: clusterMeta(rec, cl.Labels, cl.Annotations)}
	out.Spec.CloudType = cl.CloudType
	out.Spec.ClusterType = "PureManage"
	out.Spec.ClusterConfig.UpdateWorkerPoolsInParallel = cl.UpdateWorkerPoolsInParallel
	out.Spec.CloudConfigRef = v1.ObjectReference{Kind: "CloudConfig", Name: rec.Name, UID: cl.CloudConfigUID}
	if out.Spec.ClusterProfileTemplates, err = s.profileTemplates(r.Context(), cl, true); err != nil {
		return err
	}
	out.Status = statusWire(rec, cl.Status)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func clusterMeta(rec store.Record, labels, annotations map[string]string) v1.ObjectMeta {
	m := meta(rec)
	m.Labels, m.Annotations = labels, withScope(rec, annotations)
	return m
}

func statusWire(rec store.Record, st clusters.Status) v1.SpectroClusterStatus {
	return v1.SpectroClusterStatus{State: st.State, Conditions: orEmpty(st.Conditions), Upgrades: orEmpty(st.Upgrades),
		Services: orEmpty(st.Services), Packs: orEmpty(st.Packs), Generation: rec.Generation, PacksGeneration: st.PacksGeneration}
}

// nodesWire is the nodes as the agent last reported them, each with its machine's maintenance.
func nodesWire(cl clusters.Cluster) []v1.NodeReport {
	out := slices.Clone(cl.Status.Nodes)
	for i := range out {
		if m, ok := cl.FindMachine(out[i].Name); ok {
			out[i].Maintenance = m.Maintenance
		}
	}
	return out
}

// healthWire is what the agent's heartbeats say; nil before the first one.
func healthWire(h clusters.Health) *v1.SpectroClusterHealth {
	if h.LastHeartbeat.IsZero() {
		return nil
	}
	out := &v1.SpectroClusterHealth{State: h.State, LastHeartBeatTimestamp: h.LastHeartbeat, AgentVersion: h.AgentVersion, Conditions: []any{}}
	for _, reason := range h.Reasons {
		kind, message, _ := strings.Cut(reason, ": ")
		out.Conditions = append(out.Conditions, map[string]string{"type": kind, "status": "True", "message": message})
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1.ClusterStatusOnly{Status: statusWire(rec, cl.Status)})
	return nil
}

// deleteCluster marks the cluster Deleting; the engine tears it down and then removes the record.
func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.clusters.Delete(r.Context(), &c.Call, target(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clusterKubeconfig serves the cluster-admin kubeconfig once the control plane exists.
func (s *Server) clusterKubeconfig(w http.ResponseWriter, r *http.Request, c *call) error {
	asset := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	data, name, err := s.clusters.Kubeconfig(r.Context(), &c.Call, target(r), asset)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.kubeconfig"`)
	w.Write(data)
	return nil
}

func cloudConfigMeta(configUID, cloudType string, pools []clusters.PoolSummary) v1.CloudConfigMeta {
	m := v1.CloudConfigMeta{UID: configUID, CloudType: cloudType, MachinePools: []v1.MachinePoolMeta{}}
	for _, p := range pools {
		m.MachinePools = append(m.MachinePools, v1.MachinePoolMeta{Name: p.Name, IsControlPlane: p.ControlPlane,
			Size: int32(p.Size), HealthyNodeCount: int32(p.Healthy)})
	}
	return m
}

func (s *Server) clusterSummary(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	var out v1.SpectroClusterUIDSummary
	out.Metadata = clusterMeta(rec, cl.Labels, cl.Annotations)
	out.Spec.CloudConfig = cloudConfigMeta(cl.CloudConfigUID, cl.CloudType, cl.PoolSummaries())
	out.Spec.ArchTypes = []string{"amd64"}
	if out.Spec.ClusterProfileTemplates, err = s.profileTemplates(r.Context(), cl, true); err != nil {
		return err
	}
	st := statusWire(rec, cl.Status)
	out.Status.State, out.Status.Conditions, out.Status.Upgrades = st.State, st.Conditions, st.Upgrades
	out.Status.Health = healthWire(cl.Status.Health)
	out.Status.Nodes = nodesWire(cl)
	out.Status.Metrics = usage.Metrics(cl.Status.Usage.Nodes, cl.Status.Usage.ReceivedAt, false)
	out.Status.NodeUsage = cl.Status.Usage.Nodes
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) clustersMeta(w http.ResponseWriter, r *http.Request, c *call) error {
	recs, _, err := s.clusters.List(r.Context(), &c.Call, store.ListOptions{})
	if err != nil {
		return err
	}
	out := v1.SpectroClustersMetadata{Items: []v1.ObjectMeta{}}
	for _, rec := range recs {
		out.Items = append(out.Items, meta(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
