package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/doctor"
	"github.com/easelhq/easel/internal/logbundle"
)

// uploadTimeout bounds one upload of a log bundle (at most v1.MaxLogBundleBytes).
const uploadTimeout = 10 * time.Minute

// requests carries out the troubleshooting requests of the desired state (design 005): each new
// request in its own goroutine, once; a request the hub no longer lists is forgotten (it was
// finished, or timed out on the hub).
type requests struct {
	a       *Agent
	mu      sync.Mutex
	started map[string]bool
}

func newRequests(a *Agent) *requests { return &requests{a: a, started: map[string]bool{}} }

// set starts the requests not started yet.
func (r *requests) set(ctx context.Context, want []v1.AgentRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := map[string]bool{}
	for _, req := range want {
		listed[req.UID] = true
		if r.started[req.UID] {
			continue
		}
		r.started[req.UID] = true
		go r.a.carryOut(ctx, req)
	}
	for id := range r.started {
		if !listed[id] {
			delete(r.started, id)
		}
	}
}

// carryOut runs one request to its end, reporting each step to the hub.
func (a *Agent) carryOut(ctx context.Context, req v1.AgentRequest) {
	log := a.log.With("request", req.UID, "kind", req.Kind)
	switch {
	case req.Kind == v1.AgentRequestLogs && req.Logs != nil:
		log.Info("Collecting a log bundle")
		a.collectLogs(ctx, req.UID, *req.Logs)
	case req.Kind == v1.AgentRequestDoctor && req.Doctor != nil:
		log.Info("Running the doctor's checks", "nodes", len(req.Doctor.Nodes))
		a.runDoctor(ctx, req.UID, *req.Doctor)
	default:
		log.Warn("Ignoring a request this agent does not know")
		a.reportRequest(ctx, req.UID, v1.AgentRequestReport{State: v1.LogStateFailed,
			Message: fmt.Sprintf("agent %s does not know requests of kind %q", Version, req.Kind)})
	}
}

// reportRequest sends the request's progress, retrying until the hub has it; a refusal (the
// request was finished meanwhile) ends the retries.
func (a *Agent) reportRequest(ctx context.Context, uid string, rep v1.AgentRequestReport) bool {
	for b := newBackoff(a.clock); ctx.Err() == nil; b.sleep(ctx) {
		status, err := a.do(ctx, "PUT", "/agent/requests/"+url.PathEscape(uid), rep, nil)
		switch {
		case err == nil:
			return true
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			a.log.Warn("The hub refused a request's progress; stopping it", "request", uid, "state", rep.State, "err", err)
			return false
		}
		a.log.Warn("Reporting a request's progress failed; retrying", "request", uid, "state", rep.State, "err", err)
	}
	return false
}

// collectLogs collects the cluster's part of a log bundle into a temporary file and uploads it.
func (a *Agent) collectLogs(ctx context.Context, uid string, req v1.LogFetcherRequest) {
	if !a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateCollecting, Message: "collecting the cluster's logs and manifests"}) {
		return
	}
	f, err := os.CreateTemp("", "easel-logs-*.zip")
	if err != nil {
		a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateFailed, Message: "creating a temporary file: " + err.Error()})
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	started := a.clock.Now()
	sum, err := logbundle.Collect(ctx, a.kube, req, logbundle.Options{AgentNamespace: a.cfg.Namespace, Logger: a.log}, f)
	if err != nil {
		if ctx.Err() == nil {
			a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateFailed, Message: "collecting: " + err.Error()})
		}
		return
	}
	size, _ := f.Seek(0, io.SeekEnd)
	msg := fmt.Sprintf("uploading %d bytes: %d items, %d not collected (errors.txt says why), in %s", size, sum.Items, sum.Failed, a.clock.Since(started).Round(time.Millisecond))
	if !a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateUploading, Message: msg}) {
		return
	}
	for b := newBackoff(a.clock); ctx.Err() == nil; b.sleep(ctx) {
		status, err := a.upload(ctx, uid, f)
		switch {
		case err == nil:
			a.log.Info("Uploaded a log bundle", "request", uid, "bytes", size)
			return
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			// The hub refuses it for good (too large, or the request is over): it makes the bundle
			// of its own part, with this reason.
			a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateFailed, Message: "the hub refused the upload: " + err.Error()})
			return
		}
		a.log.Warn("Uploading a log bundle failed; retrying", "request", uid, "err", err, "in", b.peek())
	}
}

// upload streams the zip in f to the hub as Palette's agent does (multipart, the file in the part
// named fileName), never holding it whole in memory. A hub that is not serving is left for the
// next (hubs.go), which the caller's retry uploads to: the stream cannot be replayed at once.
func (a *Agent) upload(ctx context.Context, uid string, f *os.File) (int, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("fileName", v1.LogBundleFileName)
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	hub, base := a.hubs.current()
	target := base + "/v1/spectroclusters/features/logFetcher/" + url.PathEscape(a.cfg.ClusterUID) +
		"/log?requestId=" + url.QueryEscape(uid)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, pr)
	if err != nil {
		pr.Close()
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := *a.http
	client.Timeout = 0 // the context bounds it: a large bundle takes longer than a report
	resp, err := client.Do(req)
	if err != nil {
		pr.Close()
		if ctx.Err() == nil {
			a.hubs.leave(hub, unserving(0, err))
		}
		return 0, err
	}
	defer resp.Body.Close()
	if why := unserving(resp.StatusCode, nil); why != "" {
		a.hubs.leave(hub, why)
	}
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, fmt.Errorf("POST the log bundle: %d %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return resp.StatusCode, nil
}

// runDoctor runs the doctor's checks and reports the findings, as many as fit in one message.
func (a *Agent) runDoctor(ctx context.Context, uid string, req v1.AgentDoctorRequest) {
	if !a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateCollecting, Message: "running the checks"}) {
		return
	}
	started := a.clock.Now()
	findings, err := doctor.Run(ctx, a.kube, req, a.clock.Now())
	if err != nil {
		if ctx.Err() == nil {
			a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateFailed, Message: err.Error()})
		}
		return
	}
	findings, dropped := fitFindings(findings, v1.MaxAgentMessageBytes/2)
	msg := fmt.Sprintf("%d checks in %s", len(findings), a.clock.Since(started).Round(time.Millisecond))
	if dropped > 0 {
		msg += fmt.Sprintf("; %d findings left out (ok ones first) to keep the report under %d bytes", dropped, v1.MaxAgentMessageBytes/2)
	}
	a.reportRequest(ctx, uid, v1.AgentRequestReport{State: v1.LogStateCompleted, Message: msg, Findings: findings})
}

// fitFindings keeps the findings under limit bytes of JSON: the ok ones go first, then the
// warnings; problems are kept as long as they fit. It returns how many it left out.
func fitFindings(fs []v1.Finding, limit int) ([]v1.Finding, int) {
	size := func(fs []v1.Finding) int { b, _ := json.Marshal(fs); return len(b) }
	total := len(fs)
	for _, drop := range []string{v1.FindingOK, v1.FindingWarning} {
		if size(fs) <= limit {
			return fs, total - len(fs)
		}
		kept := fs[:0:0]
		for _, f := range fs {
			if f.Status != drop {
				kept = append(kept, f)
			}
		}
		fs = kept
	}
	for size(fs) > limit && len(fs) > 0 {
		fs = fs[:len(fs)*3/4]
	}
	return fs, total - len(fs)
}
