package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/easelhq/easel/api/v1"
)

// CloudConfig returns a cluster's cloud config — its machine pools — and its version, which
// UpdateMachinePool sends back as If-Match.
func (c *Client) CloudConfig(ctx context.Context, cloudType, configUID string) (*v1.CloudConfig, string, error) {
	if configUID == "" {
		return nil, "", errEmptyUID
	}
	var out v1.CloudConfig
	header, err := c.exchange(ctx, http.MethodGet, uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID), nil, nil, nil, &out)
	if err != nil {
		return nil, "", err
	}
	return &out, header.Get("ETag"), nil
}

// AddMachinePool adds a pool to a cluster; the engine creates its machines.
func (c *Client) AddMachinePool(ctx context.Context, cloudType, configUID string, e v1.MachinePoolConfigEntity) error {
	return c.do(ctx, http.MethodPost, uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools"), nil, e, nil)
}

// UpdateMachinePool replaces a pool whole (PoolEntity makes one from a pool as read). With
// ifMatch, a version CloudConfig returned, the hub refuses the change (409) if the cluster has
// changed since.
func (c *Client) UpdateMachinePool(ctx context.Context, cloudType, configUID, pool string, e v1.MachinePoolConfigEntity, ifMatch string) error {
	var header http.Header
	if ifMatch != "" {
		header = http.Header{"If-Match": {ifMatch}}
	}
	_, err := c.exchange(ctx, http.MethodPut, uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools", pool), nil, header, e, nil)
	return err
}

// DeleteMachinePool deletes a worker pool; the engine drains and deletes its machines.
func (c *Client) DeleteMachinePool(ctx context.Context, cloudType, configUID, pool string) error {
	return c.do(ctx, http.MethodDelete, uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools", pool), nil, nil, nil)
}

// PoolEntity is a pool as CloudConfig reads it, in the shape UpdateMachinePool sends it back: every
// field kept, so that a change of one (the size) leaves the rest of the pool as it is.
func PoolEntity(p v1.MachinePoolConfig) v1.MachinePoolConfigEntity {
	size := p.Size
	e := v1.MachinePoolConfigEntity{
		CloudConfig: v1.MachinePoolCloudConfigEntity{Values: p.Values, InstanceType: p.InstanceType, RootDeviceSize: p.RootDeviceSize, Azs: p.Azs},
		PoolConfig: v1.MachinePoolBaseConfigEntity{Name: p.Name, Size: &size, IsControlPlane: p.IsControlPlane,
			UseControlPlaneAsWorker: p.UseControlPlaneAsWorker, AdditionalLabels: p.AdditionalLabels, Taints: p.Taints,
			MachineHealthCheck: p.MachineHealthCheck},
	}
	if p.UpdateStrategy != "" {
		e.PoolConfig.UpdateStrategy = &struct {
			Type string `json:"type,omitempty"`
		}{p.UpdateStrategy}
	}
	return e
}

// Machines lists a pool's machines (GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{pool}/machines),
// every page of them. A deleted pool's machines are listed until the last is gone.
func (c *Client) Machines(ctx context.Context, cloudType, configUID, pool string) ([]v1.Machine, error) {
	path := uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools", pool, "machines")
	return allPages(func(token string) ([]v1.Machine, v1.ListMeta, error) {
		q := url.Values{"limit": {strconv.Itoa(v1.MaxListLimit)}}
		if token != "" {
			q.Set("continue", token)
		}
		var out v1.Machines
		if err := c.do(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			return nil, v1.ListMeta{}, err
		}
		return out.Items, out.Listmeta, nil
	})
}

// Machine returns one machine with its maintenance status.
func (c *Client) Machine(ctx context.Context, cloudType, configUID, pool, machineUID string) (*v1.Machine, error) {
	var out v1.Machine
	path := uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools", pool, "machines", machineUID)
	if err := c.do(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetMaintenance turns a machine's maintenance mode on (v1.MaintenanceCordon) or off
// (v1.MaintenanceUncordon).
func (c *Client) SetMaintenance(ctx context.Context, cloudType, configUID, pool, machineUID, action string) error {
	path := uidPath("/v1/cloudconfigs", cloudType, configUID, "machinePools", pool, "machines", machineUID, "maintenance")
	return c.do(ctx, http.MethodPut, path, nil, v1.MachineMaintenance{Action: action}, nil)
}
