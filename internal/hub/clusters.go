package hub

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/usage"
)

// profileResolver finds profiles a cluster in the call's project may use, reading them through q
// (the transaction that attaches them) and share-locking them until it ends: a profile deleted
// meanwhile is either not found here, or its delete waits for this transaction and then sees the
// cluster that uses it and refuses.
func (s *Server) profileResolver(ctx context.Context, q store.Queries, c *call) clusters.ProfileResolver {
	return func(uid string) (profiles.Profile, bool) {
		rec, err := q.LockObject(ctx, kindProfile, uid, store.LockShare)
		if err != nil || !c.Visible(rec) {
			return profiles.Profile{}, false
		}
		p, err := profiles.Decode(rec.Doc)
		return p, err == nil
	}
}

// lockProject share-locks the call's project until the transaction ends, for the same reason: a
// project deleted meanwhile is either not found here (404), or its delete waits and then sees what
// this transaction added to it and refuses.
func lockProject(ctx context.Context, q store.Queries, project string) error {
	if project == "" {
		return nil
	}
	_, err := q.LockObject(ctx, kindProject, project, store.LockShare)
	if errors.Is(err, store.ErrNotFound) {
		return service.NotFound("project", project)
	}
	return err
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.Project == "" {
		return service.Invalid("clusters belong to a project: set the ProjectUid header")
	}
	if _, err := c.WriteScope(c.perm, "create clusters"); err != nil {
		return err
	}
	var in v1.SpectroClusterEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.storeNewCluster(w, r, c, "Created", func(q store.Queries) (*store.Record, string, error) {
		// Validated in the creating transaction, so that the profiles it reads stay (see profileResolver).
		cl, err := clusters.FromEntity(r.PathValue("cloudType"), in, s.profileResolver(r.Context(), q, c), s.catalog)
		if err != nil {
			return nil, "", err
		}
		now := s.clock.Now()
		cl.CloudConfigUID = uid.New()
		cl.Status = clusters.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}
		cl.Status.SetCondition(clusters.ConditionInfrastructureReady, "False", "WaitingForProvisioning",
			"Waiting for provisioning: the "+cl.CloudType+" provider has not started on this cluster yet", now)
		rec := &store.Record{Kind: kindCluster, UID: uid.New(), AltUID: cl.CloudConfigUID, TenantUID: c.TenantUID,
			ProjectUID: c.Project, Name: in.Metadata.Name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
		return rec, clusterCreatedMessage(cl), nil
	})
}

// storeNewCluster stores the cluster build returns with its first event (reason, and the message
// build returns) and an audit entry ("<verb> cluster <name>"), wakes the engine and answers 201
// with its uid. build runs in the creating transaction, after the call's project is locked.
func (s *Server) storeNewCluster(w http.ResponseWriter, r *http.Request, c *call, reason string,
	build func(q store.Queries) (rec *store.Record, message string, err error)) error {
	var rec *store.Record
	err := s.store.Tx(r.Context(), func(q store.Queries) error {
		if err := lockProject(r.Context(), q, c.Project); err != nil {
			return err
		}
		var message string
		var err error
		if rec, message, err = build(q); err != nil {
			return err
		}
		if err := q.CreateObject(r.Context(), rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return service.Conflict("a cluster named %s already exists in this project", rec.Name)
			}
			return err
		}
		if err := s.records.Event(r.Context(), q, rec, v1.SeverityInfo, reason, message); err != nil {
			return err
		}
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "create", kindCluster, rec.UID, rec.Name, reason+" cluster "+rec.Name)
	})
	if err != nil {
		return err
	}
	s.clusterChanged(rec.UID)
	writeJSON(w, http.StatusCreated, v1.UID{UID: rec.UID})
	return nil
}

func clusterCreatedMessage(cl clusters.Cluster) string {
	var pools []string
	for _, p := range cl.Pools {
		pools = append(pools, p.Name+"×"+strconv.Itoa(p.Size))
	}
	return "Cluster created (cloud type " + cl.CloudType + ", pools " + strings.Join(pools, ", ") + "); waiting for provisioning"
}

func (s *Server) clusterRecord(r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	rec, err := s.records.Object(r.Context(), &c.Call, kindCluster, r.PathValue("uid"))
	if err != nil {
		return rec, clusters.Cluster{}, err
	}
	cl, err := clusters.Decode(rec.Doc)
	return rec, cl, err
}

