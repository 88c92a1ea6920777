package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/easelhq/easel/api/v1"
)

// Event object kinds, as GET /v1/events/components/{objectKind}/{objectUid} names them.
const (
	KindCluster = "spectrocluster"
	KindProfile = "clusterprofile"
)

// CreateCluster creates a cluster of cloudType (e.g. v1.CloudTypeLocal) in the client's project
// and returns its uid.
func (c *Client) CreateCluster(ctx context.Context, cloudType string, e v1.SpectroClusterEntity) (string, error) {
	if cloudType == "" {
		cloudType = v1.CloudTypeLocal
	}
	return c.create(ctx, uidPath("/v1/spectroclusters/cloudTypes", cloudType), e)
}

// GetCluster returns one cluster with its profiles and status.
func (c *Client) GetCluster(ctx context.Context, uid string) (*v1.SpectroCluster, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	var out v1.SpectroCluster
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/spectroclusters", uid), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCluster deletes a cluster.
func (c *Client) DeleteCluster(ctx context.Context, uid string) error {
	if uid == "" {
		return errEmptyUID
	}
	return c.do(ctx, http.MethodDelete, uidPath("/v1/spectroclusters", uid), nil, nil, nil)
}

// ClusterSummary returns the dashboard summary of a cluster: its pools, profiles and conditions.
func (c *Client) ClusterSummary(ctx context.Context, uid string) (*v1.SpectroClusterUIDSummary, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	var out v1.SpectroClusterUIDSummary
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/dashboard/spectroclusters", uid), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchClusters returns one page of the clusters matching spec; continueToken is the
// listmeta.continue of the previous page ("" for the first).
func (c *Client) SearchClusters(ctx context.Context, spec v1.SearchFilterSummarySpec, continueToken string) (*v1.SpectroClustersSummary, error) {
	q := url.Values{}
	if continueToken != "" {
		q.Set("continue", continueToken)
	}
	var out v1.SpectroClustersSummary
	if err := c.do(ctx, http.MethodPost, "/v1/dashboard/spectroclusters/search", q, spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// maxPages stops following continue tokens of a hub that keeps issuing them.
const maxPages = 10000

// allPages gathers the items of every page fetch returns, following listmeta.continue from the
// first page ("").
func allPages[T any](fetch func(token string) ([]T, v1.ListMeta, error)) ([]T, error) {
	items := []T{}
	token := ""
	for range maxPages {
		page, meta, err := fetch(token)
		if err != nil {
			return nil, err
		}
		items = append(items, page...)
		if meta.Continue == "" || meta.Continue == token {
			return items, nil
		}
		token = meta.Continue
	}
	return items, nil
}

// AllClusters returns every cluster matching spec, following listmeta.continue across pages.
func (c *Client) AllClusters(ctx context.Context, spec v1.SearchFilterSummarySpec) ([]v1.SpectroClusterSummary, error) {
	return allPages(func(token string) ([]v1.SpectroClusterSummary, v1.ListMeta, error) {
		page, err := c.SearchClusters(ctx, spec, token)
		if err != nil {
			return nil, v1.ListMeta{}, err
		}
		return page.Items, page.Listmeta, nil
	})
}

// Events returns a page of an object's events, newest first. kind is KindCluster or KindProfile;
// limit 0 takes the hub's default.
func (c *Client) Events(ctx context.Context, kind, uid string, limit, offset int) (*v1.Events, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var out v1.Events
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/events/components", kind, uid), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Kubeconfig downloads the cluster-admin kubeconfig of a cluster whose control plane is up.
func (c *Client) Kubeconfig(ctx context.Context, uid string) ([]byte, error) {
	var data []byte
	if err := c.do(ctx, "GET", uidPath("/v1/spectroclusters", uid, "assets", "kubeconfig"), nil, nil, &data); err != nil {
		return nil, err
	}
	return data, nil
}

// RepaveStatus returns the repave a cluster's changes call for, with its reasons.
func (c *Client) RepaveStatus(ctx context.Context, uid string) (*v1.SpectroClusterRepave, error) {
	var out v1.SpectroClusterRepave
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/spectroclusters", uid, "repave", "status"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ApproveRepave lets a repave that waits for approval start.
func (c *Client) ApproveRepave(ctx context.Context, uid string) error {
	return c.do(ctx, http.MethodPatch, uidPath("/v1/spectroclusters", uid, "repave", "approve"), nil, nil, nil)
}

// ClusterProfiles returns the profiles attached to a cluster, with the cluster's values.
func (c *Client) ClusterProfiles(ctx context.Context, uid string) (*v1.SpectroClusterProfileList, error) {
	var out v1.SpectroClusterProfileList
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/spectroclusters", uid, "profiles"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PatchClusterProfiles attaches, replaces (replaceWithProfile) or changes the values of the
// profiles it names; the agent applies the change in place.
func (c *Client) PatchClusterProfiles(ctx context.Context, uid string, in v1.SpectroClusterProfiles) error {
	return c.do(ctx, http.MethodPatch, uidPath("/v1/spectroclusters", uid, "profiles"), nil, in, nil)
}

// DetachClusterProfiles detaches add-on profiles; the agent deletes what their packs applied.
func (c *Client) DetachClusterProfiles(ctx context.Context, uid string, profileUIDs []string) error {
	return c.do(ctx, http.MethodDelete, uidPath("/v1/spectroclusters", uid, "profiles"), nil,
		v1.SpectroClusterProfilesDeleteEntity{ProfileUids: profileUIDs}, nil)
}

// RenewCertificates asks for the renewal of a cluster's control-plane certificates; the engine
// carries it out as a repave of the control-plane machines.
func (c *Client) RenewCertificates(ctx context.Context, uid string) error {
	return c.do(ctx, http.MethodPatch, uidPath("/v1/spectroclusters", uid, "k8certificates", "renew"), nil, nil, nil)
}
