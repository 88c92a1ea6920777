package client

import (
	"context"
	"net/http"
	"net/url"

	v1 "github.com/easelhq/easel/api/v1"
)

// ClusterWorkloads returns one page of a cluster's workloads of a kind (v1.WorkloadPod, …) as its
// agent last reported them; continueToken is the listmeta.continue of the previous page ("" for
// the first).
func (c *Client) ClusterWorkloads(ctx context.Context, uid, kind string, spec v1.ClusterWorkloadsSpec, continueToken string) (*v1.ClusterWorkloads, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	q := url.Values{}
	if continueToken != "" {
		q.Set("continue", continueToken)
	}
	var out v1.ClusterWorkloads
	if err := c.do(ctx, http.MethodPost, uidPath("/v1/dashboard/spectroclusters", uid)+"/workloads/"+url.PathEscape(kind), q, spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllClusterWorkloads returns every workload of a kind, following listmeta.continue across pages.
func (c *Client) AllClusterWorkloads(ctx context.Context, uid, kind string, spec v1.ClusterWorkloadsSpec) (*v1.ClusterWorkloads, error) {
	all, err := c.ClusterWorkloads(ctx, uid, kind, spec, "")
	if err != nil {
		return nil, err
	}
	for range maxPages {
		token := all.ListMeta.Continue
		if token == "" {
			break
		}
		page, err := c.ClusterWorkloads(ctx, uid, kind, spec, token)
		if err != nil {
			return nil, err
		}
		all.Pods = append(all.Pods, page.Pods...)
		all.Deployments = append(all.Deployments, page.Deployments...)
		all.DaemonSets = append(all.DaemonSets, page.DaemonSets...)
		all.StatefulSets = append(all.StatefulSets, page.StatefulSets...)
		all.Jobs = append(all.Jobs, page.Jobs...)
		all.CronJobs = append(all.CronJobs, page.CronJobs...)
		all.Namespaces = append(all.Namespaces, page.Namespaces...)
		if page.ListMeta.Continue == token {
			break
		}
		all.ListMeta.Continue = page.ListMeta.Continue
	}
	all.ListMeta.Continue, all.ListMeta.Offset = "", 0
	return all, nil
}
