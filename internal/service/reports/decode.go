package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/usage"
)

// The agent's reports as the hub reads them: each decoder turns a body into a checked report, or
// a 400 that says what is wrong and names the limit it crosses. They touch nothing but the body,
// so they are fuzzed (fuzz_test.go); what needs the stored cluster is checked where it is written.

// decodeNodePage decodes and checks one page of a node report.
func decodeNodePage(body []byte) (v1.AgentNodeReport, error) {
	var in v1.AgentNodeReport
	if err := service.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	if err := checkPage(in.ReportPage); err != nil {
		return in, err
	}
	return in, checkNodes(in.Nodes, 0)
}

// decodeUsagePage decodes and checks one page of a usage report.
func decodeUsagePage(body []byte) (v1.AgentUsageReport, error) {
	var in v1.AgentUsageReport
	if err := service.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	if err := checkPage(in.ReportPage); err != nil {
		return in, err
	}
	return in, validateUsage(in)
}

// decodeWorkloadPage decodes and checks one page of a workload report.
func decodeWorkloadPage(body []byte) (v1.AgentWorkloadReport, error) {
	var in v1.AgentWorkloadReport
	if err := service.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	switch {
	case in.ReportID == "":
		return in, service.Invalid("reportId is required: deltas name the report they build on by it")
	case in.Disabled && (len(in.Items) > 0 || in.Base != "" || in.Pages > 1):
		return in, service.Invalid("a report saying the workload report is disabled carries no items")
	case len(in.Base) > 64:
		return in, service.Invalid("base is longer than 64 characters")
	}
	if err := checkPage(in.ReportPage); err != nil {
		return in, err
	}
	for i, it := range in.Items {
		if err := checkWorkloadItem(it, in.Base != ""); err != nil {
			return in, service.Invalid("items[%d]: %v", i, err)
		}
	}
	return in, nil
}

// decodePackReport decodes and checks a pack report.
func decodePackReport(body []byte) (v1.AgentPackReport, error) {
	var in v1.AgentPackReport
	if err := service.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	if in.Generation <= 0 {
		return in, service.Invalid("generation must be the cluster generation the packs were applied for")
	}
	if len(in.Packs) > v1.MaxReportedPacks {
		return in, service.Invalid("a pack report of %d packs is over the limit of %d packs (MaxReportedPacks)", len(in.Packs), v1.MaxReportedPacks)
	}
	for i, ps := range in.Packs {
		if states := []string{v1.PackStateApplied, v1.PackStatePending, v1.PackStateFailed, v1.PackStateRemoved}; ps.Name == "" || !slices.Contains(states, ps.State) {
			return in, service.Invalid("packs[%d]: name is required and state must be one of %s", i, strings.Join(states, ", "))
		}
	}
	return in, nil
}

// decodeConditions decodes and checks the conditions an agent sets; how many types the cluster
// may have is checkAgentConditions', against the stored ones.
func decodeConditions(body []byte) ([]v1.ClusterCondition, error) {
	var in []v1.ClusterCondition
	if err := service.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	for i, c := range in {
		switch {
		case c.Type == "" || len(c.Type) > 64:
			return nil, service.Invalid("[%d].type is required (at most 64 characters)", i)
		case slices.Contains(engineConditions, c.Type):
			return nil, service.Invalid("[%d]: condition %s is the hub's own; an agent cannot set it", i, c.Type)
		case c.Status != "True" && c.Status != "False" && c.Status != "Unknown":
			return nil, service.Invalid("[%d].status %q must be True, False or Unknown", i, c.Status)
		case len(c.Message) > 1024:
			return nil, service.Invalid("[%d].message is longer than 1024 characters", i)
		}
	}
	// A report that alone has more types than any cluster may hold is refused before it is stored.
	return in, checkAgentConditions(nil, in)
}

// decodeServices decodes and checks a services report.
func decodeServices(body []byte) ([]v1.LoadBalancerService, error) {
	var in []v1.LoadBalancerService
	if err := service.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in) > v1.MaxReportedServices {
		return nil, service.Invalid("a services report of %d services is over the limit of %d services (MaxReportedServices)", len(in), v1.MaxReportedServices)
	}
	for i, svc := range in {
		if svc.Name == "" || len(svc.Name) > 253 || len(svc.Link) > 2048 {
			return nil, service.Invalid("[%d]: name is required (at most 253 characters) and link at most 2048", i)
		}
	}
	return in, nil
}

