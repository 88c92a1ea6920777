package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is an answer of the hub other than 2xx, with the Palette error body it carried.
type APIError struct {
	Status  int    // HTTP status code
	Code    string // Palette error code, e.g. ResourceNotFound
	Message string // what the hub says went wrong, meant for people
	Ref     string // the hub logs internal errors under this reference
}

// Error is the hub's message; internal errors add the reference the hub's log has it under.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("the hub answered %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Status >= 500 && e.Ref != "" {
		msg += " (ref " + e.Ref + ")"
	}
	return msg
}

// Sentinels that an *APIError matches with errors.Is by its status, so callers branch without
// unwrapping: errors.Is(err, client.ErrNotFound).
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
)

var statusSentinels = map[int]error{
	http.StatusBadRequest:   ErrBadRequest,
	http.StatusUnauthorized: ErrUnauthorized,
	http.StatusForbidden:    ErrForbidden,
	http.StatusNotFound:     ErrNotFound,
	http.StatusConflict:     ErrConflict,
}

// Is reports whether target is the sentinel of e's status.
func (e *APIError) Is(target error) bool {
	s, ok := statusSentinels[e.Status]
	return ok && s == target
}

// IsNotFound reports whether err is a 404 from the hub.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409 from the hub.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsUnauthorized reports whether err is a 401 from the hub: missing, wrong or expired credentials.
func IsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }

// IsForbidden reports whether err is a 403 from the hub.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// IsBadRequest reports whether err is a 400 from the hub: the request failed validation.
func IsBadRequest(err error) bool { return errors.Is(err, ErrBadRequest) }

// newAPIError reads a Palette error body; anything else (a proxy's HTML page, an empty body) still
// yields an error that says what came back.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Ref     string `json:"ref"`
	}
	if json.Unmarshal(body, &wire) == nil && (wire.Code != "" || wire.Message != "") {
		e.Code, e.Message, e.Ref = wire.Code, wire.Message, wire.Ref
		return e
	}
	e.Code = strings.ReplaceAll(http.StatusText(status), " ", "")
	if text := strings.TrimSpace(string(body)); text != "" {
		const max = 200
		if len(text) > max {
			text = text[:max] + "…"
		}
		e.Message = fmt.Sprintf("the hub answered %d %s: %s", status, http.StatusText(status), text)
	}
	return e
}
