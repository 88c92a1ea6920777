// Package logctx carries a logger in a context, so that the lines of the code a reconcile calls
// (a provider bringing up a control plane, say) carry the reconcile's own keys — the cluster's name
// and uid — and join its lines.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns a context that carries log.
func With(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, log)
}

// From returns the logger ctx carries, or fallback when it carries none.
func From(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if log, ok := ctx.Value(key{}).(*slog.Logger); ok {
		return log
	}
	return fallback
}
