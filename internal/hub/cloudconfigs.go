package hub

import (
	"errors"
	"net/http"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// cloudConfigRecord returns the cluster whose cloud config the path names.
func (s *Server) cloudConfigRecord(r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	return cloudConfigRecordIn(s.store, r, c)
}

// cloudConfigRecordIn is cloudConfigRecord read through q (inside a transaction). The path's cloud
// type must be the cluster's; the generic machine routes name none and serve every cluster's cloud
// config, since tools built on the SDK fall back to them whatever the cloud type (the cloud config
// uid alone names the cluster).
func cloudConfigRecordIn(q store.Queries, r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	uid := r.PathValue("configUid")
	rec, err := q.GetObjectByAltUID(r.Context(), kindCluster, uid)
	if cloudType := r.PathValue("cloudType"); err != nil || !c.Visible(rec) || cloudType != "" && rec.Category != cloudType {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			err = service.NotFound("cloud config", uid)
		}
		return rec, clusters.Cluster{}, err
	}
	cl, err := clusters.Decode(rec.Doc)
	return rec, cl, err
}

func poolWire(p clusters.Pool) v1.MachinePoolConfig {
	return v1.MachinePoolConfig{Name: p.Name, Size: int32(p.Size), IsControlPlane: p.ControlPlane,
		UseControlPlaneAsWorker: p.UseControlPlaneAsWorker, AdditionalLabels: p.Labels, Taints: orEmpty(p.Taints),
		InstanceType: p.InstanceType, RootDeviceSize: p.DiskGiB, Azs: p.Zones, UpdateStrategy: p.UpdateStrategy, Values: p.Values}
}

func (s *Server) getCloudConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.cloudConfigRecord(r, c)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(rec))
	var out v1.CloudConfig
	out.Kind = "CloudConfig"
	out.Metadata = v1.ObjectMeta{UID: cl.CloudConfigUID, Name: rec.Name, CreationTimestamp: rec.CreatedAt, LastModifiedTimestamp: rec.UpdatedAt}
	out.Spec.ClusterConfig.Values = cl.ClusterValues
	out.Spec.MachinePoolConfig = []v1.MachinePoolConfig{}
	for _, p := range cl.Pools {
		out.Spec.MachinePoolConfig = append(out.Spec.MachinePoolConfig, poolWire(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// changePools applies change to the cluster's pools as a new spec generation, with an event and an
// audit entry, after checking the pools as a whole.
func (s *Server) changePools(r *http.Request, c *call, change func(cl *clusters.Cluster) (message string, err error)) error {
	return s.changeCluster(r, c, cloudConfigRecordIn, "MachinePoolChanged", func(_ store.Queries, cl *clusters.Cluster) (string, error) {
		message, err := change(cl)
		if err != nil {
			return "", err
		}
		return message, clusters.CheckPools(cl.Pools)
	})
}

func (s *Server) createMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	var in v1.MachinePoolConfigEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := clusters.PoolFromEntity("machinePool", in)
	if err != nil {
		return err
	}
	err = s.changePools(r, c, func(cl *clusters.Cluster) (string, error) {
		if _, exists := cl.Pool(p.Name); exists {
			return "", service.Conflict("the cluster already has a pool named %s", p.Name)
		}
		cl.Pools = append(cl.Pools, p)
		return "Added machine pool " + p.Name, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: p.Name})
	return nil
}

func (s *Server) updateMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("poolName")
	var in v1.MachinePoolConfigEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.PoolConfig.Name == "" {
		in.PoolConfig.Name = name
	}
	p, err := clusters.PoolFromEntity("machinePool", in)
	if err != nil {
		return err
	}
	if p.Name != name {
		return service.Invalid("poolConfig.name %q differs from the pool in the path (%s); pools cannot be renamed", p.Name, name)
	}
	err = s.changePools(r, c, func(cl *clusters.Cluster) (string, error) {
		old, ok := cl.Pool(name)
		if !ok {
			return "", service.NotFound("machine pool", name)
		}
		*old = p
		return "Updated machine pool " + name, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("poolName")
	err := s.changePools(r, c, func(cl *clusters.Cluster) (string, error) {
		p, ok := cl.Pool(name)
		switch {
		case !ok:
			return "", service.NotFound("machine pool", name)
		case p.ControlPlane:
			return "", service.Invalid("pool %s is the control plane; a cluster cannot lose it", name)
		}
		cl.Pools = slices.DeleteFunc(cl.Pools, func(other clusters.Pool) bool { return other.Name == name })
		return "Deleted machine pool " + name, nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// machineWire shows a machine in Palette's v1CustomMachine (and v1GenericMachine) shape.
func machineWire(cloudType string, m clusters.Machine) v1.Machine {
	var out v1.Machine
	out.APIVersion, out.Kind = "v1", "Machine"
	out.Metadata = v1.ObjectMeta{UID: m.UID, Name: m.Name, CreationTimestamp: m.CreatedAt,
		Labels: map[string]string{"pool": m.Pool}}
	size := clusters.InstanceTypes[m.InstanceType]
	out.Spec.CloudType, out.Spec.HostName, out.Spec.Zone = cloudType, m.Name, m.Zone
	out.Spec.InstanceType = v1.InstanceType{Name: m.InstanceType, NumCPUs: int32(size.CPU),
		MemoryMiB: int64(size.MemoryGiB) * 1024, DiskGiB: int32(m.DiskGiB)}
	switch {
	case m.Deleting():
		out.Status.InstanceState = "Deleting"
	case m.Ready:
		out.Status.InstanceState = "Running"
	default:
		out.Status.InstanceState = "Pending"
	}
	out.Status.MaintenanceStatus = m.Maintenance
	if out.Status.MaintenanceStatus == nil {
		out.Status.MaintenanceStatus = &v1.MachineMaintenanceStatus{}
	}
	return out
}

// listMachines lists a pool's machines: none until the engine has planned them.
func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.cloudConfigRecord(r, c)
	if err != nil {
		return err
	}
	name := r.PathValue("poolName")
	if _, ok := cl.Pool(name); !ok {
		return service.NotFound("machine pool", name)
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	var all []v1.Machine
	for _, m := range cl.Status.Machines {
		if m.Pool == name {
			all = append(all, machineWire(rec.Category, m))
		}
	}
	page := all[min(pg.offset, len(all)):min(pg.offset+pg.limit, len(all))]
	writeJSON(w, http.StatusOK, v1.Machines{Items: orEmpty(page), Listmeta: pg.listMeta(len(page), len(all))})
	return nil
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.cloudConfigRecord(r, c)
	if err != nil {
		return err
	}
	id := r.PathValue("machineUid")
	for _, m := range cl.Status.Machines {
		if m.Pool == r.PathValue("poolName") && (m.UID == id || m.Name == id) {
			writeJSON(w, http.StatusOK, machineWire(rec.Category, m))
			return nil
		}
	}
	return service.NotFound("machine", id)
}
