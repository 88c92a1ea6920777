package troubleshooting

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
	"github.com/easelhq/easel/internal/uid"
)

// Limits on what an agent reports of a doctor run (within v1.MaxAgentMessageBytes).
const (
	maxFindingText  = 4096
	maxFindingCheck = 64
)

func decodeDoctor(rec store.Record) (v1.Doctor, error) {
	var d v1.Doctor
	if err := json.Unmarshal(rec.Doc, &d); err != nil {
		return d, fmt.Errorf("decoding doctor run %s: %w", rec.UID, err)
	}
	d.Metadata = service.Meta(rec)
	d.Status.State = rec.State
	if d.Status.Findings == nil {
		d.Status.Findings = []v1.Finding{}
	}
	return d, nil
}

func encodeDoctor(d v1.Doctor) []byte {
	d.Metadata = v1.ObjectMeta{}
	b, _ := json.Marshal(d)
	return b
}

// RequestDoctor asks the cluster's agent to run the doctor's checks on the nodes named (every node
// when none are; v1.DoctorRequest) and returns the run, Requested. The checks run in the agent,
// from the cluster's API server: when the agent is not connected the run fails at once, saying so.
func (s *Service) RequestDoctor(ctx context.Context, c *service.Call, clusterUID string, input service.Input) (v1.Doctor, error) {
	crec, _, err := s.authorized(ctx, c, clusterUID, service.PermWriteClusters)
	if err != nil {
		return v1.Doctor{}, err
	}
	var in v1.DoctorRequest
	if err := input(&in); err != nil {
		return v1.Doctor{}, err
	}
	if len(in.Nodes) > v1.MaxDoctorNodes {
		return v1.Doctor{}, service.Invalid("nodes names %d nodes; at most %d (MaxDoctorNodes), or none for every node", len(in.Nodes), v1.MaxDoctorNodes)
	}
	for _, n := range in.Nodes {
		if n == "" || len(n) > v1.MaxNodeNameLength {
			return v1.Doctor{}, service.Invalid("nodes: %q is not a node name (1 to %d characters)", n, v1.MaxNodeNameLength)
		}
	}
	slices.Sort(in.Nodes)
	in.Nodes = slices.Compact(in.Nodes)
	d := v1.Doctor{Spec: v1.DoctorSpec{ClusterUID: crec.UID, Nodes: in.Nodes}}
	ar := v1.AgentRequest{UID: uid.New(), Kind: v1.AgentRequestDoctor, Doctor: &v1.AgentDoctorRequest{Nodes: in.Nodes}}
	rec, cl, err := s.open(ctx, c, crec.UID, ar, encodeDoctor(d), "doctor run")
	if err != nil {
		return v1.Doctor{}, err
	}
	if ok, why := s.agentConnected(cl); !ok {
		d.Status.Message = "the doctor's checks run in the cluster's agent, and " + why
		if err := s.close(ctx, rec, v1.LogStateFailed, encodeDoctor(d), v1.SeverityWarning, "DoctorFailed", "Doctor run "+rec.UID+" failed: "+d.Status.Message); err != nil {
			return v1.Doctor{}, err
		}
	}
	return s.Doctor(ctx, c, clusterUID, rec.UID)
}

// Doctor is a doctor run of the cluster, with its findings once Completed; without a request uid,
// the cluster's newest.
func (s *Service) Doctor(ctx context.Context, c *service.Call, clusterUID, requestUID string) (v1.Doctor, error) {
	crec, _, err := s.authorized(ctx, c, clusterUID, service.PermRead)
	if err != nil {
		return v1.Doctor{}, err
	}
	rec, err := s.request(ctx, crec, KindDoctor, requestUID)
	if err != nil {
		return v1.Doctor{}, err
	}
	return decodeDoctor(rec)
}

// doctorProgress records the agent's progress on a doctor run, and its findings once Completed.
func (s *Service) doctorProgress(ctx context.Context, crec, rec store.Record, in v1.AgentRequestReport) error {
	d, err := decodeDoctor(rec)
	if err != nil {
		return err
	}
	d.Status.Message = in.Message
	switch in.State {
	case v1.LogStateCollecting:
		return s.progress(ctx, rec, in.State, func(store.Record) ([]byte, error) { return encodeDoctor(d), nil })
	case v1.LogStateFailed:
		return s.close(ctx, rec, in.State, encodeDoctor(d), v1.SeverityWarning, "DoctorFailed", "Doctor run "+rec.UID+" failed: "+in.Message)
	case v1.LogStateCompleted:
		if err := checkFindings(in.Findings); err != nil {
			return err
		}
		d.Status.Findings, d.Status.CompletedAt = in.Findings, s.clock.Now()
		problems, warnings := 0, 0
		for _, f := range in.Findings {
			switch f.Status {
			case v1.FindingProblem:
				problems++
			case v1.FindingWarning:
				warnings++
			}
		}
		severity := v1.SeverityInfo
		if problems > 0 {
			severity = v1.SeverityWarning
		}
		msg := fmt.Sprintf("Doctor run %s found %d problems and %d warnings in %d checks", rec.UID, problems, warnings, len(in.Findings))
		if err := s.close(ctx, rec, in.State, encodeDoctor(d), severity, "DoctorCompleted", msg); err != nil {
			return err
		}
		return s.retain(ctx, crec, KindDoctor)
	}
	return service.Invalid("state %q of a doctor run must be %s, %s or %s", in.State, v1.LogStateCollecting, v1.LogStateCompleted, v1.LogStateFailed)
}

// checkFindings refuses findings a person could not read: unknown statuses, empty or oversized
// fields.
func checkFindings(fs []v1.Finding) error {
	for i, f := range fs {
		switch {
		case f.Status != v1.FindingOK && f.Status != v1.FindingWarning && f.Status != v1.FindingProblem:
			return service.Invalid("findings[%d]: status %q must be ok, warning or problem", i, f.Status)
		case f.Node == "" || len(f.Node) > v1.MaxNodeNameLength:
			return service.Invalid("findings[%d]: node must be 1 to %d characters", i, v1.MaxNodeNameLength)
		case f.Check == "" || len(f.Check) > maxFindingCheck:
			return service.Invalid("findings[%d]: check must be 1 to %d characters", i, maxFindingCheck)
		case len(f.Evidence) > maxFindingText || len(f.Cause) > maxFindingText || len(f.Fix) > maxFindingText:
			return service.Invalid("findings[%d]: evidence, cause and fix are at most %d characters each", i, maxFindingText)
		}
	}
	return nil
}

// AgentReport records the agent's progress on one of its cluster's requests
// (v1.AgentRequestReport, PUT …/agent/requests/{requestUid}).
func (s *Service) AgentReport(ctx context.Context, crec store.Record, requestUID string, body []byte) error {
	var in v1.AgentRequestReport
	if err := service.DecodeJSON(body, &in); err != nil {
		return err
	}
	if len(in.Message) > maxFindingText {
		return service.Invalid("message is at most %d characters", maxFindingText)
	}
	if rec, err := s.request(ctx, crec, KindLogFetcher, requestUID); err == nil {
		return s.logProgress(ctx, rec, in)
	}
	rec, err := s.request(ctx, crec, KindDoctor, requestUID)
	if err != nil {
		return service.NotFound("request", requestUID)
	}
	return s.doctorProgress(ctx, crec, rec, in)
}
