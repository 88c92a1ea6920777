package client

import (
	"context"
	"io"
	"net/url"

	v1 "github.com/easelhq/easel/api/v1"
)

// RequestLogs asks for a log bundle of a cluster and returns the request's uid.
func (c *Client) RequestLogs(ctx context.Context, clusterUID string, req v1.LogFetcherRequest) (string, error) {
	var out v1.UID
	if err := c.do(ctx, "POST", uidPath("/v1/spectroclusters", clusterUID, "features", "logFetcher"), nil, req, &out); err != nil {
		return "", err
	}
	return out.UID, nil
}

// LogStatus returns a log request of a cluster, with the state of its bundle.
func (c *Client) LogStatus(ctx context.Context, clusterUID, requestUID string) (*v1.LogFetcher, error) {
	var out v1.LogFetcher
	q := url.Values{"requestId": {requestUID}}
	if err := c.do(ctx, "GET", uidPath("/v1/spectroclusters", clusterUID, "features", "logFetcher"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DownloadLogs writes a ready bundle to w as it arrives and returns its size.
func (c *Client) DownloadLogs(ctx context.Context, requestUID string, w io.Writer) (int64, error) {
	return c.stream(ctx, uidPath("/v1/spectroclusters/features/logFetcher", requestUID, "download"), nil, w)
}

// RequestDoctor asks a cluster's agent to run the doctor's checks on the nodes named (every node
// when none are).
func (c *Client) RequestDoctor(ctx context.Context, clusterUID string, nodes []string) (*v1.Doctor, error) {
	var out v1.Doctor
	if err := c.do(ctx, "POST", uidPath("/v1/spectroclusters", clusterUID, "features", "doctor"), nil, v1.DoctorRequest{Nodes: nodes}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Doctor returns a doctor run of a cluster, with its findings once Completed.
func (c *Client) Doctor(ctx context.Context, clusterUID, requestUID string) (*v1.Doctor, error) {
	var out v1.Doctor
	q := url.Values{"requestId": {requestUID}}
	if err := c.do(ctx, "GET", uidPath("/v1/spectroclusters", clusterUID, "features", "doctor"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
