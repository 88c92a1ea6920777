// Package cli is what the easel command-line client does beyond wiring flags: its config file and
// settings, reading profile and cluster files, resolving names to uids, and printing tables.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/easelhq/easel/internal/client"
	"github.com/easelhq/easel/internal/hubtrust"
)

// Config is what `easel login` saves: where the hub is, the credentials, and the project.
type Config struct {
	Hub    string `json:"hub"`
	APIKey string `json:"apiKey,omitempty"`
	// Token is a session token from an email and password login; it expires, an API key does not.
	Token string `json:"token,omitempty"`
	// Project is the uid of the project commands act in; ProjectName is kept to show it.
	Project     string `json:"project,omitempty"`
	ProjectName string `json:"projectName,omitempty"`
	// CAFile and HubFingerprint are how the hub's TLS certificate is trusted (hubtrust.Options):
	// a CA bundle's path, or the pin of a self-signed certificate.
	CAFile         string `json:"caFile,omitempty"`
	HubFingerprint string `json:"hubFingerprint,omitempty"`
}

// Environment variables the CLI reads; each overrides the config file, and flags override them.
const (
	EnvConfig  = "EASEL_CONFIG"
	EnvHub     = "EASEL_HUB"
	EnvAPIKey  = "EASEL_API_KEY"
	EnvProject = "EASEL_PROJECT"
	// EnvCAFile and EnvHubFingerprint say how to trust the hub's certificate (the agent reads
	// them too: an import manifest sets EASEL_HUB_FINGERPRINT).
	EnvCAFile         = "EASEL_CA_FILE"
	EnvHubFingerprint = "EASEL_HUB_FINGERPRINT"
)

// ConfigPath is the config file: the --config flag, else $EASEL_CONFIG, else
// $XDG_CONFIG_HOME/easel/config.yaml, else ~/.config/easel/config.yaml (on every OS, so that the
// documented path holds on macOS too).
func ConfigPath(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := getenv(EnvConfig); p != "" {
		return p, nil
	}
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "easel", "config.yaml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the config file: %w; set %s", err, EnvConfig)
	}
	return filepath.Join(home, ".config", "easel", "config.yaml"), nil
}

// LoadConfig reads the config file; a missing file is an empty config (not logged in yet).
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the config file: %w", err)
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("reading the config file %s: %w", path, err)
	}
	return c, nil
}

// SaveConfig writes the config file readable by its owner only, since it holds credentials. It
// writes a temporary file and renames it, so a failed write never leaves half a config behind and
// an existing file with looser permissions is replaced rather than kept.
func SaveConfig(path string, c Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding the config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the config directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("writing the config file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the config file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the config file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the config file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the config file: %w", err)
	}
	return nil
}

// Flags are the global flags of the CLI.
type Flags struct {
	Hub, APIKey, Project, Config, Output string
	CAFile, HubFingerprint               string
}

// Settings are the effective hub, credentials and project of one command.
type Settings struct {
	ConfigPath string
	File       Config // the config file as read
	Hub        string
	APIKey     string
	Token      string
	// Project is a project uid or name as given by a flag or the environment, or the file's uid.
	Project string
	// projectIsUID is set when Project came from the file, which stores the resolved uid.
	projectIsUID bool
	// Trust is how the hub's certificate is verified.
	Trust hubtrust.Options
}

// LoadSettings merges the config file, the environment and the flags (flags win, then the
// environment, then the file).
func LoadSettings(f Flags, getenv func(string) string) (Settings, error) {
	path, err := ConfigPath(f.Config, getenv)
	if err != nil {
		return Settings{}, err
	}
	file, err := LoadConfig(path)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{ConfigPath: path, File: file, Hub: file.Hub, APIKey: file.APIKey, Token: file.Token,
		Project: file.Project, projectIsUID: file.Project != ""}
	if v := first(f.Hub, getenv(EnvHub)); v != "" {
		s.Hub = v
	}
	if v := first(f.APIKey, getenv(EnvAPIKey)); v != "" {
		// An explicit API key replaces the file's credentials, a session token included.
		s.APIKey, s.Token = v, ""
	}
	if v := first(f.Project, getenv(EnvProject)); v != "" {
		s.Project, s.projectIsUID = v, false
	}
	// The file's trust belongs to the file's hub: another hub named by a flag or the environment
	// is not held to its pin.
	if s.Hub == file.Hub {
		s.Trust = hubtrust.Options{CAFile: file.CAFile, Fingerprint: file.HubFingerprint}
	}
	ca, pin := first(f.CAFile, getenv(EnvCAFile)), first(f.HubFingerprint, getenv(EnvHubFingerprint))
	if ca != "" || pin != "" {
		s.Trust = hubtrust.Options{CAFile: ca, Fingerprint: pin}
	}
	return s, nil
}

// ExplicitProject is the project named by a flag or the environment ("" when only the file names one).
func (s Settings) ExplicitProject() string {
	if s.projectIsUID {
		return ""
	}
	return s.Project
}

// Client returns a client of the settings' hub, scoped to their project.
func (s Settings) Client(ctx context.Context) (*client.Client, error) {
	if s.Hub == "" {
		return nil, fmt.Errorf("no hub to talk to: run `easel login --hub URL --api-key KEY`, or set --hub or %s", EnvHub)
	}
	if s.APIKey == "" && s.Token == "" {
		return nil, fmt.Errorf("not logged in: run `easel login --hub %s --api-key KEY`, or set --api-key or %s", s.Hub, EnvAPIKey)
	}
	tlsConfig, err := s.Trust.TLSConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(s.Hub, s.APIKey, client.WithToken(s.Token), client.WithTLSConfig(tlsConfig))
	if err != nil {
		return nil, err
	}
	if s.Project == "" || s.projectIsUID {
		return c.InProject(s.Project), nil
	}
	p, err := ResolveProject(ctx, c, s.Project)
	if err != nil {
		return nil, err
	}
	return c.InProject(p.UID), nil
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
