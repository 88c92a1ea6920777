package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/profiles"
	"github.com/easelhq/easel/internal/store"
)

// apiError is an error with the HTTP status and Palette error code it is answered with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errBadRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "InvalidArgument", fmt.Sprintf(format, args...)}
}

func errNotFound(kind, uid string) error {
	return &apiError{http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("%s %s not found", kind, uid)}
}

func errForbidden(format string, args ...any) error {
	return &apiError{http.StatusForbidden, "Forbidden", fmt.Sprintf(format, args...)}
}

func errUnauthorized(message string) error {
	return &apiError{http.StatusUnauthorized, "Unauthorized", message}
}

func errConflict(format string, args ...any) error {
	return &apiError{http.StatusConflict, "Conflict", fmt.Sprintf(format, args...)}
}

// errTooManyRequests refuses a request that must wait, saying when to try again (in the message
// and the Retry-After header).
func errTooManyRequests(wait time.Duration, format string, args ...any) error {
	wait = wait.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return &retryLater{&apiError{http.StatusTooManyRequests, "TooManyRequests",
		fmt.Sprintf(format, args...) + "; try again in " + wait.String()}, wait}
}

// retryLater is an error answered with a Retry-After header.
type retryLater struct {
	*apiError
	after time.Duration
}

func (e *retryLater) Unwrap() error { return e.apiError }

func errNotImplemented(what string) error {
	return &apiError{http.StatusNotImplemented, "NotImplemented", what + " is not implemented in easel yet"}
}

// toAPIError maps any error to what the client is told; unknown errors are internal and logged.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &tooLarge):
		return &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("request body is over the limit of %d bytes (%s)", tooLarge.Limit, bodyLimitName(tooLarge.Limit))}, true
	case errors.Is(err, profiles.ErrInvalid), errors.Is(err, clusters.ErrInvalid):
		return &apiError{http.StatusBadRequest, "InvalidArgument", err.Error()}, true
	case errors.Is(err, store.ErrConflict):
		return &apiError{http.StatusConflict, "Conflict", err.Error()}, true
	case errors.Is(err, store.ErrNotFound):
		return &apiError{http.StatusNotFound, "ResourceNotFound", "not found"}, true
	}
	return &apiError{http.StatusInternalServerError, "InternalError", "internal error; the hub's log has the details"}, false
}

// bodyLimitName names the limit a request body crossed: the agent reports' (limitBody) or every
// route's.
func bodyLimitName(limit int64) string {
	if limit == v1.MaxAgentMessageBytes {
		return "MaxAgentMessageBytes; send the report in pages"
	}
	return "MaxRequestBodyBytes"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, ae *apiError, ref string) {
	writeJSON(w, ae.status, v1.Error{Code: ae.code, Message: ae.message, Ref: ref})
}
