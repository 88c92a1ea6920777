package pki

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Kubeconfig renders a kubeconfig (YAML, as client-go's clientcmd reads it)
// with one cluster, user and context, and everything embedded as *-data so
// the file can be copied anywhere. The names are unique per cluster and user
// so that kubeconfigs of several clusters can be merged: the cluster is
// clusterName, the user <clusterName>-<user>, the context <user>@<clusterName>.
// The output is a pure function of its arguments.
func Kubeconfig(server, clusterName, user string, caPEM, certPEM, keyPEM []byte) []byte {
	userName := clusterName + "-" + user
	contextName := user + "@" + clusterName
	var b strings.Builder
	line := func(indent, key, value string) {
		b.WriteString(indent + key + ": " + value + "\n")
	}
	line("", "apiVersion", "v1")
	line("", "kind", "Config")
	b.WriteString("clusters:\n")
	line("- ", "name", quote(clusterName))
	b.WriteString("  cluster:\n")
	line("    ", "server", quote(server))
	line("    ", "certificate-authority-data", b64(caPEM))
	b.WriteString("users:\n")
	line("- ", "name", quote(userName))
	b.WriteString("  user:\n")
	line("    ", "client-certificate-data", b64(certPEM))
	line("    ", "client-key-data", b64(keyPEM))
	b.WriteString("contexts:\n")
	line("- ", "name", quote(contextName))
	b.WriteString("  context:\n")
	line("    ", "cluster", quote(clusterName))
	line("    ", "user", quote(userName))
	line("", "current-context", quote(contextName))
	b.WriteString("preferences: {}\n")
	return []byte(b.String())
}

// quote renders s as a YAML double-quoted scalar; JSON's string escapes are a
// subset of YAML's, so any name is safe.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

func b64(data []byte) string {
	return base64.StdEncoding.EncodeToString(data)
}
