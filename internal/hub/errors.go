package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/transport"
)

// apiError is an error with the HTTP status and Palette error code it is answered with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

// toAPIError maps any error to what the client is told; unknown errors are internal and logged.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var tooLarge *http.MaxBytesError
	switch kind := service.KindOf(err); {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &tooLarge):
		return &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("request body is over the limit of %d bytes (%s)", tooLarge.Limit, bodyLimitName(tooLarge.Limit))}, true
	case kind == service.KindNotFound && !errors.As(err, new(*service.Error)):
		return &apiError{http.StatusNotFound, "ResourceNotFound", "not found"}, true // a store miss names nothing
	case kind != 0:
		status, code, _ := transport.Status(kind)
		return &apiError{status, code, err.Error()}, true
	}
	return &apiError{http.StatusInternalServerError, "InternalError", "internal error; the hub's log has the details"}, false
}

// bodyLimitName names the limit a request body crossed: the agent reports' (agentPage) or every
// route's.
func bodyLimitName(limit int64) string {
	if limit == v1.MaxAgentMessageBytes {
		return "MaxAgentMessageBytes; send the report in pages"
	}
	return "MaxRequestBodyBytes"
}

// noContent answers 204 once the operation succeeded.
func noContent(w http.ResponseWriter, err error) error {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
	}
	return err
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
