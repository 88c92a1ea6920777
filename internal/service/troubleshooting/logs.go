package troubleshooting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// DefaultNodeLogs are the files of each node's /var/log a bundle takes unless the request names
// others.
var DefaultNodeLogs = []string{"syslog", "cloud-init-output.log"}

// DefaultLogDuration is how far back the agent namespace's logs go unless the request says.
const DefaultLogDuration = time.Hour

// logDoc is a log request's stored document: the API's answer and the bundle's file in the blob
// directory once it is ready, with the hub replica whose blob directory that is (Host, its data
// dir's host id, "" on the one hub of a SQLite store; Replica, its name for people).
type logDoc struct {
	v1.LogFetcher
	Blob    string `json:"blob,omitempty"`
	Host    string `json:"host,omitempty"`
	Replica string `json:"replica,omitempty"`
}

func decodeLogDoc(rec store.Record) (logDoc, error) {
	var d logDoc
	if err := json.Unmarshal(rec.Doc, &d); err != nil {
		return d, fmt.Errorf("decoding log request %s: %w", rec.UID, err)
	}
	d.Metadata = service.Meta(rec)
	d.Status.State = rec.State
	return d, nil
}

func (d logDoc) encode() []byte {
	d.Metadata = v1.ObjectMeta{}
	b, _ := json.Marshal(d)
	return b
}

// RequestLogs asks for a log bundle of the cluster (v1.LogFetcherRequest, Palette's
// POST …/features/logFetcher) and returns the request's uid. The cluster's agent is woken to
// collect it; when the agent is not connected the bundle is made at once of the hub's part alone.
func (s *Service) RequestLogs(ctx context.Context, c *service.Call, clusterUID string, input service.Input) (string, error) {
	crec, _, err := s.authorized(ctx, c, clusterUID, service.PermWriteClusters)
	if err != nil {
		return "", err
	}
	var in v1.LogFetcherRequest
	if err := input(&in); err != nil {
		return "", err
	}
	req, err := normalizeLogRequest(in)
	if err != nil {
		return "", err
	}
	doc := logDoc{LogFetcher: v1.LogFetcher{Spec: v1.LogFetcherSpec{ClusterUID: crec.UID, Request: &req}}}
	ar := v1.AgentRequest{UID: uid.New(), Kind: v1.AgentRequestLogs, Logs: &req}
	rec, cl, err := s.open(ctx, c, crec.UID, ar, doc.encode(), "log bundle")
	if err != nil {
		return "", err
	}
	if ok, why := s.agentConnected(cl); !ok {
		if err := s.finishBundle(ctx, rec, "", why+"; this bundle holds only what the hub knows"); err != nil {
			return "", err
		}
	}
	return rec.UID, nil
}

// LogStatus is a log request of the cluster (Palette's GET …/features/logFetcher?requestId=);
// without a request uid, the cluster's newest.
func (s *Service) LogStatus(ctx context.Context, c *service.Call, clusterUID, requestUID string) (v1.LogFetcher, error) {
	crec, _, err := s.authorized(ctx, c, clusterUID, service.PermRead)
	if err != nil {
		return v1.LogFetcher{}, err
	}
	rec, err := s.request(ctx, crec, KindLogFetcher, requestUID)
	if err != nil {
		return v1.LogFetcher{}, err
	}
	d, err := decodeLogDoc(rec)
	return d.LogFetcher, err
}

// LogRequests are the cluster's log requests the hub keeps (the newest v1.LogBundlesKept and
// those still open), newest first.
func (s *Service) LogRequests(ctx context.Context, c *service.Call, clusterUID string) ([]v1.LogFetcher, error) {
	crec, _, err := s.authorized(ctx, c, clusterUID, service.PermRead)
	if err != nil {
		return nil, err
	}
	recs, err := s.requests(ctx, crec, KindLogFetcher, v1.LogBundlesKept+v1.MaxOpenRequests)
	if err != nil {
		return nil, err
	}
	out := make([]v1.LogFetcher, 0, len(recs))
	for _, rec := range recs {
		d, err := decodeLogDoc(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d.LogFetcher)
	}
	return out, nil
}

// Bundle is a ready log bundle, open for reading; the caller closes File.
type Bundle struct {
	File    *os.File
	Size    int64
	ModTime time.Time
}