// clusterRecordIn is clusterRecord read through q (inside a transaction).
func clusterRecordIn(q store.Queries, r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	uid := r.PathValue("uid")
	rec, err := q.GetObject(r.Context(), kindCluster, uid)
	if err != nil || !c.Visible(rec) {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			err = service.NotFound(kindCluster, uid)
		}
		return rec, clusters.Cluster{}, err
	}
	cl, err := clusters.Decode(rec.Doc)
	return rec, cl, err
}

// changeCluster applies change to the cluster's spec as a new spec generation, with an event
// (reason) and an audit entry of the message change returns; a change that returns no message
// changed nothing and writes nothing. change gets the transaction, to read in it what it checks.
// The record is read in the transaction that writes it; the engine and the agents' reports write
// it all the time, so unless the caller sent If-Match a conflict re-reads the record and applies
// the change again.
func (s *Server) changeCluster(r *http.Request, c *call, read func(store.Queries, *http.Request, *call) (store.Record, clusters.Cluster, error),
	reason string, change func(q store.Queries, cl *clusters.Cluster) (message string, err error)) error {
	var changed store.Record
	err := s.records.TxRetrying(r.Context(), func(q store.Queries) error {
		rec, cl, err := read(q, r, c)
		if err != nil {
			return err
		}
		if err := c.authorize(rec.ProjectUID); err != nil {
			return err
		}
		if err := checkIfMatch(r, rec); err != nil {
			return err
		}
		if cl.Status.State == v1.ClusterStateDeleting {
			return service.Conflict("cluster %s is being deleted", rec.Name)
		}
		message, err := change(q, &cl)
		if err != nil || message == "" {
			return err
		}
		rec.Doc = cl.Encode()
		rec.Generation++
		if err := q.UpdateObject(r.Context(), &rec); err != nil {
			if errors.Is(err, store.ErrConflict) && r.Header.Get("If-Match") != "" {
				return service.Conflict("%s %s changed since you read it; read it again", rec.Kind, rec.Name)
			}
			return err
		}
		if err := s.records.Event(r.Context(), q, &rec, v1.SeverityInfo, reason, message); err != nil {
			return err
		}
		changed = rec
		return s.records.Audit(r.Context(), q, &c.Call, rec.ProjectUID, "update", kindCluster, rec.UID, rec.Name, message)
	})
	if err == nil && changed.UID != "" {
		s.clusterChanged(changed.UID)
	}
	return err
}

// profileTemplates shows the cluster's profiles; withPacks loads each profile for its packs.
func (s *Server) profileTemplates(ctx context.Context, cl clusters.Cluster, withPacks bool) ([]v1.ClusterProfileTemplateMeta, error) {
	out := []v1.ClusterProfileTemplateMeta{}
	for _, ref := range cl.Profiles {
		t := v1.ClusterProfileTemplateMeta{UID: ref.UID, Name: ref.Name, Type: ref.Type, CloudType: cl.CloudType, Version: 1,
			ProfileVersion: ref.Version, Packs: []v1.PackRef{}}
		if withPacks {
			_, _, packs, err := s.attachedProfile(ctx, ref)
			if err != nil {
				return nil, err
			}
			t.Packs = packs
		}
		out = append(out, t)
	}
	return out, nil
}

// attachedProfile reads a profile attached to a cluster, with its packs as the cluster has them
// (the cluster's values in place of the profile's where it gives some).
func (s *Server) attachedProfile(ctx context.Context, ref clusters.ProfileRef) (store.Record, profiles.Profile, []v1.PackRef, error) {
	rec, err := s.store.GetObject(ctx, kindProfile, ref.UID)
	if err != nil {
		return rec, profiles.Profile{}, nil, err
	}
	p, err := profiles.Decode(rec.Doc)
	if err != nil {
		return rec, p, nil, err
	}
	packs := p.PackRefs()
	for i := range packs {
		if v := ref.Values(packs[i].Name); v != "" {
			packs[i].Values = v
		}
	}
	return rec, p, packs, nil
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(rec))
	out := v1.SpectroCluster{APIVersion: "v1", Kind: "SpectroCluster", Metadata: clusterMeta(rec, cl)}
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

