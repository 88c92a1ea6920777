package clusters

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/validate"
)

// poolValues is what a pool's Palette YAML (cloudConfig.values) may say about it: a
// KubeadmControlPlane or MachineDeployment names the pool and its replicas (and a MachineDeployment
// its failure domain); a LocalMachineTemplate, easel's own kind, carries the machine shape.
type poolValues struct {
	kind         string
	name         string
	replicas     *int
	zone         string
	instanceType string
	diskGiB      int64
	zones        []string
}

type valuesDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				FailureDomain string   `yaml:"failureDomain"`
				InstanceType  string   `yaml:"instanceType"`
				DiskGiB       int64    `yaml:"diskGiB"`
				Zones         []string `yaml:"zones"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func parsePoolValues(field, values string) (poolValues, error) {
	var pv poolValues
	docs, err := validate.YAMLDocuments(values)
	if err != nil {
		return pv, invalid("%s: %v", field, err)
	}
	for i, raw := range docs {
		b, _ := yaml.Marshal(raw)
		var d valuesDoc
		if err := yaml.Unmarshal(b, &d); err != nil {
			return pv, invalid("%s: document %d: %v", field, i+1, err)
		}
		switch d.Kind {
		case "KubeadmControlPlane", "MachineDeployment":
			if pv.kind != "" {
				return pv, invalid("%s: holds both a %s and a %s; one pool is one of them", field, pv.kind, d.Kind)
			}
			pv.kind, pv.name, pv.replicas = d.Kind, d.Metadata.Name, d.Spec.Replicas
			pv.zone = d.Spec.Template.Spec.FailureDomain
		case "LocalMachineTemplate":
			t := d.Spec.Template.Spec
			pv.instanceType, pv.diskGiB, pv.zones = t.InstanceType, t.DiskGiB, t.Zones
		}
	}
	return pv, nil
}

// PoolFromEntity validates one machine pool. Structured fields win; the pool's YAML values fill
// what they leave unset; defaults fill the rest.
func PoolFromEntity(field string, e v1.MachinePoolConfigEntity) (Pool, error) {
	pv, err := parsePoolValues(field+".cloudConfig.values", e.CloudConfig.Values)
	if err != nil {
		return Pool{}, err
	}
	pc := e.PoolConfig
	p := Pool{
		Name:                    firstOf(pc.Name, pv.name),
		ControlPlane:            pc.IsControlPlane || pv.kind == "KubeadmControlPlane",
		UseControlPlaneAsWorker: pc.UseControlPlaneAsWorker,
		InstanceType:            firstOf(e.CloudConfig.InstanceType, pv.instanceType, DefaultInstanceType),
		DiskGiB:                 e.CloudConfig.RootDeviceSize,
		Zones:                   e.CloudConfig.Azs,
		Labels:                  maps.Clone(pc.AdditionalLabels),
		Taints:                  pc.Taints,
		UpdateStrategy:          "RollingUpdateScaleOut",
		HealthCheck:             pc.MachineHealthCheck,
		Values:                  e.CloudConfig.Values,
	}
	if pc.UpdateStrategy != nil && pc.UpdateStrategy.Type != "" {
		p.UpdateStrategy = pc.UpdateStrategy.Type
	}
	switch {
	case pc.Size != nil:
		p.Size = int(*pc.Size)
	case pv.replicas != nil:
		p.Size = *pv.replicas
	default:
		p.Size = 1
	}
	if p.DiskGiB == 0 {
		p.DiskGiB = pv.diskGiB
	}
	if p.DiskGiB == 0 {
		p.DiskGiB = DefaultDiskGiB
	}
	if len(p.Zones) == 0 {
		p.Zones = pv.zones
	}
	if len(p.Zones) == 0 && pv.zone != "" {
		p.Zones = []string{pv.zone}
	}
	if len(p.Zones) == 0 {
		p.Zones = []string{Zones[0]}
	}
	for _, l := range pc.Labels {
		if l == "control-plane" {
			p.ControlPlane = true
		}
	}
	if p.Name == "" {
		return p, invalid("%s.poolConfig.name is required (or metadata.name in cloudConfig.values)", field)
	}
	field = fmt.Sprintf("%s (%s)", field, p.Name)
	return p, p.Validate(field)
}

// Wire is the pool as the API shows it (in a cloud config); sent back as an update's body, it
// gives the pool as it is.
func (p Pool) Wire() v1.MachinePoolConfig {
	taints := p.Taints
	if taints == nil {
		taints = []v1.Taint{} // the API shows an empty list, not null
	}
	return v1.MachinePoolConfig{Name: p.Name, Size: int32(p.Size), IsControlPlane: p.ControlPlane,
		UseControlPlaneAsWorker: p.UseControlPlaneAsWorker, AdditionalLabels: p.Labels, Taints: taints,
		InstanceType: p.InstanceType, RootDeviceSize: p.DiskGiB, Azs: p.Zones, UpdateStrategy: p.UpdateStrategy, Values: p.Values,
		MachineHealthCheck: p.HealthCheck}
}

// Validate checks one pool on its own.
func (p Pool) Validate(field string) error {
	if err := validate.Name(field+".name", p.Name); err != nil {
		return invalid("%v", err)
	}
	switch {
	case p.ControlPlane && p.Size < 1:
		return invalid("%s: a control-plane pool needs size >= 1, not %d", field, p.Size)
	case p.Size < 0:
		return invalid("%s: size must be >= 0, not %d", field, p.Size)
	case p.Size > v1.MaxMachinesPerCluster:
		return invalid("%s: size %d is over the limit of %d machines a cluster may have (MaxMachinesPerCluster)", field, p.Size, v1.MaxMachinesPerCluster)
	}
	if _, ok := InstanceTypes[p.InstanceType]; !ok {
		return invalid("%s: unknown instance type %q (known: %s)", field, p.InstanceType, strings.Join(slices.Sorted(maps.Keys(InstanceTypes)), ", "))
	}
	if p.DiskGiB < MinDiskGiB || p.DiskGiB > MaxDiskGiB {
		return invalid("%s: disk size %d GiB is outside %d–%d GiB", field, p.DiskGiB, MinDiskGiB, MaxDiskGiB)
	}
	seen := map[string]bool{}
	for _, z := range p.Zones {
		if !slices.Contains(Zones, z) {
			return invalid("%s: unknown zone %q (known: %s)", field, z, strings.Join(Zones, ", "))
		}
		if seen[z] {
			return invalid("%s: zone %q is listed twice", field, z)
		}
		seen[z] = true
	}
	if err := validate.Labels(field+".additionalLabels", p.Labels); err != nil {
		return invalid("%v", err) // they become the labels of the pool's nodes
	}
	for i, t := range p.Taints {
		if t.Key == "" {
			return invalid("%s.taints[%d]: key is required", field, i)
		}
		if !slices.Contains([]string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
			return invalid("%s.taints[%d]: effect %q must be NoSchedule, PreferNoSchedule or NoExecute", field, i, t.Effect)
		}
	}
	if !slices.Contains([]string{"RollingUpdateScaleOut", "RollingUpdateScaleIn"}, p.UpdateStrategy) {
		return invalid("%s: update strategy %q must be RollingUpdateScaleOut or RollingUpdateScaleIn", field, p.UpdateStrategy)
	}
	return nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