// Download opens a ready log bundle, by its request's uid (Palette's GET
// /v1/spectroclusters/features/logFetcher/{uid}/download). A bundle holds what the cluster's
// objects and logs say, so only those who may change the cluster get it, and each download is
// audited. A bundle another hub replica holds is a *HeldElsewhere, naming that replica, or a
// refusal (KindUnavailable) while it is not running; either only once the caller may have it.
func (s *Service) Download(ctx context.Context, c *service.Call, requestUID string) (*Bundle, error) {
	rec, err := s.records.Object(ctx, c, KindLogFetcher, requestUID)
	if err != nil {
		return nil, service.NotFound("log request", requestUID)
	}
	if err := c.Authorize(service.PermWriteClusters, rec.ProjectUID); err != nil {
		return nil, err
	}
	d, err := decodeLogDoc(rec)
	if err != nil {
		return nil, err
	}
	if rec.State != v1.LogStateCompleted {
		return nil, service.Conflict("log bundle %s is %s; download it once it is %s", rec.UID, rec.State, v1.LogStateCompleted)
	}
	if !s.holds(d) {
		return nil, s.heldElsewhere(ctx, rec.UID, d)
	}
	f, err := os.Open(filepath.Join(s.blobs, d.Blob))
	if errors.Is(err, os.ErrNotExist) {
		return nil, service.NotFound("log bundle file of request", rec.UID)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = s.store.Tx(ctx, func(q store.Queries) error {
			return s.records.Audit(ctx, q, c, rec.ProjectUID, "download", cluster.Kind, d.Spec.ClusterUID, "",
				fmt.Sprintf("Downloaded log bundle %s (%d bytes)", rec.UID, st.Size()))
		})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Bundle{File: f, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Upload receives the agent's part of a log bundle (Palette's agent-facing POST
// …/features/logFetcher/{uid}/log), streamed to the blob directory, never held in memory; over
// v1.MaxLogBundleBytes it is refused. The hub then adds its part and the bundle is Completed.
func (s *Service) Upload(ctx context.Context, crec store.Record, requestUID string, zip io.Reader) error {
	rec, err := s.request(ctx, crec, KindLogFetcher, requestUID)
	if err != nil {
		return err
	}
	if !isOpen(rec.State) {
		return service.Conflict("log request %s is %s already", rec.UID, rec.State)
	}
	f, err := os.CreateTemp(s.blobs, rec.UID+"-*"+uploadSuffix)
	if err != nil {
		return fmt.Errorf("storing the agent's upload: %w", err)
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, io.LimitReader(zip, v1.MaxLogBundleBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return fmt.Errorf("receiving the agent's upload of log request %s: %w", rec.UID, err)
	case n > v1.MaxLogBundleBytes:
		return service.TooLarge("the log bundle is over the limit of %d bytes (MaxLogBundleBytes)", v1.MaxLogBundleBytes)
	}
	return s.finishBundle(ctx, rec, f.Name(), "")
}

// uploadSuffix marks an agent's upload being received in the blob directory.
const uploadSuffix = ".upload"

// logProgress records the agent's progress on a log request. A failure is not the bundle's end:
// the hub makes it of its own part, with the agent's reason in errors.txt.
func (s *Service) logProgress(ctx context.Context, rec store.Record, in v1.AgentRequestReport) error {
	switch in.State {
	case v1.LogStateCollecting, v1.LogStateUploading:
		return s.progress(ctx, rec, in.State, func(rec store.Record) ([]byte, error) {
			d, err := decodeLogDoc(rec)
			d.Status.Message = in.Message
			return d.encode(), err
		})
	case v1.LogStateFailed:
		return s.finishBundle(ctx, rec, "", "the agent could not collect the cluster's part: "+in.Message)
	}
	return service.Invalid("state %q of a log request must be %s, %s or %s (it is Completed once its upload is in)",
		in.State, v1.LogStateCollecting, v1.LogStateUploading, v1.LogStateFailed)
}

// finishBundle makes the bundle of a log request from the agent's part (agentZip, "" for none) and
// the hub's own, with problem (why the agent's part is missing, if it is) in errors.txt, and
// completes the request. When the request was finished meanwhile its bundle stays and this one
// goes.
func (s *Service) finishBundle(ctx context.Context, rec store.Record, agentZip, problem string) error {
	d, err := decodeLogDoc(rec)
	if err != nil {
		return err
	}
	crec, err := s.store.GetObject(ctx, cluster.Kind, rec.Category)
	if err != nil {
		return fmt.Errorf("reading the cluster of log request %s: %w", rec.UID, err)
	}
	cl, err := cluster.Decode(crec.Doc)
	if err != nil {
		return err
	}
	var req v1.LogFetcherRequest
	if d.Spec.Request != nil {
		req = *d.Spec.Request
	}
	path, size, err := s.assemble(ctx, crec, cl, req, agentZip, problem)
	if err != nil {
		s.log.Error("Making a log bundle failed", "cluster", crec.Name, "request", rec.UID, "err", err)
		d.Status.Message = "the hub could not make the bundle: " + err.Error()
		return s.close(ctx, rec, v1.LogStateFailed, d.encode(), v1.SeverityWarning, "LogBundleFailed",
			fmt.Sprintf("Log bundle %s failed: %s", rec.UID, d.Status.Message))
	}
	now := s.clock.Now()
	d.Blob, d.Host, d.Replica = filepath.Base(path), s.hostID, s.replica
	d.Spec.Log = "logs-" + crec.UID + ".zip"
	d.Status = v1.LogFetcherStatus{State: v1.LogStateCompleted, Size: size, CompletedAt: now, Message: problem}
	msg := fmt.Sprintf("Log bundle %s is ready (%d bytes)", rec.UID, size)
	if problem != "" {
		msg += ": " + problem
	}
	if err := s.close(ctx, rec, v1.LogStateCompleted, d.encode(), v1.SeverityInfo, "LogBundleReady", msg); err != nil {
		os.Remove(path)
		return err
	}
	return s.retain(ctx, crec, KindLogFetcher)
}

// normalizeLogRequest checks a log request against the limits and fills in the defaults, so that
// the agent gets exactly what it must collect.
func normalizeLogRequest(in v1.LogFetcherRequest) (v1.LogFetcherRequest, error) {
	out := in
	switch in.Mode {
	case "":
		out.Mode = "cluster"
	case "cluster", "app":
	default:
		return out, service.Invalid("mode %q must be cluster or app", in.Mode)
	}
	maxSeconds := int64(v1.MaxLogDuration / time.Second)
	switch {
	case in.Duration < 0 || in.Duration > maxSeconds:
		return out, service.Invalid("duration %d must be between 1 and %d seconds (MaxLogDuration)", in.Duration, maxSeconds)
	case in.Duration == 0:
		out.Duration = int64(DefaultLogDuration / time.Second)
	}
	switch {
	case in.NoOfLines < 0 || in.NoOfLines > v1.MaxLogLines:
		return out, service.Invalid("noOfLines %d must be between 1 and %d (MaxLogLines)", in.NoOfLines, v1.MaxLogLines)
	case in.NoOfLines == 0:
		out.NoOfLines = v1.MaxLogLines
	}
	k8s := v1.LogFetcherK8s{Namespaces: []string{}, LabelSelector: []string{}}
	if in.K8s != nil {
		k8s = *in.K8s
	}
	for _, ns := range k8s.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return out, service.Invalid("k8s.namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
	}
	for _, sel := range k8s.LabelSelector {
		if len(sel) > 1024 {
			return out, service.Invalid("k8s.labelSelector: a selector is at most 1024 characters")
		}
		if _, err := labels.Parse(sel); err != nil || strings.TrimSpace(sel) == "" {
			return out, service.Invalid("k8s.labelSelector: %q is not a label selector such as app=web", sel)
		}
	}
	nodeLogs := DefaultNodeLogs
	if in.Node != nil && len(in.Node.Logs) > 0 {
		nodeLogs = in.Node.Logs
	}
	for _, f := range nodeLogs {
		if !nodeLogName.MatchString(f) || strings.Contains(f, "..") {
			return out, service.Invalid("node.logs: %q must be a file under /var/log named by a relative path (letters, digits, . _ - /)", f)
		}
	}
	for field, n := range map[string]int{"k8s.namespaces": len(k8s.Namespaces), "k8s.labelSelector": len(k8s.LabelSelector), "node.logs": len(nodeLogs)} {
		if n > v1.MaxLogRequestItems {
			return out, service.Invalid("%s names %d items; at most %d (MaxLogRequestItems)", field, n, v1.MaxLogRequestItems)
		}
	}
	out.K8s = &v1.LogFetcherK8s{Namespaces: k8s.Namespaces, LabelSelector: k8s.LabelSelector}
	out.Node = &v1.LogFetcherNodeLogs{Logs: nodeLogs}
	return out, nil
}

// nodeLogName is a file under a node's /var/log.
var nodeLogName = regexp.MustCompile(`^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,254}$`)
