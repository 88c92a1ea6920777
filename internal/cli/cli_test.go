package cli_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/cli"
	"github.com/easelhq/easel/internal/hubtrust"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigPath(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{name: "flag wins", flag: "/f.yaml", env: map[string]string{"EASEL_CONFIG": "/e.yaml", "XDG_CONFIG_HOME": "/x"}, want: "/f.yaml"},
		{name: "EASEL_CONFIG", env: map[string]string{"EASEL_CONFIG": "/e.yaml", "XDG_CONFIG_HOME": "/x"}, want: "/e.yaml"},
		{name: "XDG_CONFIG_HOME", env: map[string]string{"XDG_CONFIG_HOME": "/x"}, want: "/x/easel/config.yaml"},
		{name: "home", want: filepath.Join(home, ".config", "easel", "config.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cli.ConfigPath(tt.flag, env(tt.env))
			if err != nil || got != tt.want {
				t.Errorf("ConfigPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSaveConfigIsPrivateAndReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// A config left readable by others is replaced by one that is not.
	if err := os.WriteFile(path, []byte("hub: http://old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := cli.Config{Hub: "http://h:1", APIKey: "k", Project: "p", ProjectName: "default"}
	if err := cli.SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := cli.LoadConfig(path)
	if err != nil || got != want {
		t.Errorf("LoadConfig = %+v, %v; want %+v", got, err, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the config directory holds %d files, want only the config", len(entries))
	}
	if got, err := cli.LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err != nil || got != (cli.Config{}) {
		t.Errorf("a missing config file = %+v, %v; want empty, no error", got, err)
	}
}

func TestLoadSettingsPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	file := cli.Config{Hub: "http://file", Token: "file-token", Project: "file-project-uid", ProjectName: "default"}
	if err := cli.SaveConfig(path, file); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		flags               cli.Flags
		env                 map[string]string
		wantHub, wantKey    string
		wantToken           string
		wantProject         string
		wantExplicitProject string
	}{
		{name: "file", wantHub: "http://file", wantToken: "file-token", wantProject: "file-project-uid"},
		{
			name:    "environment over file",
			env:     map[string]string{"EASEL_HUB": "http://env", "EASEL_API_KEY": "env-key", "EASEL_PROJECT": "env-project"},
			wantHub: "http://env", wantKey: "env-key", wantProject: "env-project", wantExplicitProject: "env-project",
		},
		{
			name:    "flags over environment",
			flags:   cli.Flags{Hub: "http://flag", APIKey: "flag-key", Project: "flag-project"},
			env:     map[string]string{"EASEL_HUB": "http://env", "EASEL_API_KEY": "env-key", "EASEL_PROJECT": "env-project"},
			wantHub: "http://flag", wantKey: "flag-key", wantProject: "flag-project", wantExplicitProject: "flag-project",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.flags.Config = path
			s, err := cli.LoadSettings(tt.flags, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if s.Hub != tt.wantHub || s.APIKey != tt.wantKey || s.Token != tt.wantToken || s.Project != tt.wantProject ||
				s.ExplicitProject() != tt.wantExplicitProject {
				t.Errorf("settings = %+v (explicit project %q)", s, s.ExplicitProject())
			}
		})
	}
}

// The saved pin or CA file belong to the saved hub: another hub named by a flag or the
// environment is not held to them, and a pin or CA file given for a command replaces both.
func TestLoadSettingsTrust(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := cli.SaveConfig(path, cli.Config{Hub: "https://file", APIKey: "k", HubFingerprint: "sha256:saved", CAFile: "/saved/ca.crt"}); err != nil {
		t.Fatal(err)
	}
	saved := hubtrust.Options{CAFile: "/saved/ca.crt", Fingerprint: "sha256:saved"}
	tests := []struct {
		name  string
		flags cli.Flags
		env   map[string]string
		want  hubtrust.Options
	}{
		{name: "the saved hub", want: saved},
		{name: "the saved hub named again", flags: cli.Flags{Hub: "https://file"}, want: saved},
		{name: "another hub", flags: cli.Flags{Hub: "https://other"}, want: hubtrust.Options{}},
		{name: "another hub from the environment", env: map[string]string{"EASEL_HUB": "https://other"}, want: hubtrust.Options{}},
		{name: "a pin from the environment", env: map[string]string{"EASEL_HUB_FINGERPRINT": "sha256:env"},
			want: hubtrust.Options{Fingerprint: "sha256:env"}},
		{name: "a CA file flag and a pin from the environment: both hold", flags: cli.Flags{CAFile: "/flag/ca.crt"},
			env: map[string]string{"EASEL_HUB_FINGERPRINT": "sha256:env"}, want: hubtrust.Options{CAFile: "/flag/ca.crt", Fingerprint: "sha256:env"}},
		{name: "a pin flag over the environment's", flags: cli.Flags{HubFingerprint: "sha256:flag"},
			env: map[string]string{"EASEL_HUB_FINGERPRINT": "sha256:env"}, want: hubtrust.Options{Fingerprint: "sha256:flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.flags.Config = path
			s, err := cli.LoadSettings(tt.flags, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if s.Trust != tt.want {
				t.Errorf("trust = %+v, want %+v", s.Trust, tt.want)
			}
		})
	}
}

func TestReadCluster(t *testing.T) {
	tests := []struct {
		name          string
		file          string
		wantCloud     string
		wantRefs      []cli.ProfileRef
		wantPoolNames []string
		wantErr       string
	}{
		{
			name: "YAML with profiles by name",
			file: `
metadata: {name: demo}
spec:
  profiles: [{name: base, version: 1.0.0}, {uid: abc}]
  machinepoolconfig:
    - poolConfig: {name: cp, size: 1, isControlPlane: true}
`,
			wantCloud:     "local",
			wantRefs:      []cli.ProfileRef{{Name: "base", Version: "1.0.0"}, {UID: "abc"}},
			wantPoolNames: []string{"cp"},
		},
		{
			name:          "JSON with a cloud type",
			file:          `{"cloudType":"edge","metadata":{"name":"x"},"spec":{"profiles":[{"uid":"u"}],"machinepoolconfig":[{"poolConfig":{"name":"a"}},{"poolConfig":{"name":"b"}}]}}`,
			wantCloud:     "edge",
			wantRefs:      []cli.ProfileRef{{UID: "u"}},
			wantPoolNames: []string{"a", "b"},
		},
		{name: "no name", file: "spec: {}\n", wantErr: "-: metadata.name is required"},
		{name: "profile without uid or name", file: "metadata: {name: x}\nspec: {profiles: [{version: 1.0.0}]}\n", wantErr: "-: spec.profiles[0] needs a uid, or a name and version"},
		{name: "empty", file: "", wantErr: "reading -: the file is empty"},
		{name: "bad YAML", file: "metadata:\n  name: [x\n", wantErr: "reading -: yaml: line 2: did not find expected ',' or ']'"},
		{name: "wrong type", file: "metadata: {name: x}\nspec: {machinepoolconfig: {}}\n", wantErr: "reading - as a cluster: json: cannot unmarshal object into Go struct field .spec.machinepoolconfig of type []v1.MachinePoolConfigEntity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := cli.ReadCluster("-", strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.CloudType != tt.wantCloud || len(f.Profiles) != len(tt.wantRefs) || len(f.Entity.Spec.Profiles) != len(tt.wantRefs) {
				t.Fatalf("ReadCluster = %+v", f)
			}
			for i, r := range tt.wantRefs {
				if f.Profiles[i] != r || f.Entity.Spec.Profiles[i].UID != r.UID {
					t.Errorf("profile %d = %+v (wire uid %q), want %+v", i, f.Profiles[i], f.Entity.Spec.Profiles[i].UID, r)
				}
			}
			var names []string
			for _, p := range f.Entity.Spec.Machinepoolconfig {
				names = append(names, p.PoolConfig.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantPoolNames, ",") {
				t.Errorf("pools = %v, want %v", names, tt.wantPoolNames)
			}
		})
	}
}

func TestReadExamples(t *testing.T) {
	for _, name := range []string{"profile.yaml", "addon-profile.yaml"} {
		e, err := cli.ReadProfile(filepath.Join("..", "..", "examples", name), nil)
		if err != nil || e.Spec.Version != "1.0.0" || len(e.Spec.Template.Packs) == 0 {
			t.Errorf("%s: %+v, %v", name, e, err)
		}
	}
	f, err := cli.ReadCluster(filepath.Join("..", "..", "examples", "cluster.yaml"), nil)
	if err != nil || f.CloudType != v1.CloudTypeLocal || len(f.Entity.Spec.Machinepoolconfig) != 2 ||
		f.Profiles[0] != (cli.ProfileRef{Name: "local-cluster", Version: "1.0.0"}) {
		t.Errorf("cluster.yaml: %+v, %v", f, err)
	}
}

func FuzzReadCluster(f *testing.F) {
	for _, seed := range []string{
		"metadata: {name: demo}\nspec: {profiles: [{name: a}]}\n",
		`{"metadata":{"name":"x"},"spec":{"machinepoolconfig":[{"poolConfig":{"size":3}}]}}`,
		"", "null", "- a\n- b\n", "metadata: &a [*a]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file string) {
		c, err := cli.ReadCluster("-", strings.NewReader(file))
		if err == nil && (c.Entity.Metadata.Name == "" || c.CloudType == "" || len(c.Profiles) != len(c.Entity.Spec.Profiles)) {
			t.Errorf("accepted %q as %+v", file, c)
		}
	})
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {119 * time.Second, "119s"}, {2 * time.Minute, "2m"},
		{119 * time.Minute, "119m"}, {2 * time.Hour, "2h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"},
		{3 * 365 * 24 * time.Hour, "3y"},
	}
	for _, tt := range tests {
		if got := cli.Age(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("Age(%v ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := cli.Age(time.Time{}, now); got != "-" {
		t.Errorf("Age(zero) = %q, want -", got)
	}
}

func TestPrint(t *testing.T) {
	obj := v1.UID{UID: "u1"}
	tests := []struct {
		format, want string
	}{
		{"json", "{\n  \"uid\": \"u1\"\n}\n"},
		{"yaml", "uid: u1\n"},
		{"table", "NAME   UID\nx      u1\n-      -\n"},
		{"", "NAME   UID\nx      u1\n-      -\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := cli.Print(&out, tt.format, obj, func(w io.Writer) error {
			tb := cli.NewTable(w, "NAME", "UID")
			tb.Row("x", obj.UID)
			tb.Row("", "")
			return tb.Flush()
		})
		if err != nil || out.String() != tt.want {
			t.Errorf("Print(%q) = %q, %v; want %q", tt.format, out.String(), err, tt.want)
		}
	}
	if err := cli.Print(&bytes.Buffer{}, "xml", obj, nil); err == nil || err.Error() != `output format "xml" must be table, json or yaml` {
		t.Errorf("Print(xml) err = %v", err)
	}
}
