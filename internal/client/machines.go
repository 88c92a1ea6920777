package client

import (
	"context"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// Machines lists a pool's machines (GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{pool}/machines).
func (c *Client) Machines(ctx context.Context, cloudType, configUID, pool string) ([]v1.Machine, error) {
	var out v1.Machines
	path := uidPath("/v1/cloudconfigs/cloudTypes", cloudType, configUID, "machinePools", pool, "machines")
	if err := c.do(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
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
