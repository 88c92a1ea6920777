package clusters

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Node auto-remediation defaults: a node whose kubelet has not been up (Ready False or Unknown)
// for 10 minutes, whose network has been unavailable for 10 minutes, or that is not Ready 30
// minutes after its machine was created, is relaunched; never more than 40% of a pool at once.
const (
	DefaultNodeReadyTimeout    = 10 * time.Minute
	DefaultNetworkReadyTimeout = 10 * time.Minute
	DefaultNodeStartupTimeout  = 30 * time.Minute
	DefaultMaxUnhealthyPercent = 40
)

// Reasons a machine is unhealthy.
const (
	UnhealthyNotReady           = "NodeNotReady"
	UnhealthyNetworkUnavailable = "NetworkUnavailable"
	UnhealthyNeverReady         = "NodeStartupTimeout"
)

// Unhealthy is why a machine's node is unhealthy and since when (the hub's clock).
type Unhealthy struct {
	Reason  string    `json:"reason"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"`
}

// HealthCheck is when a pool's unhealthy nodes are relaunched.
type HealthCheck struct {
	NodeReady, NetworkReady, NodeStartup time.Duration
	MaxUnhealthyPercent                  int
}

// HealthCheckConfig is the pool's health check: the defaults with its overrides. An invalid override is
// returned as an error (for an event) and the default stands for it.
func (p Pool) HealthCheckConfig() (HealthCheck, error) {
	hc := HealthCheck{DefaultNodeReadyTimeout, DefaultNetworkReadyTimeout, DefaultNodeStartupTimeout, DefaultMaxUnhealthyPercent}
	if p.HealthCheck == nil {
		return hc, nil
	}
	var bad []string
	for _, o := range []struct {
		name, value string
		into        *time.Duration
	}{
		{"nodeReadyHealthCheckDuration", p.HealthCheck.NodeReadyHealthCheckDuration, &hc.NodeReady},
		{"networkReadyHealthCheckDuration", p.HealthCheck.NetworkReadyHealthCheckDuration, &hc.NetworkReady},
		{"nodeStartupTimeout", p.HealthCheck.NodeStartupTimeout, &hc.NodeStartup},
	} {
		if o.value == "" {
			continue
		}
		d, err := time.ParseDuration(o.value)
		if err != nil || d < time.Second {
			bad = append(bad, fmt.Sprintf("%s %q is not a duration of at least 1s", o.name, o.value))
			continue
		}
		*o.into = d
	}
	if v := p.HealthCheck.HealthCheckMaxUnhealthy; v != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		if err != nil || !strings.HasSuffix(v, "%") || n < 0 || n > 100 {
			bad = append(bad, fmt.Sprintf("healthCheckMaxUnhealthy %q is not a percentage such as 40%%", v))
		} else {
			hc.MaxUnhealthyPercent = n
		}
	}
	if len(bad) > 0 {
		return hc, fmt.Errorf("pool %s: %s; the defaults apply", p.Name, strings.Join(bad, "; "))
	}
	return hc, nil
}

// ObserveHealth updates each machine's Unhealthy at now from what the provider saw (Ready) and the
// agent's node report (NetworkUnavailable); a reason that persists keeps its start.
func (c *Cluster) ObserveHealth(now time.Time) {
	network := map[string]string{}
	for _, n := range c.Status.Nodes {
		for _, cond := range n.Conditions {
			if cond.Type == "NetworkUnavailable" && cond.Status == "True" {
				network[n.Name] = cond.Reason
			}
		}
	}
	for i := range c.Status.Machines {
		m := &c.Status.Machines[i]
		if m.Ready && m.JoinedAt.IsZero() {
			m.JoinedAt = now
		}
		var u *Unhealthy
		switch _, netDown := network[m.Name]; {
		case m.Deleting():
		case m.JoinedAt.IsZero():
			u = &Unhealthy{Reason: UnhealthyNeverReady, Message: "its node has not been Ready since the machine was created", Since: m.CreatedAt}
		case !m.Ready:
			u = &Unhealthy{Reason: UnhealthyNotReady, Message: "its kubelet is not up (Ready is not True)", Since: now}
		case netDown:
			u = &Unhealthy{Reason: UnhealthyNetworkUnavailable, Message: "its network is unavailable", Since: now}
		}
		if u != nil && m.Unhealthy != nil && m.Unhealthy.Reason == u.Reason {
			u.Since = m.Unhealthy.Since
		}
		m.Unhealthy = u
	}
}

// Remediation is a machine to relaunch and why.
type Remediation struct {
	Machine *Machine
	Reason  string
}

// Remediations are the machines to relaunch at now: unhealthy for longer than their pool's
// timeout, pool by pool — unless more of the pool is unhealthy (failing now, whatever for how long,
// or being relaunched) than its cap allows (at least one machine), when the pool waits: a
// partition must not turn into a meltdown. paused says which
// pools wait; next is when another machine's timeout ends (zero if none); invalid are pools whose
// overrides were refused.
func (c *Cluster) Remediations(now time.Time) (relaunch []Remediation, paused, invalid []string, next time.Duration) {
	for _, p := range c.Pools {
		hc, err := p.HealthCheckConfig()
		if err != nil {
			invalid = append(invalid, err.Error())
		}
		var due []Remediation
		size, unhealthy := 0, 0
		for i := range c.Status.Machines {
			m := &c.Status.Machines[i]
			if m.Pool != p.Name {
				continue
			}
			size++
			if m.Remediation != "" || m.Unhealthy != nil {
				unhealthy++ // failing now, or being relaunched: all count against the cap
			}
			if m.Unhealthy == nil {
				continue
			}
			timeout := map[string]time.Duration{UnhealthyNotReady: hc.NodeReady, UnhealthyNetworkUnavailable: hc.NetworkReady,
				UnhealthyNeverReady: hc.NodeStartup}[m.Unhealthy.Reason]
			if left := timeout - now.Sub(m.Unhealthy.Since); left > 0 {
				if next == 0 || left < next {
					next = left
				}
				continue
			}
			due = append(due, Remediation{m, fmt.Sprintf("machine %s relaunched: %s for %s (%s, limit %s)", m.Name,
				m.Unhealthy.Message, now.Sub(m.Unhealthy.Since).Round(time.Second), m.Unhealthy.Reason, timeout)})
		}
		if len(due) == 0 {
			continue
		}
		allowed := max(1, int(math.Floor(float64(size)*float64(hc.MaxUnhealthyPercent)/100)))
		if unhealthy > allowed {
			paused = append(paused, fmt.Sprintf("%d of %d machines of pool %s are unhealthy, more than its cap of %d%% (%d at once); waiting",
				unhealthy, size, p.Name, hc.MaxUnhealthyPercent, allowed))
			continue
		}
		relaunch = append(relaunch, due...)
	}
	return relaunch, paused, invalid, next
}

// Relaunch marks a machine for deletion without a drain (its node is broken); the pool's size
// brings a new machine in its place.
func (c *Cluster) Relaunch(r Remediation, now time.Time) {
	r.Machine.DeletingSince, r.Machine.Remediation = now, r.Reason
	c.RecordUpgrade([]string{r.Reason}, now)
}
