// Package secret makes the bearer secrets easel hands out (API keys, login and agent tokens) and
// the hashes it keeps of them instead.
package secret

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// New returns a random 256-bit secret; prefix says what it is.
func New(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is what is stored of a secret: it is random and long, so SHA-256 suffices.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// IssueAgentToken makes a new token for a cluster's agent and revokes the cluster's earlier ones:
// the token works only on that cluster's agent endpoints.
func IssueAgentToken(ctx context.Context, st store.Store, tenantUID, clusterUID string) (string, error) {
	var token string
	err := st.Tx(ctx, func(q store.Queries) error {
		var err error
		token, err = IssueAgentTokenIn(ctx, q, tenantUID, clusterUID)
		return err
	})
	return token, err
}

// IssueAgentTokenIn is IssueAgentToken inside the caller's transaction (which records, with it,
// why the token was issued).
func IssueAgentTokenIn(ctx context.Context, q store.Queries, tenantUID, clusterUID string) (string, error) {
	token := New("easel-agent-")
	if err := RevokeAgentTokens(ctx, q, tenantUID, clusterUID); err != nil {
		return "", fmt.Errorf("revoking the agent tokens of cluster %s: %w", clusterUID, err)
	}
	err := q.CreateCredential(ctx, &store.Credential{UID: uid.New(), Kind: store.CredentialAgent, TenantUID: tenantUID,
		UserUID: clusterUID, Name: "agent", Hash: Hash(token), Active: true})
	if err != nil {
		return "", fmt.Errorf("issuing the agent token of cluster %s: %w", clusterUID, err)
	}
	return token, nil
}

// RevokeAgentTokens removes every token of a cluster's agent (when the cluster is deleted).
func RevokeAgentTokens(ctx context.Context, q store.Queries, tenantUID, clusterUID string) error {
	return q.DeleteCredentialsOf(ctx, tenantUID, store.CredentialAgent, clusterUID)
}
