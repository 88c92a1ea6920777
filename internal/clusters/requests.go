package clusters

import (
	"slices"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
)

// OpenRequest adds a troubleshooting request for the agent to carry out.
func (c *Cluster) OpenRequest(r v1.AgentRequest) {
	c.Status.Requests = append(c.Status.Requests, r)
	c.Status.RequestsRevision++
}

// CloseRequest takes a request off the agent's list; false when it was not on it.
func (c *Cluster) CloseRequest(uid string) bool {
	i := slices.IndexFunc(c.Status.Requests, func(r v1.AgentRequest) bool { return r.UID == uid })
	if i < 0 {
		return false
	}
	c.Status.Requests = slices.Delete(c.Status.Requests, i, i+1)
	c.Status.RequestsRevision++
	return true
}

// OpenRequests returns the uids of the open requests of one kind.
func (c *Cluster) OpenRequests(kind string) []string {
	var out []string
	for _, r := range c.Status.Requests {
		if r.Kind == kind {
			out = append(out, r.UID)
		}
	}
	return out
}

// AgentRequests is the open requests as the agent gets them: a doctor request carries the
// machines easel made, so that the agent can tell a machine whose node never appeared.
func (c *Cluster) AgentRequests() []v1.AgentRequest {
	out := make([]v1.AgentRequest, 0, len(c.Status.Requests))
	for _, r := range c.Status.Requests {
		if r.Kind == v1.AgentRequestDoctor && r.Doctor != nil {
			d := *r.Doctor
			d.Machines = c.doctorMachines(d.Nodes)
			r.Doctor = &d
		}
		out = append(out, r)
	}
	return out
}

// doctorMachines lists the machines the doctor checks for a node: those named (all when none
// are), with how long each node has to appear — its pool's startup timeout.
func (c *Cluster) doctorMachines(nodes []string) []v1.DoctorMachine {
	var out []v1.DoctorMachine
	for _, m := range c.Status.Machines {
		if m.Deleting() || len(nodes) > 0 && !slices.Contains(nodes, m.Name) {
			continue
		}
		timeout := DefaultNodeStartupTimeout
		if p, ok := c.Pool(m.Pool); ok {
			hc, _ := p.HealthCheckConfig() // an invalid override: its default stands
			timeout = hc.NodeStartup
		}
		out = append(out, v1.DoctorMachine{Name: m.Name, Pool: m.Pool, CreatedAt: m.CreatedAt,
			NodeTimeoutSeconds: int64(timeout / time.Second)})
	}
	return out
}
