package client

import (
	"context"
	"errors"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// CreateProfile creates a draft profile and returns its uid.
func (c *Client) CreateProfile(ctx context.Context, e v1.ClusterProfileEntity) (string, error) {
	return c.create(ctx, "/v1/clusterprofiles", e)
}

// UpdateProfile replaces the content of a draft profile; published profiles refuse (409).
func (c *Client) UpdateProfile(ctx context.Context, uid string, e v1.ClusterProfileEntity) error {
	if uid == "" {
		return errEmptyUID
	}
	return c.do(ctx, http.MethodPut, uidPath("/v1/clusterprofiles", uid), nil, e, nil)
}

// PublishProfile makes a profile immutable and usable by clusters; publishing twice is harmless.
func (c *Client) PublishProfile(ctx context.Context, uid string) error {
	if uid == "" {
		return errEmptyUID
	}
	return c.do(ctx, http.MethodPatch, uidPath("/v1/clusterprofiles", uid, "publish"), nil, nil, nil)
}

// GetProfile returns one profile.
func (c *Client) GetProfile(ctx context.Context, uid string) (*v1.ClusterProfile, error) {
	if uid == "" {
		return nil, errEmptyUID
	}
	var out v1.ClusterProfile
	if err := c.do(ctx, http.MethodGet, uidPath("/v1/clusterprofiles", uid), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProfiles lists the name, version and cloud type of the profiles in scope: the client's
// project and the tenant scope (or every visible project without one).
func (c *Client) ListProfiles(ctx context.Context) (*v1.ClusterProfilesMetadata, error) {
	var out v1.ClusterProfilesMetadata
	if err := c.do(ctx, http.MethodGet, "/v1/dashboard/clusterprofiles/metadata", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProfile deletes a profile no cluster uses.
func (c *Client) DeleteProfile(ctx context.Context, uid string) error {
	if uid == "" {
		return errEmptyUID
	}
	return c.do(ctx, http.MethodDelete, uidPath("/v1/clusterprofiles", uid), nil, nil, nil)
}

// create posts an entity and returns the uid of what was created.
func (c *Client) create(ctx context.Context, path string, in any) (string, error) {
	var out v1.UID
	if err := c.do(ctx, http.MethodPost, path, nil, in, &out); err != nil {
		return "", err
	}
	if out.UID == "" {
		return "", errors.New("POST " + path + ": the hub answered without a uid")
	}
	return out.UID, nil
}
