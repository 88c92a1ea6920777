package clusters

import (
	"context"
	"errors"
	"strconv"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
	"github.com/easelhq/easel/internal/validate"
)

// Create stores a new cluster of cloudType in the call's project from a v1.SpectroClusterEntity;
// the engine provisions it. It returns the cluster's uid.
func (s *Service) Create(ctx context.Context, c *service.Call, cloudType string, input service.Input) (string, error) {
	if err := s.createScope(c, "create clusters"); err != nil {
		return "", err
	}
	var in v1.SpectroClusterEntity
	if err := input(&in); err != nil {
		return "", err
	}
	return s.storeNew(ctx, c, "Created", func(q store.Queries) (*store.Record, string, error) {
		// Validated in the creating transaction, so that the profiles it reads stay (see profileResolver).
		cl, err := cluster.FromEntity(cloudType, in, profileResolver(ctx, q, c), s.catalog)
		if err != nil {
			return nil, "", err
		}
		cl.CloudConfigUID = uid.New()
		cl.Status = cluster.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}
		cl.Status.SetCondition(cluster.ConditionInfrastructureReady, "False", "WaitingForProvisioning",
			"Waiting for provisioning: the "+cl.CloudType+" provider has not started on this cluster yet", s.clock.Now())
		rec := &store.Record{Kind: Kind, UID: uid.New(), AltUID: cl.CloudConfigUID, TenantUID: c.TenantUID,
			ProjectUID: c.Project, Name: in.Metadata.Name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
		return rec, createdMessage(cl), nil
	})
}

// ImportInput is what registering an existing cluster takes.
type ImportInput struct {
	Metadata v1.ObjectMetaInput `json:"metadata"`
}

// Import registers an existing cluster (cloud type generic) in the call's project; it joins once
// its owner applies the import manifest. It returns the cluster's uid.
func (s *Service) Import(ctx context.Context, c *service.Call, input service.Input) (string, error) {
	if err := s.createScope(c, "import clusters"); err != nil {
		return "", err
	}
	var in ImportInput
	if err := input(&in); err != nil {
		return "", err
	}
	if err := validate.Name("metadata.name", in.Metadata.Name); err != nil {
		return "", service.Invalid("%v", err)
	}
	if err := cluster.Metadata(in.Metadata.Labels, in.Metadata.Annotations); err != nil {
		return "", err
	}
	cl := cluster.Cluster{CloudType: v1.CloudTypeGeneric, CloudConfigUID: uid.New(), Labels: in.Metadata.Labels,
		Annotations: in.Metadata.Annotations, Profiles: []cluster.ProfileRef{}, Pools: []cluster.Pool{},
		Status: cluster.Status{State: v1.ClusterStatePending, Conditions: []v1.ClusterCondition{}, Upgrades: []v1.Upgrade{}}}
	cl.Status.SetCondition(cluster.ConditionAgentDeployed, "False", "WaitingForImport",
		"Apply the import manifest (GET /v1/spectroclusters/{uid}/import/manifest) to the cluster", s.clock.Now())
	rec := &store.Record{Kind: Kind, UID: uid.New(), AltUID: cl.CloudConfigUID, TenantUID: c.TenantUID,
		ProjectUID: c.Project, Name: in.Metadata.Name, State: cl.Status.State, Category: cl.CloudType, Doc: cl.Encode()}
	return s.storeNew(ctx, c, "Imported", func(store.Queries) (*store.Record, string, error) {
		return rec, "Cluster registered for import; waiting for its agent", nil
	})
}

// createScope checks that the call names the project a new cluster goes to, and may write there.
func (s *Service) createScope(c *service.Call, what string) error {
	if c.Project == "" {
		return service.Invalid("clusters belong to a project: set the ProjectUid header")
	}
	_, err := c.WriteScope(service.PermWriteClusters, what)
	return err
}

// storeNew stores the cluster build returns with its first event (reason, and the message build
// returns) and an audit entry ("<reason> cluster <name>"), and wakes the engine. build runs in the
// creating transaction, after the call's project is locked.
func (s *Service) storeNew(ctx context.Context, c *service.Call, reason string,
	build func(q store.Queries) (rec *store.Record, message string, err error)) (string, error) {
	var rec *store.Record
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := service.LockProject(ctx, q, c.Project); err != nil {
			return err
		}
		var message string
		var err error
		if rec, message, err = build(q); err != nil {
			return err
		}
		if err := q.CreateObject(ctx, rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return service.Conflict("a cluster named %s already exists in this project", rec.Name)
			}
			return err
		}
		if err := s.records.Event(ctx, q, rec, v1.SeverityInfo, reason, message); err != nil {
			return err
		}
		return s.records.Audit(ctx, q, c, rec.ProjectUID, "create", Kind, rec.UID, rec.Name, reason+" cluster "+rec.Name)
	})
	if err != nil {
		return "", err
	}
	s.Changed(rec.UID)
	return rec.UID, nil
}

func createdMessage(cl cluster.Cluster) string {
	var pools []string
	for _, p := range cl.Pools {
		pools = append(pools, p.Name+"×"+strconv.Itoa(p.Size))
	}
	return "Cluster created (cloud type " + cl.CloudType + ", pools " + strings.Join(pools, ", ") + "); waiting for provisioning"
}

// Delete marks the cluster Deleting; the engine tears it down and then removes the record.
// Deleting a cluster that is already being deleted changes nothing.
func (s *Service) Delete(ctx context.Context, c *service.Call, t Target) error {
	rec, _, err := s.authorized(ctx, c, t, service.PermWriteClusters)
	if err != nil {
		return err
	}
	err = s.changeStatus(ctx, c, rec.UID, func(cl *cluster.Cluster) (written, error) {
		if cl.Status.State == v1.ClusterStateDeleting {
			return written{}, nil
		}
		cl.Status.State = v1.ClusterStateDeleting
		return written{severity: v1.SeverityInfo, reason: "Deleting", event: "Cluster deletion requested; tearing it down",
			action: "delete", audit: "Deleted cluster " + rec.Name}, nil
	})
	if err != nil {
		return err
	}
	s.Changed(rec.UID)
	return nil
}
