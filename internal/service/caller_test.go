package service_test

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// Who may do what in project P, one row per role: the permissions, in the order user, read,
// write-clusters, write-profiles, cluster-credentials, project-admin, tenant-admin, agent.
func TestCallerCan(t *testing.T) {
	perms := []service.Permission{service.PermUser, service.PermRead, service.PermWriteClusters, service.PermWriteProfiles,
		service.PermClusterCredentials, service.PermProjectAdmin, service.PermTenantAdmin, service.PermAgent}
	tests := []struct {
		name   string
		caller service.Caller
		want   string // one letter per permission: y may, n may not
	}{
		{"tenant admin", service.UserCaller("t", "u", "a@x", []string{v1.RoleTenantAdmin}, nil), "yyyyyyyn"},
		{"project admin", service.UserCaller("t", "u", "a@x", nil, []v1.ProjectRole{{ProjectUID: "P", Role: v1.RoleProjectAdmin}}), "yyyyyynn"},
		{"cluster admin", service.UserCaller("t", "u", "a@x", nil, []v1.ProjectRole{{ProjectUID: "P", Role: v1.RoleClusterAdmin}}), "yyynynnn"},
		{"viewer", service.UserCaller("t", "u", "a@x", nil, []v1.ProjectRole{{ProjectUID: "P", Role: v1.RoleViewer}}), "yynnnnnn"},
		{"another project's admin", service.UserCaller("t", "u", "a@x", nil, []v1.ProjectRole{{ProjectUID: "Q", Role: v1.RoleProjectAdmin}}), "ynnnnnnn"},
		{"agent", service.AgentCaller("t", "cluster"), "nnnnnnnn"},
	}
	for _, tt := range tests {
		var got strings.Builder
		for _, p := range perms {
			if tt.caller.Can("P", p) {
				got.WriteByte('y')
			} else {
				got.WriteByte('n')
			}
		}
		if got.String() != tt.want {
			t.Errorf("%s in P: got %s, want %s (user read write-clusters write-profiles credentials project-admin tenant-admin agent)",
				tt.name, got.String(), tt.want)
		}
	}
}

func TestCallRefusesWithAKindAndVisibleHidesOtherProjects(t *testing.T) {
	viewer := service.Call{Caller: service.UserCaller("t", "u", "v@x", nil, []v1.ProjectRole{{ProjectUID: "P", Role: v1.RoleViewer}}), Project: "P"}
	err := viewer.Authorize(service.PermWriteClusters, "P")
	var refused *service.Error
	if !errors.As(err, &refused) || refused.Kind != service.KindForbidden || !strings.Contains(refused.Message, "write-clusters") {
		t.Fatalf("viewer writing a cluster: %v; want Forbidden naming write-clusters", err)
	}
	if _, err := viewer.WriteScope(service.PermWriteProfiles, "create profiles"); !errors.As(err, &refused) ||
		!strings.Contains(refused.Message, "create profiles") {
		t.Fatalf("viewer creating a profile: %v; want Forbidden naming the operation", err)
	}
	for _, tt := range []struct {
		rec  store.Record
		want bool
	}{
		{store.Record{TenantUID: "t", ProjectUID: "P"}, true},
		{store.Record{TenantUID: "t", ProjectUID: ""}, true}, // tenant-scoped objects (packs, profiles of the tenant)
		{store.Record{TenantUID: "t", ProjectUID: "Q"}, false},
		{store.Record{TenantUID: "other", ProjectUID: "P"}, false},
	} {
		if got := viewer.Visible(tt.rec); got != tt.want {
			t.Errorf("Visible(%+v) = %v, want %v", tt.rec, got, tt.want)
		}
	}
}
