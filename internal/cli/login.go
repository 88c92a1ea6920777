package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/client"
	"github.com/easelhq/easel/internal/hubtrust"
)

// DefaultProject is the project a login picks when none is named and the hub has one by this name
// (the hub's first start creates it).
const DefaultProject = "default"

// LoginOptions is what `easel login` was given.
type LoginOptions struct {
	Hub    string
	APIKey string
	// Token is a saved session token, verified again when neither an API key nor an email is given.
	Token string
	// Email and Password log in with a user's password instead of an API key.
	Email, Password string
	// Project is a project name or uid; empty picks DefaultProject if it exists.
	Project string
	// Trust is how the hub's certificate is verified; it is saved with the rest.
	Trust hubtrust.Options
}

// LoginResult is who the credentials belong to and the config to save.
type LoginResult struct {
	User   v1.UserInfo
	Config Config
}

// Login verifies the credentials against the hub and resolves the project; it saves nothing.
func Login(ctx context.Context, o LoginOptions) (LoginResult, error) {
	var res LoginResult
	if o.Hub == "" {
		return res, fmt.Errorf("--hub is required (or %s), e.g. --hub http://127.0.0.1:8080", EnvHub)
	}
	if o.Trust.Fingerprint != "" {
		pin, err := hubtrust.ParseFingerprint(o.Trust.Fingerprint)
		if err != nil {
			return res, fmt.Errorf("--hub-fingerprint: %w", err)
		}
		o.Trust.Fingerprint = pin
	}
	if o.Trust.CAFile != "" {
		// Saved for later commands run from any directory.
		abs, err := filepath.Abs(o.Trust.CAFile)
		if err != nil {
			return res, fmt.Errorf("--ca-file: %w", err)
		}
		o.Trust.CAFile = abs
	}
	tlsConfig, err := o.Trust.TLSConfig()
	if err != nil {
		return res, err
	}
	withTLS := client.WithTLSConfig(tlsConfig)
	c, err := client.New(o.Hub, o.APIKey, withTLS)
	if err != nil {
		return res, err
	}
	res.Config = Config{Hub: c.HubURL(), APIKey: o.APIKey, CAFile: o.Trust.CAFile, HubFingerprint: o.Trust.Fingerprint}
	switch {
	case o.Email != "":
		if o.Password == "" {
			return res, fmt.Errorf("the password is empty; pipe it in with --password-stdin")
		}
		token, err := c.Authenticate(ctx, o.Email, o.Password)
		if err != nil {
			return res, fmt.Errorf("logging in to %s as %s: %w", c.HubURL(), o.Email, err)
		}
		res.Config.APIKey, res.Config.Token = "", token
		if c, err = client.New(o.Hub, "", client.WithToken(token), withTLS); err != nil {
			return res, err
		}
	case o.APIKey == "" && o.Token != "":
		res.Config.Token = o.Token
		if c, err = client.New(o.Hub, "", client.WithToken(o.Token), withTLS); err != nil {
			return res, err
		}
	case o.APIKey == "":
		return res, fmt.Errorf("no credentials: give --api-key KEY (or %s), or --email with --password-stdin", EnvAPIKey)
	}
	info, err := c.UserInfo(ctx)
	if err != nil {
		return res, fmt.Errorf("logging in to %s: %w", c.HubURL(), err)
	}
	res.User = *info
	project := o.Project
	if project == "" {
		project = DefaultProject
	}
	p, err := ResolveProject(ctx, c, project)
	switch {
	case err == nil:
		res.Config.Project, res.Config.ProjectName = p.UID, p.Name
	case o.Project == "" && client.IsNotFound(err):
		// No default project: commands act in the tenant scope until --project names one.
	default:
		return res, err
	}
	return res, nil
}

// ResolveProject finds a project the caller sees by uid or by name.
func ResolveProject(ctx context.Context, c *client.Client, ref string) (v1.ObjectEntity, error) {
	list, err := c.ProjectsMetadata(ctx)
	if err != nil {
		return v1.ObjectEntity{}, fmt.Errorf("listing projects: %w", err)
	}
	var names []string
	for _, p := range list.Items {
		if p.Metadata.UID == ref {
			return p.Metadata, nil
		}
	}
	for _, p := range list.Items {
		if p.Metadata.Name == ref {
			return p.Metadata, nil
		}
		names = append(names, p.Metadata.Name)
	}
	slices.Sort(names)
	known := "you see no projects"
	if len(names) > 0 {
		known = "projects: " + strings.Join(names, ", ")
	}
	return v1.ObjectEntity{}, notFound("project %q not found (%s)", ref, known)
}
