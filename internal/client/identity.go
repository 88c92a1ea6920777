package client

import (
	"context"
	"errors"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// Authenticate logs in with an email and password and returns a session token for WithToken.
func (c *Client) Authenticate(ctx context.Context, email, password string) (string, error) {
	var out v1.UserToken
	if err := c.do(ctx, http.MethodPost, "/v1/auth/authenticate", nil, v1.AuthLogin{EmailID: email, Password: password}, &out); err != nil {
		return "", err
	}
	if out.Authorization == "" {
		return "", errors.New("the hub accepted the login but sent no token")
	}
	return out.Authorization, nil
}

// UserInfo returns who the client's credentials belong to; it is how credentials are verified.
func (c *Client) UserInfo(ctx context.Context) (*v1.UserInfo, error) {
	var out v1.UserInfo
	if err := c.do(ctx, http.MethodGet, "/v1/users/info", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProjectsMetadata lists the projects the caller may see.
func (c *Client) ProjectsMetadata(ctx context.Context) (*v1.ProjectsMetadata, error) {
	var out v1.ProjectsMetadata
	if err := c.do(ctx, http.MethodGet, "/v1/dashboard/projects/metadata", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
