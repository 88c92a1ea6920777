package hub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/api/apiutil/transport"
	clientv1 "github.com/spectrocloud/palette-sdk-go/api/client/version1"
	"github.com/spectrocloud/palette-sdk-go/api/models"
	palette "github.com/spectrocloud/palette-sdk-go/client"

	"github.com/easelhq/easel/internal/clusters"
)

// The machine lists decode in the Palette SDK's own models, through the custom-cloud routes and
// the generic routes the SDK's helpers fall back to: spec.instanceType is an object, status and
// status.maintenanceStatus are always there, and a machine put in maintenance through the SDK
// shows it through both.
func TestMachinesThroughPaletteSDK(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("sdk-machines", c.publishedProfile("base"))
		cl := h.recordStatus(uid, func(cl *clusters.Cluster) { // the machines the engine would have recorded
			now := time.Now()
			cl.Status.Machines = []clusters.Machine{
				{UID: "m-cp", Name: "cp-1", Pool: "cp", ControlPlane: true, InstanceType: "small", Zone: "local-a", DiskGiB: 60, CreatedAt: now, Ready: true},
				{UID: "m-w1", Name: "workers-1", Pool: "workers", InstanceType: "medium", Zone: "local-a", DiskGiB: 80, CreatedAt: now, Ready: true},
				{UID: "m-w2", Name: "workers-2", Pool: "workers", InstanceType: "medium", Zone: "local-b", DiskGiB: 80, CreatedAt: now},
			}
		})
		pc := palette.New(palette.WithPaletteURI(strings.TrimPrefix(h.url, "http://")), palette.WithAPIKey(adminKey),
			palette.WithSchemes([]string{"http"}), palette.WithScopeProject(h.defaultPrj))
		scoped := palette.ContextForScope("project", h.defaultPrj)
		cfg := cl.CloudConfigUID

		custom, err := pc.Client.V1CloudConfigsCustomPoolMachinesList(clientv1.NewV1CloudConfigsCustomPoolMachinesListParamsWithContext(scoped).
			WithCloudType("local").WithConfigUID(cfg).WithMachinePoolName("workers"))
		if err != nil {
			t.Fatalf("V1CloudConfigsCustomPoolMachinesList: %v", err)
		}
		if n := len(custom.Payload.Items); n != 2 || custom.Payload.Listmeta == nil || custom.Payload.Listmeta.Count != 2 {
			t.Fatalf("custom machine list: %d items, listmeta %+v; want 2", n, custom.Payload.Listmeta)
		}
		for _, m := range custom.Payload.Items {
			want := models.V1CustomInstanceType{Name: "medium", NumCPUs: 4, MemoryMiB: 8192, DiskGiB: 80}
			if m.Spec == nil || m.Spec.InstanceType == nil || *m.Spec.InstanceType != want || m.Spec.CloudType != "local" ||
				m.Spec.HostName != m.Metadata.Name {
				t.Fatalf("custom machine %s spec = %+v; want instance type %+v, cloud type local, host name %s", m.Metadata.Name, m.Spec, want, m.Metadata.Name)
			}
			if m.Status == nil || m.Status.MaintenanceStatus == nil || m.Status.MaintenanceStatus.Action != "" {
				t.Fatalf("custom machine %s status = %+v; want an empty maintenance status", m.Metadata.Name, m.Status)
			}
		}
		if got := custom.Payload.Items[0].Status.InstanceState + " " + custom.Payload.Items[1].Status.InstanceState; got != "Running Pending" {
			t.Fatalf("instance states = %s; want Running Pending", got)
		}

		generic, err := pc.Client.V1CloudConfigsGenericPoolMachinesList(clientv1.NewV1CloudConfigsGenericPoolMachinesListParamsWithContext(scoped).
			WithConfigUID(cfg).WithMachinePoolName("cp"))
		if err != nil {
			t.Fatalf("V1CloudConfigsGenericPoolMachinesList: %v", err)
		}
		if items := generic.Payload.Items; len(items) != 1 || items[0].Metadata.UID != "m-cp" || items[0].Spec.InstanceType == nil ||
			*items[0].Spec.InstanceType != (models.V1GenericInstanceType{Name: "small", NumCPUs: 2, MemoryMiB: 4096, DiskGiB: 60}) ||
			items[0].Status == nil || items[0].Status.MaintenanceStatus == nil {
			t.Fatalf("generic machine list of pool cp = %s; want m-cp, small (2 CPUs, 4096 MiB, 60 GiB), with a status", dumpJSON(items))
		}

		// Maintenance through the SDK, read back through both routes.
		if err := pc.ToggleMaintenanceOnNode(&models.V1MachineMaintenance{Action: "cordon"}, "local", cfg, "workers", "m-w1"); err != nil {
			t.Fatalf("ToggleMaintenanceOnNode(cordon): %v", err)
		}
		st, err := pc.GetNodeMaintenanceStatus(pc.GetNodeMaintenanceStatusGeneric, cfg, "workers", "m-w1")
		if err != nil || st == nil || st.Action != "cordon" || st.State != "Initiated" {
			t.Fatalf("GetNodeMaintenanceStatus(generic) = %+v, %v; want cordon Initiated", st, err)
		}
		one, err := pc.Client.V1CloudConfigsCustomPoolMachinesUIDGet(clientv1.NewV1CloudConfigsCustomPoolMachinesUIDGetParamsWithContext(scoped).
			WithCloudType("local").WithConfigUID(cfg).WithMachinePoolName("workers").WithMachineUID("m-w1"))
		if err != nil || one.Payload.Status.MaintenanceStatus.State != "Initiated" || one.Payload.Spec.InstanceType.Name != "medium" {
			t.Fatalf("V1CloudConfigsCustomPoolMachinesUIDGet = %s, %v; want medium, maintenance Initiated", dumpJSON(one), err)
		}

		// Wrong cloud type, unknown cloud config, pool or machine: 404 ResourceNotFound.
		for what, call := range map[string]func() error{
			"custom list with cloud type aws": func() error {
				_, err := pc.Client.V1CloudConfigsCustomPoolMachinesList(clientv1.NewV1CloudConfigsCustomPoolMachinesListParamsWithContext(scoped).
					WithCloudType("aws").WithConfigUID(cfg).WithMachinePoolName("workers"))
				return err
			},
			"generic list of an unknown cloud config": func() error {
				_, err := pc.Client.V1CloudConfigsGenericPoolMachinesList(clientv1.NewV1CloudConfigsGenericPoolMachinesListParamsWithContext(scoped).
					WithConfigUID("000000000000000000000000").WithMachinePoolName("workers"))
				return err
			},
			"generic list of an unknown pool": func() error {
				_, err := pc.Client.V1CloudConfigsGenericPoolMachinesList(clientv1.NewV1CloudConfigsGenericPoolMachinesListParamsWithContext(scoped).
					WithConfigUID(cfg).WithMachinePoolName("gpu"))
				return err
			},
			"generic machine not in the pool": func() error {
				_, err := pc.GetNodeMaintenanceStatusGeneric(cfg, "cp", "m-w1")
				return err
			},
		} {
			var te *transport.TransportError
			if err := call(); !errors.As(err, &te) || te.HttpCode != 404 || te.Payload == nil || te.Payload.Code != "ResourceNotFound" {
				t.Fatalf("%s: %v; want 404 ResourceNotFound", what, err)
			}
		}
	})
}

