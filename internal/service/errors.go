package service

import (
	"errors"
	"fmt"
	"time"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/store"
)

// Kind is what went wrong, for the transport to answer with (an HTTP status and Palette's code).
type Kind int

const (
	KindInvalid Kind = iota + 1
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindTooManyRequests
	KindNotImplemented
	KindTooLarge
	KindUnavailable
)

// Error is an operation's refusal, with a message for the caller.
type Error struct {
	Kind    Kind
	Message string
	// RetryAfter is when to try again (KindTooManyRequests).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Invalid refuses bad input: nothing was changed.
func Invalid(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf(format, args...)}
}

// NotFound says an object does not exist, or that the caller may not know it does.
func NotFound(kind, uid string) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf("%s %s not found", kind, uid)}
}

func Forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, args...)}
}

func Unauthorized(message string) error {
	return &Error{Kind: KindUnauthorized, Message: message}
}

func Conflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// TooManyRequests refuses a request that must wait, saying when to try again.
func TooManyRequests(wait time.Duration, format string, args ...any) error {
	wait = wait.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return &Error{Kind: KindTooManyRequests, RetryAfter: wait,
		Message: fmt.Sprintf(format, args...) + "; try again in " + wait.String()}
}

// TooLarge refuses a body over a size limit the message names.
func TooLarge(format string, args ...any) error {
	return &Error{Kind: KindTooLarge, Message: fmt.Sprintf(format, args...)}
}

// Unavailable says that what was asked for cannot be served now, and the message says when it
// can (a log bundle held by a hub replica that is not running).
func Unavailable(format string, args ...any) error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(format, args...)}
}

// NotImplemented says what easel does not do yet.
func NotImplemented(what string) error {
	return &Error{Kind: KindNotImplemented, Message: what + " is not implemented in easel yet"}
}

// KindOf is the kind of refusal err is, whether a service's own or a domain package's (invalid
// clusters and profiles, a lost optimistic-lock race, a missing record); 0 for an error that is no
// refusal but a failure (the transport logs it and answers an internal error).
func KindOf(err error) Kind {
	var refused *Error
	switch {
	case errors.As(err, &refused):
		return refused.Kind
	case errors.Is(err, clusters.ErrInvalid), errors.Is(err, profiles.ErrInvalid):
		return KindInvalid
	case errors.Is(err, store.ErrConflict):
		return KindConflict
	case errors.Is(err, store.ErrNotFound):
		return KindNotFound
	}
	return 0
}
