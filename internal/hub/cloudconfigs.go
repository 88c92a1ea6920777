package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	clustersvc "github.com/easelhq/easel/internal/service/clusters"
	"github.com/easelhq/easel/internal/store"
)

// cloudConfigRecord returns the cluster whose cloud config the path names. The path's cloud type
// must be the cluster's; the generic machine routes name none and serve every cluster's cloud
// config, since tools built on the SDK fall back to them whatever the cloud type.
func (s *Server) cloudConfigRecord(r *http.Request, c *call) (store.Record, clusters.Cluster, error) {
	return s.clusters.Get(r.Context(), &c.Call, cloudConfigTarget(r))
}

// cloudConfigTarget is the cluster whose cloud config the path names, at the version the If-Match
// header names.
func cloudConfigTarget(r *http.Request) clustersvc.Target {
	t := clustersvc.ByCloudConfig(r.PathValue("cloudType"), r.PathValue("configUid"))
	t.IfMatch = r.Header.Get("If-Match")
	return t
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
		out.Spec.MachinePoolConfig = append(out.Spec.MachinePoolConfig, p.Wire())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := s.clusters.AddPool(r.Context(), &c.Call, cloudConfigTarget(r), body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: name})
	return nil
}

func (s *Server) updateMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.UpdatePool(r.Context(), &c.Call, cloudConfigTarget(r), r.PathValue("poolName"), body(r)))
}

func (s *Server) deleteMachinePool(w http.ResponseWriter, r *http.Request, c *call) error {
	return noContent(w, s.clusters.DeletePool(r.Context(), &c.Call, cloudConfigTarget(r), r.PathValue("poolName")))
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

// listMachines lists a pool's machines: none until the engine has planned them. A deleted pool's
// machines are listed until the engine has drained and deleted the last of them, so that a client
// can follow the deletion; then the pool is not found.
func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, cl, err := s.cloudConfigRecord(r, c)
	if err != nil {
		return err
	}
	name := r.PathValue("poolName")
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
	if _, ok := cl.Pool(name); !ok && len(all) == 0 {
		return service.NotFound("machine pool", name)
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
