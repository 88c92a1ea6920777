package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/easelhq/easel/api/v1"
)

// servicesReport lists the cluster's application services — every Service of type LoadBalancer or
// NodePort — each with a link: the load balancer's address and port, or a node's address and the
// node port.
func servicesReport(ctx context.Context, c kubernetes.Interface) ([]v1.LoadBalancerService, error) {
	svcs, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	nodeIP := ""
	out := []v1.LoadBalancerService{}
	for _, svc := range svcs.Items {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		s := v1.LoadBalancerService{Name: svc.Name, Namespace: svc.Namespace, Type: string(svc.Spec.Type), Ports: []v1.ServicePort{}}
		for _, p := range svc.Spec.Ports {
			s.Ports = append(s.Ports, v1.ServicePort{Port: p.Port, Protocol: string(p.Protocol)})
		}
		if len(svc.Spec.Ports) == 0 {
			out = append(out, s)
			continue
		}
		port := svc.Spec.Ports[0]
		switch {
		case svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) > 0:
			ing := svc.Status.LoadBalancer.Ingress[0]
			s.Host = strings.TrimSpace(ing.IP + ing.Hostname)
			s.Link = fmt.Sprintf("%s://%s:%d", scheme(port), s.Host, port.Port)
		case port.NodePort != 0:
			if nodeIP == "" {
				if nodeIP, err = anyNodeIP(ctx, c); err != nil {
					return nil, err
				}
			}
			if nodeIP != "" {
				s.Host = nodeIP
				s.Link = fmt.Sprintf("%s://%s:%d", scheme(port), nodeIP, port.NodePort)
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b v1.LoadBalancerService) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

func scheme(p corev1.ServicePort) string {
	if p.Port == 443 || p.Name == "https" {
		return "https"
	}
	return "http"
}

// anyNodeIP is the internal address of a Ready node, where node ports answer.
func anyNodeIP(ctx context.Context, c kubernetes.Interface) (string, error) {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	for _, n := range nodes.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				return a.Address, nil
			}
		}
	}
	return "", nil
}

// reportLoop rebuilds the services and nodes reports every interval and sends them (services only
// when changed).
func (a *Agent) reportLoop(ctx context.Context) {
	sent := map[string]string{}
	send := func(path string, build func() (any, error)) {
		report, err := build()
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("Building a report failed", "report", path, "err", err)
			}
			return
		}
		// The services report is sent only when it changed.
		b, _ := json.Marshal(report)
		if sent[path] == string(b) {
			return
		}
		if err := a.call(ctx, "PUT", path, report, nil); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("Sending a report failed; retrying", "report", path, "err", err)
			}
			return
		}
		sent[path] = string(b)
	}
	a.every(ctx, a.cfg.ReportInterval, func() {
		send("/status/services", func() (any, error) { return servicesReport(ctx, a.kube) })
		// Leases renew every few seconds: the node report changes on each build, so it is sent
		// every interval.
		if err := a.sendNodes(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("Sending the node report failed; retrying", "err", err)
		}
	})
}
