package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
)

// ReadFile reads a YAML or JSON file ("-" is stdin) and returns it as JSON.
func ReadFile(path string, stdin io.Reader) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	// JSON is YAML, so one conversion reads both; its errors name the YAML line.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if string(js) == "null" {
		return nil, fmt.Errorf("reading %s: the file is empty", path)
	}
	return js, nil
}

// ReadProfile reads a v1.ClusterProfileEntity from a YAML or JSON file.
func ReadProfile(path string, stdin io.Reader) (v1.ClusterProfileEntity, error) {
	var e v1.ClusterProfileEntity
	js, err := ReadFile(path, stdin)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(js, &e); err != nil {
		return e, fmt.Errorf("reading %s as a cluster profile: %w", path, err)
	}
	if e.Metadata.Name == "" {
		return e, fmt.Errorf("%s: metadata.name is required", path)
	}
	return e, nil
}

// ProfileRef names a profile in a cluster file: by uid, or by name and version.
type ProfileRef struct {
	UID     string `json:"uid,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// ClusterFile is what `easel cluster create -f` reads: a v1.SpectroClusterEntity, plus two
// conveniences the wire entity lacks and the CLI resolves before sending it: a top-level
// cloudType, and profiles named by name and version instead of uid.
type ClusterFile struct {
	CloudType string
	Entity    v1.SpectroClusterEntity
	// Profiles are the profile references as written, parallel to Entity.Spec.Profiles.
	Profiles []ProfileRef
}

// ReadCluster reads a cluster file; the cloud type defaults to local.
func ReadCluster(path string, stdin io.Reader) (ClusterFile, error) {
	var f ClusterFile
	js, err := ReadFile(path, stdin)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(js, &f.Entity); err != nil {
		return f, fmt.Errorf("reading %s as a cluster: %w", path, err)
	}
	var extra struct {
		CloudType string `json:"cloudType"`
		Spec      struct {
			Profiles []ProfileRef `json:"profiles"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &extra); err != nil {
		return f, fmt.Errorf("reading %s as a cluster: %w", path, err)
	}
	f.CloudType, f.Profiles = extra.CloudType, extra.Spec.Profiles
	if f.CloudType == "" {
		f.CloudType = v1.CloudTypeLocal
	}
	if f.Entity.Metadata.Name == "" {
		return f, fmt.Errorf("%s: metadata.name is required", path)
	}
	for i, p := range f.Profiles {
		if p.UID == "" && p.Name == "" {
			return f, fmt.Errorf("%s: spec.profiles[%d] needs a uid, or a name and version", path, i)
		}
	}
	return f, nil
}