func clusterMeta(rec store.Record, cl clusters.Cluster) v1.ObjectMeta {
	m := meta(rec)
	m.Labels, m.Annotations = cl.Labels, withScope(rec, cl.Annotations)
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
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	if cl.Status.State != v1.ClusterStateDeleting {
		err = s.records.TxRetrying(r.Context(), func(q store.Queries) error {
			cur, err := q.GetObject(r.Context(), kindCluster, rec.UID)
			if err != nil {
				return err
			}
			cl, err := clusters.Decode(cur.Doc)
			if err != nil || cl.Status.State == v1.ClusterStateDeleting {
				return err
			}
			cl.Status.State = v1.ClusterStateDeleting
			cur.Doc, cur.State = cl.Encode(), cl.Status.State
			if err := q.UpdateObject(r.Context(), &cur); err != nil {
				return err
			}
			if err := s.records.Event(r.Context(), q, &cur, v1.SeverityInfo, "Deleting", "Cluster deletion requested; tearing it down"); err != nil {
				return err
			}
			return s.records.Audit(r.Context(), q, &c.Call, cur.ProjectUID, "delete", kindCluster, cur.UID, cur.Name, "Deleted cluster "+cur.Name)
		})
		if err != nil {
			return err
		}
	}
	s.clusterChanged(rec.UID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Kubeconfigs reads a cluster's cluster-admin kubeconfig from whatever built the cluster.
type Kubeconfigs interface {
	Kubeconfig(ctx context.Context, clusterUID, name string, cl clusters.Cluster) ([]byte, error)
}

// ErrNoKubeconfigs is what Kubeconfigs returns for a cluster whose kubeconfig this hub cannot read.
var ErrNoKubeconfigs = errors.New("this hub cannot read the cluster's kubeconfig")

// clusterKubeconfig serves the cluster-admin kubeconfig once the control plane exists.
func (s *Server) clusterKubeconfig(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	// The kubeconfig's certificate is cluster-admin in the cluster: only those who may change the
	// cluster get it, and every download is in the audit trail.
	if err := c.authorize(rec.ProjectUID); err != nil {
		return err
	}
	if s.kubeconfigs == nil {
		return service.Conflict("cluster %s has no provider in this hub", rec.Name)
	}
	if !cl.Status.HasCondition(clusters.ConditionInfrastructureReady, "True") {
		return service.Conflict("cluster %s has no control plane yet (state %s); try again once InfrastructureReady is True", rec.Name, cl.Status.State)
	}
	data, err := s.kubeconfigs.Kubeconfig(r.Context(), rec.UID, rec.Name, cl)
	if errors.Is(err, ErrNoKubeconfigs) {
		return service.Conflict("cluster %s: %v", rec.Name, err)
	}
	if err != nil {
		return err
	}
	asset := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if err := s.records.Audit(r.Context(), s.store, &c.Call, rec.ProjectUID, "download", kindCluster, rec.UID, rec.Name,
		"Downloaded the "+asset+" of cluster "+rec.Name); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.Name+`.kubeconfig"`)
	w.Write(data)
	return nil
}

func cloudConfigMeta(cl clusters.Cluster) v1.CloudConfigMeta {
	m := v1.CloudConfigMeta{UID: cl.CloudConfigUID, CloudType: cl.CloudType, MachinePools: []v1.MachinePoolMeta{}}
	for _, p := range cl.Pools {
		healthy := 0
		for _, mc := range cl.Status.Machines {
			if mc.Pool == p.Name && mc.Ready {
				healthy++
			}
		}
		m.MachinePools = append(m.MachinePools, v1.MachinePoolMeta{Name: p.Name, IsControlPlane: p.ControlPlane,
			Size: int32(p.Size), HealthyNodeCount: int32(healthy)})
	}
	return m
}

func (s *Server) clusterSummary(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.clusterRecord(r, c)
	if err != nil {
		return err
	}
	var out v1.SpectroClusterUIDSummary
	out.Metadata = clusterMeta(rec, cl)
	out.Spec.CloudConfig = cloudConfigMeta(cl)
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
	recs, _, err := s.store.ListObjects(r.Context(), store.ListOptions{Kind: kindCluster, TenantUID: c.TenantUID,
		ProjectUIDs: clusterProjects(c)})
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

// clusterProjects is the projects whose clusters a list in the call's scope shows: the header's
// project, or every project the caller sees (all, for a tenant admin).
func clusterProjects(c *call) []string {
	if c.Project != "" {
		return []string{c.Project}
	}
	return c.Projects()
}
