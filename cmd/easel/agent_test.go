package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent takes several hub URLs and pins, repeated or comma-separated, from its flags or the
// environment; each is checked, and a bad one is named.
func TestAgentChecksEveryHubURLAndPin(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// A cluster nothing listens at: the agent stops at its hub settings before calling it.
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: kube-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pin := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		env     map[string]string
		before  []string // flags before the agent command
		args    []string
		wantErr string
	}{
		{name: "a bad URL among repeated flags", args: []string{"--hub", "https://hub-1:8443", "--hub", "https://hub-2:8443,hub-3:8443"},
			wantErr: `Error: hub URL "hub-3:8443" must be an absolute http:// or https:// URL`},
		{name: "a bad URL in the environment's list", env: map[string]string{"EASEL_HUB_URL": "https://hub-1:8443,ftp://hub-2"},
			wantErr: `Error: hub URL "ftp://hub-2" must be an absolute http:// or https:// URL`},
		{name: "flags before the agent command", before: []string{"--hub", "https://hub-1:8443,https://hub-1:8443/"},
			wantErr: `Error: hub URL "https://hub-1:8443/" is listed twice`},
		{name: "a bad pin among repeated flags", args: []string{"--hub", "https://hub-1:8443", "--hub-fingerprint", pin, "--hub-fingerprint", "sha256:0011"},
			wantErr: `Error: fingerprint "sha256:0011" must be sha256: and 64 hex digits`},
		{name: "a bad pin in the environment's set", args: []string{"--hub", "https://hub-1:8443"},
			env: map[string]string{"EASEL_HUB_FINGERPRINT": pin + ",sha1:00"}, wantErr: `Error: fingerprint "sha1:00" must be sha256: and 64 hex digits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"EASEL_HUB_URL", "EASEL_HUB_FINGERPRINT"} {
				t.Setenv(k, tt.env[k])
			}
			args := append(append(tt.before, "agent", "--cluster", "c0ffee00c0ffee00c0ffee00", "--token", "agent-token", "--kubeconfig", kubeconfig), tt.args...)
			r := easel(t, "", args...)
			if r.err == nil || !strings.HasPrefix(r.stderr, tt.wantErr) {
				t.Errorf("easel %s: err = %v, stderr = %q; want it to start with %q", strings.Join(args, " "), r.err, r.stderr, tt.wantErr)
			}
		})
	}
}