// A pool read from the cloud config can be sent back whole: its health-check overrides are shown
// too. A deleted pool's machines stay listed, being drained and deleted, until the last is gone;
// then the pool is not found.
func TestPoolRoundTripAndDeletedPoolMachines(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("pools", c.publishedProfile("base"))
		var cl struct {
			Spec struct{ CloudConfigRef struct{ UID string } }
		}
		c.must(200, "GET", "/v1/spectroclusters/"+uid, nil, &cl)
		cfg := "/v1/cloudconfigs/cloudTypes/local/" + cl.Spec.CloudConfigRef.UID
		c.must(201, "POST", cfg+"/machinePools", map[string]any{"poolConfig": map[string]any{"name": "gpu", "size": 1,
			"machineHealthCheck": map[string]any{"nodeReadyHealthCheckDuration": "3m"}}, "cloudConfig": map[string]any{"azs": []string{"local-b"}}}, nil)
		var cc struct {
			Spec struct {
				MachinePoolConfig []struct {
					Name               string
					Azs                []string
					MachineHealthCheck *struct{ NodeReadyHealthCheckDuration string }
				}
			}
		}
		c.must(200, "GET", cfg, nil, &cc)
		if gpu := cc.Spec.MachinePoolConfig[2]; gpu.Name != "gpu" || fmt.Sprint(gpu.Azs) != "[local-b]" ||
			gpu.MachineHealthCheck == nil || gpu.MachineHealthCheck.NodeReadyHealthCheckDuration != "3m" {
			t.Fatalf("pool gpu as read = %s; want zone local-b and its health check", dumpJSON(gpu))
		}

		h.recordStatus(uid, func(cl *clusters.Cluster) { // the machine the engine would have made
			cl.Status.Machines = []clusters.Machine{{UID: "m-g1", Name: "gpu-1", Pool: "gpu", InstanceType: "small", Zone: "local-b", DiskGiB: 60, CreatedAt: time.Now(), Ready: true}}
		})
		c.must(204, "DELETE", cfg+"/machinePools/gpu", nil, nil)
		var machines struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ InstanceState string }
			}
		}
		c.must(200, "GET", cfg+"/machinePools/gpu/machines", nil, &machines)
		if len(machines.Items) != 1 || machines.Items[0].Metadata.Name != "gpu-1" {
			t.Fatalf("machines of the deleted pool gpu = %s; want gpu-1 until it is gone", dumpJSON(machines))
		}
		h.recordStatus(uid, func(cl *clusters.Cluster) { cl.Status.Machines = nil })
		c.fails(404, "ResourceNotFound", "GET", cfg+"/machinePools/gpu/machines", nil, "gpu")
	})
}

func dumpJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
