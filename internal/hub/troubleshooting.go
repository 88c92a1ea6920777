package hub

import (
	"errors"
	"io"
	"net/http"
	"strings"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Troubleshooting: Palette's log fetcher and easel's doctor (design 005).

// errNoTroubleshooting answers the troubleshooting operations of a hub built without the service.
var errNoTroubleshooting = service.NotImplemented("log bundles and the doctor, in a hub built without their service,")

func (s *Server) withTroubleshooting(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if s.troubleshooting == nil {
			return errNoTroubleshooting
		}
		return h(w, r, c)
	}
}

func (s *Server) agentWithTroubleshooting(h agentHandler) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, p service.Caller, rec store.Record) error {
		if s.troubleshooting == nil {
			return errNoTroubleshooting
		}
		return h(w, r, p, rec)
	}
}

// requestLogs asks for a log bundle (Palette's POST …/features/logFetcher): 201 {"uid"}.
func (s *Server) requestLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := s.troubleshooting.RequestLogs(r.Context(), &c.Call, r.PathValue("uid"), body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1.UID{UID: id})
	return nil
}

// logStatus answers Palette's GET …/features/logFetcher?requestId=.
func (s *Server) logStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.troubleshooting.LogStatus(r.Context(), &c.Call, r.PathValue("uid"), r.URL.Query().Get("requestId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// downloadLogs serves a ready bundle, or sends the download on to the hub replica that holds it
// (transport.Forwarder).
func (s *Server) downloadLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := s.troubleshooting.Download(r.Context(), &c.Call, r.PathValue("uid"))
	return s.forwarder.LogBundle(w, r, b, err)
}

// requestDoctor starts a doctor run (easel's POST /v1/spectroclusters/{uid}/features/doctor): 201 with the
// run.
func (s *Server) requestDoctor(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.troubleshooting.RequestDoctor(r.Context(), &c.Call, r.PathValue("uid"), body(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// doctor answers GET /v1/spectroclusters/{uid}/features/doctor?requestId= (the newest run without one).
func (s *Server) doctor(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.troubleshooting.Doctor(r.Context(), &c.Call, r.PathValue("uid"), r.URL.Query().Get("requestId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// agentRequestReport records the agent's progress on a request.
func (s *Server) agentRequestReport(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v1.MaxAgentMessageBytes))
	if err != nil {
		return err
	}
	return noContent(w, s.troubleshooting.AgentReport(r.Context(), rec, r.PathValue("requestUid"), body))
}

// uploadLogs receives the agent's part of a bundle (Palette's POST
// /v1/spectroclusters/features/logFetcher/{uid}/log?requestId=R, multipart with the zip in the
// part named fileName), streamed to the service. The path's uid is the cluster's: the agent's
// token is checked against it before the body is read.
func (s *Server) uploadLogs(w http.ResponseWriter, r *http.Request, _ service.Caller, rec store.Record) error {
	requestID := r.URL.Query().Get("requestId")
	if requestID == "" {
		return service.Invalid("requestId is missing: name the log request the upload is for")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return service.Invalid("the upload must be multipart/form-data with the bundle in the part named fileName: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return service.Invalid("the upload has no part named fileName")
		}
		if err != nil {
			return uploadError(err)
		}
		if part.FormName() != "fileName" {
			part.Close()
			continue
		}
		err = s.troubleshooting.Upload(r.Context(), rec, requestID, part)
		part.Close()
		if err != nil {
			return uploadError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// uploadError keeps a body cut by the upload route's limit a 413, and a malformed one a 400.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || service.KindOf(err) != 0 {
		return err
	}
	if strings.Contains(err.Error(), "multipart") {
		return service.Invalid("reading the upload: %v", err)
	}
	return err
}

// uploadBodyLimit is the body limit of the log upload route: the largest bundle and room for the
// multipart framing around it.
const uploadBodyLimit = v1.MaxLogBundleBytes + 1<<20

// bodyLimit is the most of a request's body the hub reads: every route's limit, but the log
// upload's.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/spectroclusters/features/logFetcher/") &&
		strings.HasSuffix(r.URL.Path, "/log") {
		return uploadBodyLimit
	}
	return MaxBodyBytes
}