// engineConditions are the conditions the hub owns; an agent may not set them.
var engineConditions = cluster.HubConditions()

// checkAgentConditions refuses a report that would give the cluster more than
// v1.MaxAgentConditions condition types of the agent's: each new type is kept for good, so the
// number of types, not of reports, is what is bounded. Types set before are updated as usual.
func checkAgentConditions(have, in []v1.ClusterCondition) error {
	types := map[string]bool{}
	for _, c := range have {
		if !slices.Contains(engineConditions, c.Type) {
			types[c.Type] = true
		}
	}
	for _, c := range in {
		types[c.Type] = true
	}
	if len(types) > v1.MaxAgentConditions {
		return service.Invalid("the report would give the cluster %d condition types of its agent; at most %d (MaxAgentConditions)", len(types), v1.MaxAgentConditions)
	}
	return nil
}

// checkNodes checks a page of a node report whose earlier pages listed before nodes.
func checkNodes(nodes []v1.NodeReport, before int) error {
	if n := before + len(nodes); n > v1.MaxReportedNodes {
		return service.Invalid("a node report of %d nodes is over the limit of %d nodes (MaxReportedNodes)", n, v1.MaxReportedNodes)
	}
	for i, n := range nodes {
		if n.Name == "" || len(n.Name) > v1.MaxNodeNameLength {
			return service.Invalid("nodes[%d].name is required and at most %d characters (MaxNodeNameLength)", i, v1.MaxNodeNameLength)
		}
	}
	return nil
}

func validateUsage(in v1.AgentUsageReport) error {
	switch {
	case in.Run == "" || len(in.Run) > 64:
		return service.Invalid("run is required (at most 64 characters)")
	case in.Seq < 1:
		return service.Invalid("seq must be at least 1")
	case len(in.Nodes) > v1.MaxReportedNodes:
		return service.Invalid("a usage report of %d nodes is over the limit of %d nodes (MaxReportedNodes)", len(in.Nodes), v1.MaxReportedNodes)
	case len(in.Source) > 64 || len(in.Error) > 4096:
		return service.Invalid("source is at most 64 characters and error at most 4096")
	}
	seen := make(map[string]bool, len(in.Nodes))
	for i, n := range in.Nodes {
		if n.Name == "" || len(n.Name) > v1.MaxNodeNameLength || seen[n.Name] {
			return service.Invalid("nodes[%d]: name is required, unique and at most %d characters (MaxNodeNameLength)", i, v1.MaxNodeNameLength)
		}
		seen[n.Name] = true
		if n.Role != usage.RoleControlPlane && n.Role != "worker" {
			return service.Invalid("nodes[%d].role %q must be control-plane or worker", i, n.Role)
		}
		for _, v := range []float64{n.CPUUsage, n.CPURequest, n.CPUAllocatable, n.MemoryUsage, n.MemoryRequest,
			n.MemoryAllocatable, n.DiskUsage, n.DiskCapacity} {
			if v < 0 || math.IsInf(v, 0) {
				return service.Invalid("nodes[%d] (%s): usage figures must be finite and not negative", i, n.Name)
			}
		}
	}
	return nil
}

// checkWorkloadItem validates one reported workload; in a delta, items may be deletions.
func checkWorkloadItem(it v1.WorkloadItem, delta bool) error {
	switch {
	case !slices.Contains(v1.WorkloadKinds, it.Kind):
		return fmt.Errorf("kind %q is not one of %s", it.Kind, strings.Join(v1.WorkloadKinds, ", "))
	case it.Name == "" || len(it.Name) > 253:
		return errors.New("name is required (at most 253 characters)")
	case (it.Kind == v1.WorkloadNamespace) != (it.Namespace == "") || len(it.Namespace) > 63:
		return errors.New("namespace is required for every kind but namespace (at most 63 characters)")
	case it.Deleted && !delta:
		return errors.New("a full report lists what exists; deletions belong in deltas")
	}
	return nil
}
