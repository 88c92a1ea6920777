package troubleshooting_test

import (
	"slices"
	"testing"
	"time"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
)

// A cluster's log requests are listed newest first with their states, to anyone who may see the
// cluster, and only its own; the list ends where the retention does.
func TestLogRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		var completed []string
		for range v1.LogBundlesKept + 1 {
			completed = append(completed, f.requestLogs("c2", `{}`)) // completed at once: no agent
			f.clock.Step(time.Second)
		}
		open := f.requestLogs("c1", `{"noOfLines":50}`)

		got, err := f.svc.LogRequests(f.ctx, call(v1.RoleViewer), "c2")
		if err != nil {
			t.Fatal(err)
		}
		var uids []string
		for _, lf := range got {
			uids = append(uids, lf.Metadata.UID)
			if lf.Status.State != v1.LogStateCompleted || lf.Spec.ClusterUID != "c2" {
				t.Errorf("request %s: %+v %+v; want a Completed request of c2", lf.Metadata.UID, lf.Spec, lf.Status)
			}
		}
		want := slices.Clone(completed[1:]) // the oldest is past LogBundlesKept
		slices.Reverse(want)
		if !slices.Equal(uids, want) {
			t.Errorf("c2's requests %v; want the kept ones, newest first: %v", uids, want)
		}

		got, err = f.svc.LogRequests(f.ctx, call(v1.RoleViewer), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Metadata.UID != open || got[0].Status.State != v1.LogStateRequested || got[0].Spec.Request.NoOfLines != 50 {
			t.Errorf("c1's requests %+v; want the one Requested with 50 lines", got)
		}

		outsider := &service.Call{Caller: service.UserCaller(tenant, "user-x", "x@example.com", nil,
			[]v1.ProjectRole{{ProjectUID: "project-other", Role: v1.RoleProjectAdmin}})}
		if _, err := f.svc.LogRequests(f.ctx, outsider, "c1"); service.KindOf(err) != service.KindNotFound {
			t.Errorf("a caller who does not see the cluster: %v; want NotFound", err)
		}
	})
}
