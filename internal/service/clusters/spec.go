package clusters

import (
	"context"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// A cluster's profiles on a running cluster: attaching, detaching, replacing (a new version) or
// changing values is a new spec generation. The agent applies the packs in place and prunes what
// detached packs left; an OS or Kubernetes layer change is a repave (the engine's, with reasons).

// PutProfiles sets the cluster's whole list of profiles (v1.SpectroClusterProfiles).
func (s *Service) PutProfiles(ctx context.Context, c *service.Call, t Target, input service.Input) error {
	var in v1.SpectroClusterProfiles
	if err := s.writeInput(ctx, c, t, input, &in); err != nil {
		return err
	}
	for i, e := range in.Profiles {
		if e.ReplaceWithProfile != "" {
			return service.Invalid("profiles[%d].replaceWithProfile is for PATCH; PUT gives the whole list", i)
		}
	}
	return s.changeProfiles(ctx, c, t, func(*cluster.Cluster) ([]v1.SpectroClusterProfileEntity, error) { return in.Profiles, nil })
}

// PatchProfiles attaches, replaces or changes the values of the profiles it names
// (v1.SpectroClusterProfiles).
func (s *Service) PatchProfiles(ctx context.Context, c *service.Call, t Target, input service.Input) error {
	var in v1.SpectroClusterProfiles
	if err := s.writeInput(ctx, c, t, input, &in); err != nil {
		return err
	}
	if len(in.Profiles) == 0 {
		return service.Invalid("profiles: name at least one profile to attach or change")
	}
	return s.changeProfiles(ctx, c, t, func(cl *cluster.Cluster) ([]v1.SpectroClusterProfileEntity, error) {
		return cluster.PatchProfiles(cl.Profiles, in.Profiles)
	})
}

// DetachProfiles detaches add-on profiles (v1.SpectroClusterProfilesDeleteEntity).
func (s *Service) DetachProfiles(ctx context.Context, c *service.Call, t Target, input service.Input) error {
	var in v1.SpectroClusterProfilesDeleteEntity
	if err := s.writeInput(ctx, c, t, input, &in); err != nil {
		return err
	}
	return s.changeProfiles(ctx, c, t, func(cl *cluster.Cluster) ([]v1.SpectroClusterProfileEntity, error) {
		return cluster.DetachProfiles(cl.Profiles, in.ProfileUids)
	})
}

// changeProfiles puts the list next returns in place of the cluster's profiles, once checked; a
// list that changes nothing writes nothing.
func (s *Service) changeProfiles(ctx context.Context, c *service.Call, t Target, next func(cl *cluster.Cluster) ([]v1.SpectroClusterProfileEntity, error)) error {
	return s.change(ctx, c, t, "ProfilesChanged", func(q store.Queries, cl *cluster.Cluster) (string, error) {
		if cl.Status.State != v1.ClusterStateRunning {
			return "", service.Conflict("the cluster is %s; its profiles can change once it is Running", cl.Status.State)
		}
		in, err := next(cl)
		if err != nil {
			return "", err
		}
		changes, err := cl.SetProfiles(in, profileResolver(ctx, q, c), s.catalog)
		if err != nil || len(changes) == 0 {
			return "", err
		}
		msg := "Profiles changed: " + strings.Join(changes, "; ")
		if reasons := cl.RepaveReasons(); len(reasons) > 0 {
			msg += " (the machines are repaved: " + strings.Join(reasons, "; ") + ")"
		}
		return msg, nil
	})
}

// AddPool adds a machine pool (v1.MachinePoolConfigEntity) and returns its name. Without
// cloudConfig the pool takes the default instance type, zone and disk size.
func (s *Service) AddPool(ctx context.Context, c *service.Call, t Target, input service.Input) (string, error) {
	var in v1.MachinePoolConfigEntity
	if err := s.writeInput(ctx, c, t, input, &in); err != nil {
		return "", err
	}
	p, err := cluster.PoolFromEntity("machinePool", in)
	if err != nil {
		return "", err
	}
	err = s.changePools(ctx, c, t, func(cl *cluster.Cluster) (string, error) {
		if _, exists := cl.Pool(p.Name); exists {
			return "", service.Conflict("the cluster already has a pool named %s", p.Name)
		}
		cl.Pools = append(cl.Pools, p)
		return "Added machine pool " + p.Name, nil
	})
	return p.Name, err
}

// poolReplacement is v1.MachinePoolConfigEntity as an update sends it, with cloudConfig's presence
// kept: an update replaces the whole pool, so a body without cloudConfig would put the default
// zones, instance type and disk in place of the pool's own and repave its nodes. Palette's schema
// requires cloudConfig; its SDK and Terraform provider always send it.
type poolReplacement struct {
	CloudConfig *v1.MachinePoolCloudConfigEntity `json:"cloudConfig"`
	PoolConfig  v1.MachinePoolBaseConfigEntity   `json:"poolConfig"`
}

// UpdatePool replaces the machine pool name with what the input gives (v1.MachinePoolConfigEntity,
// cloudConfig required). A pool added without cloudConfig takes the defaults, as it has nothing
// to lose; a pool replaced without one is refused and nothing changes.
func (s *Service) UpdatePool(ctx context.Context, c *service.Call, t Target, name string, input service.Input) error {
	var body poolReplacement
	if err := s.writeInput(ctx, c, t, input, &body); err != nil {
		return err
	}
	if body.CloudConfig == nil {
		return service.Invalid("cloudConfig is required: an update replaces the whole pool, and without cloudConfig pool %s "+
			"would lose its zones, instance type and disk size to the defaults (and its nodes be repaved); read the pool "+
			"(GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}) and send it back whole with your change", name)
	}
	in := v1.MachinePoolConfigEntity{CloudConfig: *body.CloudConfig, PoolConfig: body.PoolConfig}
	if in.PoolConfig.Name == "" {
		in.PoolConfig.Name = name
	}
	p, err := cluster.PoolFromEntity("machinePool", in)
	if err != nil {
		return err
	}
	if p.Name != name {
		return service.Invalid("poolConfig.name %q differs from the pool in the path (%s); pools cannot be renamed", p.Name, name)
	}
	return s.changePools(ctx, c, t, func(cl *cluster.Cluster) (string, error) {
		old, ok := cl.Pool(name)
		if !ok {
			return "", service.NotFound("machine pool", name)
		}
		*old = p
		return "Updated machine pool " + name, nil
	})
}

// DeletePool deletes a worker pool; the engine drains and deletes its machines.
func (s *Service) DeletePool(ctx context.Context, c *service.Call, t Target, name string) error {
	return s.changePools(ctx, c, t, func(cl *cluster.Cluster) (string, error) {
		p, ok := cl.Pool(name)
		switch {
		case !ok:
			return "", service.NotFound("machine pool", name)
		case p.ControlPlane:
			return "", service.Invalid("pool %s is the control plane; a cluster cannot lose it", name)
		}
		cl.Pools = slices.DeleteFunc(cl.Pools, func(other cluster.Pool) bool { return other.Name == name })
		return "Deleted machine pool " + name, nil
	})
}

// changePools applies fn to the cluster's pools as a new spec generation, after checking the pools
// as a whole.
func (s *Service) changePools(ctx context.Context, c *service.Call, t Target, fn func(cl *cluster.Cluster) (message string, err error)) error {
	return s.change(ctx, c, t, "MachinePoolChanged", func(_ store.Queries, cl *cluster.Cluster) (string, error) {
		message, err := fn(cl)
		if err != nil {
			return "", err
		}
		return message, cluster.CheckPools(cl.Pools)
	})
}

// writeInput reads the caller's input once they may change the targeted cluster: a caller who
// may not learns nothing from how their input would have been judged.
func (s *Service) writeInput(ctx context.Context, c *service.Call, t Target, input service.Input, into any) error {
	if _, _, err := s.authorized(ctx, c, t, service.PermWriteClusters); err != nil {
		return err
	}
	return input(into)
}
