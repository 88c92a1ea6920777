package clusters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
)

// ApproveRepave lets a repave that waits for approval start (Palette's PATCH …/repave/approve).
func (s *Service) ApproveRepave(ctx context.Context, c *service.Call, t Target) error {
	rec, _, err := s.authorized(ctx, c, t, service.PermWriteClusters)
	if err != nil {
		return err
	}
	err = s.changeStatus(ctx, c, rec.UID, func(cl *cluster.Cluster) (written, error) {
		if !cl.ApproveRepave(s.clock.Now()) {
			return written{}, service.Conflict("cluster %s has no repave waiting for approval", rec.Name)
		}
		return written{severity: v1.SeverityInfo, reason: "RepaveApproved",
			event:  "Repave approved; repaving, one machine at a time: " + strings.Join(cl.Status.Repave.Reasons, "; "),
			action: "update", audit: "Approved the repave of cluster " + rec.Name}, nil
	})
	if err != nil {
		return err
	}
	s.notify(rec.UID)
	return nil
}

// RenewCertificates asks for the renewal of a cluster's control-plane certificates (Palette's
// PATCH …/k8certificates/renew). The request is recorded on the cluster; the engine carries it
// out as a repave of the control-plane pool — each control-plane machine created before the
// request is replaced, and the provider re-issues the certificates issued before it — which waits
// for approval where the cluster requires it.
func (s *Service) RenewCertificates(ctx context.Context, c *service.Call, t Target) error {
	rec, _, err := s.authorized(ctx, c, t, service.PermWriteClusters)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.changeStatus(ctx, c, rec.UID, func(cl *cluster.Cluster) (written, error) {
		switch cl.Status.State {
		case v1.ClusterStateRunning:
		case v1.ClusterStateDeleting:
			return written{}, service.Conflict("cluster %s is being deleted; its certificates are not renewed", rec.Name)
		default:
			// Its certificates were just issued; a renewal now would only race the provisioning.
			return written{}, service.Conflict("cluster %s is %s; its certificates can be renewed once it is Running", rec.Name, cl.Status.State)
		}
		if !slices.ContainsFunc(cl.Pools, func(p cluster.Pool) bool { return p.ControlPlane }) {
			// An imported cluster's control plane is its owner's: nothing here would renew it.
			return written{}, service.Conflict("cluster %s has no control plane that easel manages (cloud type %s); renew its certificates where it is run", rec.Name, cl.CloudType)
		}
		cl.CertificatesRenewal = now
		msg := "Renewal of the control plane's certificates requested at " + now.UTC().Format(time.RFC3339) +
			": the control-plane machines are replaced one at a time and the certificates re-issued (the CA is kept)"
		if cl.RepaveApproval {
			msg += ", once the repave is approved (PATCH …/repave/approve)"
		}
		return written{severity: v1.SeverityInfo, reason: "CertificatesRenewalRequested", event: msg,
			action: "update", audit: "Requested the renewal of the certificates of cluster " + rec.Name}, nil
	})
	if err != nil {
		return err
	}
	s.notify(rec.UID)
	return nil
}

// SetMaintenance turns a machine's maintenance mode on (cordon: the agent cordons and drains its
// node) or off (uncordon), as Palette's PUT …/machines/{machineUid}/maintenance takes it
// (v1.MachineMaintenance). A request that changes nothing writes nothing.
func (s *Service) SetMaintenance(ctx context.Context, c *service.Call, t Target, pool, machineUID string, input service.Input) error {
	rec, cl, err := s.authorized(ctx, c, t, service.PermWriteClusters)
	if err != nil {
		return err
	}
	var in v1.MachineMaintenance
	if err := input(&in); err != nil {
		return err
	}
	if in.Action != v1.MaintenanceCordon && in.Action != v1.MaintenanceUncordon {
		return service.Invalid("action %q must be %s or %s", in.Action, v1.MaintenanceCordon, v1.MaintenanceUncordon)
	}
	if m, ok := cl.FindMachine(machineUID); !ok || m.Pool != pool {
		return service.NotFound("machine", machineUID)
	}
	if cl.Status.State == v1.ClusterStateDeleting {
		return service.Conflict("cluster %s is being deleted", rec.Name)
	}
	changed := false
	err = s.changeStatus(ctx, c, rec.UID, func(cl *cluster.Cluster) (written, error) {
		m, ok := cl.FindMachine(machineUID)
		if !ok {
			return written{}, service.NotFound("machine", machineUID)
		}
		did, err := cl.SetMaintenance(m, in.Action, s.clock.Now())
		if errors.Is(err, cluster.ErrMaintenanceRefused) {
			return written{}, service.Conflict("%v", err)
		}
		if changed = did; err != nil || !did {
			return written{}, err
		}
		msg := fmt.Sprintf("Maintenance of node %s requested: cordon it and drain its pods (DaemonSet and static pods stay)", m.Name)
		reason := "MaintenanceInitiated"
		if in.Action == v1.MaintenanceUncordon {
			msg, reason = fmt.Sprintf("End of maintenance of node %s requested: make it schedulable again", m.Name), "MaintenanceEnding"
		}
		return written{severity: v1.SeverityInfo, reason: reason, event: msg, action: "update", audit: msg}, nil
	})
	if err != nil {
		return err
	}
	if changed {
		s.waiters.Wake(rec.UID) // the agent's long-poll: the nodes revision changed
	}
	return nil
}

// Kubeconfig returns the cluster-admin kubeconfig of the cluster once its control plane exists,
// and records the download (asset names what was downloaded) in the audit trail: its certificate
// is cluster-admin in the cluster, so only those who may change the cluster get it.
func (s *Service) Kubeconfig(ctx context.Context, c *service.Call, t Target, asset string) (data []byte, name string, err error) {
	rec, cl, err := s.authorized(ctx, c, t, service.PermClusterCredentials)
	if err != nil {
		return nil, "", err
	}
	if s.kubeconfigs == nil {
		return nil, "", service.Conflict("cluster %s has no provider in this hub", rec.Name)
	}
	if !cl.Status.HasCondition(cluster.ConditionInfrastructureReady, "True") {
		return nil, "", service.Conflict("cluster %s has no control plane yet (state %s); try again once InfrastructureReady is True", rec.Name, cl.Status.State)
	}
	data, err = s.kubeconfigs.Kubeconfig(ctx, rec.UID, rec.Name, cl)
	if errors.Is(err, ErrNoKubeconfigs) {
		return nil, "", service.Conflict("cluster %s: %v", rec.Name, err)
	}
	if err != nil {
		return nil, "", err
	}
	if err := s.records.Audit(ctx, s.store, c, rec.ProjectUID, "download", Kind, rec.UID, rec.Name,
		"Downloaded the "+asset+" of cluster "+rec.Name); err != nil {
		return nil, "", err
	}
	return data, rec.Name, nil
}
