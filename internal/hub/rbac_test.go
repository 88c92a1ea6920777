package hub_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/hub"
	"github.com/easelhq/easel/internal/packs"
	"github.com/easelhq/easel/internal/secret"
)

// rbacFixture is what the RBAC matrix acts on: project P with a published profile and a Running
// cluster with machines, and everyone who may or may not act on them.
type rbacFixture struct {
	t                *testing.T
	h                *testHub
	project, other   string // P, and a project none of P's users belong to
	profile, cluster string
	cloudConfig      string
	adminUID         string // the tenant admin's user uid
	adminKeyUID      string
	auditUID         string // an audit entry of P
	n                int    // for fresh names
}

func (f *rbacFixture) fresh(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

// runningCluster creates a cluster in P and records it Running with the machines the engine would
// have made: a control plane and two workers.
func (f *rbacFixture) runningCluster(name string) (uid, cloudConfig string) {
	f.t.Helper()
	uid = f.h.admin().in(f.project).createCluster(name, f.profile)
	cl := f.h.recordStatus(uid, func(cl *clusters.Cluster) {
		now := time.Now()
		cl.Status.State = "Running"
		cl.Status.SetCondition(clusters.ConditionInfrastructureReady, "True", "ControlPlaneReady", "", now)
		cl.Status.Machines = []clusters.Machine{
			{UID: "m-cp", Name: "cp-1", Pool: "cp", ControlPlane: true, CreatedAt: now, Ready: true},
			{UID: "m-w1", Name: "workers-1", Pool: "workers", CreatedAt: now, Ready: true},
			{UID: "m-w2", Name: "workers-2", Pool: "workers", CreatedAt: now, Ready: true},
		}
	})
	return uid, cl.CloudConfigUID
}

// kubeconfigs hands out a kubeconfig for any cluster, for the hub's download routes.
type kubeconfigs struct{}

func (kubeconfigs) Kubeconfig(_ context.Context, _, name string, _ clusters.Cluster) ([]byte, error) {
	return []byte("apiVersion: v1\nkind: Config\n# cluster " + name + "\n"), nil
}

// logBundle asks for a bundle of the fixture's cluster, made at once (no agent), and returns its
// request's uid.
func (f *rbacFixture) logBundle() string {
	var out uidBody
	f.h.admin().must(201, "POST", "/v1/spectroclusters/"+f.cluster+"/features/logFetcher", map[string]any{}, &out)
	return out.UID
}

// openLogRequest makes a fresh Running cluster whose agent is connected, asks for a bundle of it and
// returns the request's uid; the agent then acts for that cluster.
func (f *rbacFixture) openLogRequest() string {
	uid, _ := f.runningCluster(f.fresh("c"))
	f.h.recordStatus(uid, func(cl *clusters.Cluster) { cl.Status.Health.LastHeartbeat = time.Now() })
	var out uidBody
	f.h.admin().must(201, "POST", "/v1/spectroclusters/"+uid+"/features/logFetcher", map[string]any{}, &out)
	f.cluster = uid
	return out.UID
}

func (f *rbacFixture) draftProfile() string {
	var out uidBody
	f.h.admin().in(f.project).must(201, "POST", "/v1/clusterprofiles", profile(f.fresh("draft"), "1.0.0"), &out)
	return out.UID
}

func (f *rbacFixture) adminKey() string {
	var out uidBody
	f.h.admin().must(201, "POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": f.fresh("key")}}, &out)
	return out.UID
}

// rbacRequest is one call of a route: its path, body and headers (a ProjectUid header is sent as
// P's when scoped is set).
type rbacRequest struct {
	path    string
	body    any
	scoped  bool
	headers []string
}

// rbacCase is a row of the matrix: a route of routes.go, how to call it (req may make fresh
// objects, as a delete needs one per caller) and the status each caller gets. For user routes,
// want lists tenant admin, project admin, cluster admin and viewer of P, and the project admin of
// another project; anonymous, wrong-key and expired-key callers always get 401 and an agent's
// token 403. For agent routes, want is the status of the cluster's own agent; every other caller
// gets 401 (no valid credentials) or 403.
type rbacCase struct {
	route string
	req   func(f *rbacFixture) rbacRequest
	want  string
}

func path(p string) func(*rbacFixture) rbacRequest {
	return func(*rbacFixture) rbacRequest { return rbacRequest{path: p} }
}

func rbacCases() []rbacCase {
	clusterPath := func(suffix string) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/" + f.cluster + suffix}
		}
	}
	profilePath := func(suffix string) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/clusterprofiles/" + f.profile + suffix}
		}
	}
	cloudConfig := func(suffix string) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/cloudconfigs/cloudTypes/local/" + f.cloudConfig + suffix}
		}
	}
	withBody := func(req func(*rbacFixture) rbacRequest, body any) func(*rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest { r := req(f); r.body = body; return r }
	}
	scoped := func(req func(*rbacFixture) rbacRequest) func(*rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest { r := req(f); r.scoped = true; return r }
	}
	// A fresh Running cluster per call, for the operations that change or end one.
	freshCluster := func(suffix string, body any) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			uid, _ := f.runningCluster(f.fresh("c"))
			return rbacRequest{path: "/v1/spectroclusters/" + uid + suffix, body: body}
		}
	}
	freshPools := func(suffix string, body any) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			_, cc := f.runningCluster(f.fresh("c"))
			return rbacRequest{path: "/v1/cloudconfigs/cloudTypes/local/" + cc + "/machinePools" + suffix, body: body}
		}
	}
	pool := func(name string, size int) map[string]any {
		return map[string]any{"poolConfig": map[string]any{"name": name, "size": size}, "cloudConfig": map[string]any{"instanceType": "medium"}}
	}
	freshDraft := func(suffix string, body any) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/clusterprofiles/" + f.draftProfile() + suffix, body: body}
		}
	}
	importFile := func(f *rbacFixture) rbacRequest {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("importFile", "profile.yaml")
		fmt.Fprintf(fw, "metadata:\n  name: %s\nspec:\n  version: 1.0.0\n  template:\n    type: add-on\n    cloudType: local\n    packs:\n    - name: prometheus-operator\n      tag: %s\n",
			f.fresh("imported"), latest("prometheus-operator"))
		mw.Close()
		return rbacRequest{path: "/v1/clusterprofiles/import/file", body: buf.Bytes(), scoped: true,
			headers: []string{"Content-Type", mw.FormDataContentType()}}
	}
	agentPath := func(suffix string, body any) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/" + f.cluster + suffix, body: body}
		}
	}
	maintenance := func(body any) func(f *rbacFixture) rbacRequest {
		return func(f *rbacFixture) rbacRequest {
			_, cc := f.runningCluster(f.fresh("c"))
			return rbacRequest{path: "/v1/cloudconfigs/local/" + cc + "/machinePools/workers/machines/m-w1/maintenance", body: body}
		}
	}
	cordoned := func(f *rbacFixture) rbacRequest {
		uid, cc := f.runningCluster(f.fresh("c"))
		f.h.admin().must(204, "PUT", "/v1/cloudconfigs/local/"+cc+"/machinePools/workers/machines/m-w1/maintenance",
			map[string]string{"action": "cordon"}, nil)
		f.cluster = uid // the agent acts on this cluster (its token is issued for f.cluster)
		return rbacRequest{path: "/v1/cloudconfigs/local/" + cc + "/machinePools/workers/machines/m-w1/maintenance/status",
			body: map[string]any{"action": "cordon", "state": "Completed"}}
	}

	return []rbacCase{
		// Identity and tenancy.     tenant-admin project-admin cluster-admin viewer other-project
		{"GET /v1/users/info", path("/v1/users/info"), "200 200 200 200 200"},
		{"POST /v1/users/auth/tokens/revoke", func(*rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/users/auth/tokens/revoke", body: map[string]any{"tokens": []string{"easel-session-unknown"}}}
		}, "204 204 204 204 204"},
		{"DELETE /v1/auth/session", path("/v1/auth/session"), "400 400 400 400 400"}, // an API key is no session
		{"GET /v1/users", path("/v1/users"), "200 403 403 403 403"},
		{"POST /v1/users", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/users", body: map[string]any{"spec": map[string]any{"emailId": f.fresh("u") + "@example.com"}}}
		}, "201 403 403 403 403"},
		{"GET /v1/users/{uid}", func(f *rbacFixture) rbacRequest { return rbacRequest{path: "/v1/users/" + f.adminUID} }, "200 404 404 404 404"},
		{"DELETE /v1/users/{uid}", func(f *rbacFixture) rbacRequest {
			var u uidBody
			f.h.admin().must(201, "POST", "/v1/users", map[string]any{"spec": map[string]any{"emailId": f.fresh("gone") + "@example.com"}}, &u)
			return rbacRequest{path: "/v1/users/" + u.UID}
		}, "204 403 403 403 403"},
		{"POST /v1/apiKeys", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/apiKeys", body: map[string]any{"metadata": map[string]any{"name": f.fresh("key")}}}
		}, "201 201 201 201 201"},
		{"GET /v1/apiKeys", path("/v1/apiKeys"), "200 200 200 200 200"},
		{"GET /v1/apiKeys/{uid}", func(f *rbacFixture) rbacRequest { return rbacRequest{path: "/v1/apiKeys/" + f.adminKeyUID} }, "200 404 404 404 404"},
		{"PUT /v1/apiKeys/{uid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/apiKeys/" + f.adminKey(), body: map[string]any{"metadata": map[string]any{"name": "renamed"}}}
		}, "204 404 404 404 404"},
		{"DELETE /v1/apiKeys/{uid}", func(f *rbacFixture) rbacRequest { return rbacRequest{path: "/v1/apiKeys/" + f.adminKey()} }, "204 404 404 404 404"},
		{"POST /v1/projects", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects", body: map[string]any{"metadata": map[string]any{"name": f.fresh("p")}}}
		}, "201 403 403 403 403"},
		{"GET /v1/projects/{uid}", func(f *rbacFixture) rbacRequest { return rbacRequest{path: "/v1/projects/" + f.project} }, "200 200 200 200 404"},
		{"PUT /v1/projects/{uid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects/" + f.project, body: map[string]any{"metadata": map[string]any{"name": "team-p"}}}
		}, "204 403 403 403 403"},
		{"DELETE /v1/projects/{uid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects/" + f.h.createProject(f.fresh("empty"))}
		}, "204 403 403 403 403"},
		{"GET /v1/dashboard/projects/metadata", path("/v1/dashboard/projects/metadata"), "200 200 200 200 200"},
		{"GET /v1/projects/{uid}/preferences/clusterSettings", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects/" + f.project + "/preferences/clusterSettings"}
		}, "200 200 200 200 404"},
		{"PUT /v1/projects/{uid}/preferences/clusterSettings/usageThresholds", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects/" + f.project + "/preferences/clusterSettings/usageThresholds",
				body: map[string]any{"cpuPercent": 90, "memoryPercent": 90, "periodSeconds": 600}}
		}, "204 204 403 403 404"},
		{"PUT /v1/projects/{uid}/preferences/clusterSettings/nodesAutoRemediationSetting", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/projects/" + f.project + "/preferences/clusterSettings/nodesAutoRemediationSetting",
				body: map[string]any{"isEnabled": true}}
		}, "204 204 403 403 404"},
		{"GET /v1/audits", path("/v1/audits"), "200 200 200 200 200"},
		{"GET /v1/audits/{uid}", func(f *rbacFixture) rbacRequest { return rbacRequest{path: "/v1/audits/" + f.auditUID} }, "200 200 404 404 404"},

		// Packs: the catalog is the tenant's.
		{"GET /v1/packs", path("/v1/packs"), "200 200 200 200 200"},
		{"POST /v1/packs/search", func(*rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/packs/search", body: map[string]any{"filter": map[string]any{"layer": []string{"cni"}}}}
		}, "200 200 200 200 200"},
		{"GET /v1/packs/{uid}", func(*rbacFixture) rbacRequest {
			p, _ := packs.MustBuiltin().Latest("cni-calico")
			return rbacRequest{path: "/v1/packs/" + p.UID}
		}, "200 200 200 200 200"},
		{"GET /v1/packs/{packName}/registries/{registryUid}", func(*rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/packs/cni-calico/registries/" + packs.RegistryUID}
		}, "200 200 200 200 200"},
		{"GET /v1/registries/pack", path("/v1/registries/pack"), "200 200 200 200 200"},
		{"GET /v1/registries/pack/summary", path("/v1/registries/pack/summary"), "200 200 200 200 200"},
		{"GET /v1/registries/metadata", path("/v1/registries/metadata"), "200 200 200 200 200"},

		// Profiles: project admins write them, everyone in the project reads them.
		{"POST /v1/clusterprofiles", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/clusterprofiles", body: profile(f.fresh("prof"), "1.0.0"), scoped: true}
		}, "201 201 403 403 404"},
		{"GET /v1/clusterprofiles/{uid}", profilePath(""), "200 200 200 200 404"},
		{"PUT /v1/clusterprofiles/{uid}", func(f *rbacFixture) rbacRequest {
			uid := f.draftProfile()
			var cur map[string]any
			f.h.admin().must(200, "GET", "/v1/clusterprofiles/"+uid, nil, &cur)
			return rbacRequest{path: "/v1/clusterprofiles/" + uid, body: profile(cur["metadata"].(map[string]any)["name"].(string), "1.0.0")}
		}, "204 204 403 403 404"},
		{"DELETE /v1/clusterprofiles/{uid}", freshDraft("", nil), "204 204 403 403 404"},
		{"PATCH /v1/clusterprofiles/{uid}/publish", freshDraft("/publish", nil), "204 204 403 403 404"},
		{"GET /v1/dashboard/clusterprofiles/metadata", scoped(path("/v1/dashboard/clusterprofiles/metadata")), "200 200 200 200 404"},
		{"GET /v1/dashboard/clusterprofiles/{uid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/dashboard/clusterprofiles/" + f.profile}
		}, "200 200 200 200 404"},
		{"GET /v1/clusterprofiles/{uid}/packs", profilePath("/packs"), "200 200 200 200 404"},
		{"GET /v1/clusterprofiles/{uid}/packs/{packName}/manifests", profilePath("/packs/cni-calico/manifests"), "200 200 200 200 404"},
		{"GET /v1/clusterprofiles/{uid}/export", profilePath("/export"), "200 200 200 200 404"},
		{"GET /v1/clusterprofiles/{uid}/variables", profilePath("/variables"), "200 200 200 200 404"},
		{"POST /v1/clusterprofiles/import/file", importFile, "201 201 403 403 404"},

		// Cloud types and accounts: the tenant's cloud types; no provider needs an account, so a
		// create is refused (400) once the caller may create.
		{"GET /v1/clouds/cloudTypes", path("/v1/clouds/cloudTypes"), "200 200 200 200 200"},
		{"GET /v1/cloudaccounts/cloudTypes/{cloudType}", scoped(path("/v1/cloudaccounts/cloudTypes/local")), "200 200 200 200 404"},
		{"POST /v1/cloudaccounts/cloudTypes/{cloudType}", scoped(withBody(path("/v1/cloudaccounts/cloudTypes/local"),
			map[string]any{"metadata": map[string]any{"name": "acct"}})), "400 400 400 403 404"},

		// Clusters: cluster admins write them and get their kubeconfigs, viewers read.
		{"POST /v1/spectroclusters/cloudTypes/{cloudType}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/cloudTypes/local", body: clusterEntity(f.fresh("new"), f.profile), scoped: true}
		}, "201 201 201 403 404"},
		{"POST /v1/spectroclusters/generic/import", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/generic/import", body: map[string]any{"metadata": map[string]any{"name": f.fresh("imp")}}, scoped: true}
		}, "201 201 201 403 404"},
		{"GET /v1/spectroclusters/{uid}/import/manifest", func(f *rbacFixture) rbacRequest {
			var out uidBody
			f.h.admin().in(f.project).must(201, "POST", "/v1/spectroclusters/generic/import",
				map[string]any{"metadata": map[string]any{"name": f.fresh("imp")}}, &out)
			return rbacRequest{path: "/v1/spectroclusters/" + out.UID + "/import/manifest"}
		}, "200 200 200 403 404"},
		{"GET /v1/spectroclusters/{uid}", clusterPath(""), "200 200 200 200 404"},
		{"DELETE /v1/spectroclusters/{uid}", freshCluster("", nil), "204 204 204 403 404"},
		{"GET /v1/spectroclusters/{uid}/status", clusterPath("/status"), "200 200 200 200 404"},
		{"GET /v1/spectroclusters/{uid}/assets/kubeconfig", clusterPath("/assets/kubeconfig"), "200 200 200 403 404"},
		{"GET /v1/spectroclusters/{uid}/assets/kubeconfigclient", clusterPath("/assets/kubeconfigclient"), "200 200 200 403 404"},
		{"GET /v1/spectroclusters/{uid}/assets/adminKubeconfig", clusterPath("/assets/adminKubeconfig"), "200 200 200 403 404"},
		{"POST /v1/dashboard/spectroclusters/search", scoped(withBody(path("/v1/dashboard/spectroclusters/search"), map[string]any{})), "200 200 200 200 404"},
		{"GET /v1/dashboard/spectroclusters/meta", scoped(path("/v1/dashboard/spectroclusters/meta")), "200 200 200 200 404"},
		{"GET /v1/spectroclusters/{uid}/profiles", clusterPath("/profiles"), "200 200 200 200 404"},
		{"PUT /v1/spectroclusters/{uid}/profiles", func(f *rbacFixture) rbacRequest {
			r := freshCluster("/profiles", nil)(f)
			r.body = map[string]any{"profiles": []map[string]any{{"uid": f.profile}}}
			return r
		}, "204 204 204 403 404"},
		{"PATCH /v1/spectroclusters/{uid}/profiles", func(f *rbacFixture) rbacRequest {
			r := freshCluster("/profiles", nil)(f)
			r.body = map[string]any{"profiles": []map[string]any{{"uid": f.profile}}}
			return r
		}, "204 204 204 403 404"},
		{"DELETE /v1/spectroclusters/{uid}/profiles", func(f *rbacFixture) rbacRequest {
			r := freshCluster("/profiles", nil)(f)
			r.body = map[string]any{"profileUids": []string{f.profile}}
			return r
		}, "400 400 400 403 404"}, // the infra profile cannot be detached: refused after the permission
		{"GET /v1/spectroclusters/{uid}/repave/status", clusterPath("/repave/status"), "200 200 200 200 404"},
		{"PATCH /v1/spectroclusters/{uid}/repave/approve", freshCluster("/repave/approve", nil), "409 409 409 403 404"}, // nothing waits
		{"GET /v1/spectroclusters/{uid}/k8certificates", clusterPath("/k8certificates"), "200 200 200 200 404"},
		{"PATCH /v1/spectroclusters/{uid}/k8certificates/renew", freshCluster("/k8certificates/renew", nil), "204 204 204 403 404"},
		{"GET /v1/dashboard/spectroclusters/{uid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/dashboard/spectroclusters/" + f.cluster}
		}, "200 200 200 200 404"},
		{"GET /v1/dashboard/spectroclusters/{uid}/overview", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/dashboard/spectroclusters/" + f.cluster + "/overview"}
		}, "200 200 200 200 404"},
		{"GET /v1/metrics/{resourceKind}/{uid}/values", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/metrics/spectrocluster/" + f.cluster + "/values"}
		}, "200 200 200 200 404"},
		{"GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}", cloudConfig(""), "200 200 200 200 404"},
		{"POST /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools", freshPools("", pool("more", 1)), "201 201 201 403 404"},
		{"PUT /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", freshPools("/workers", pool("workers", 3)), "204 204 204 403 404"},
		{"DELETE /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", freshPools("/workers", nil), "204 204 204 403 404"},
		{"GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines", cloudConfig("/machinePools/workers/machines"), "200 200 200 200 404"},
		{"GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}", cloudConfig("/machinePools/workers/machines/m-w1"), "200 200 200 200 404"},
		{"GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/cloudconfigs/generic/" + f.cloudConfig + "/machinePools/workers/machines"}
		}, "200 200 200 200 404"},
		{"GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines/{machineUid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/cloudconfigs/generic/" + f.cloudConfig + "/machinePools/workers/machines/m-w1"}
		}, "200 200 200 200 404"},
		{"PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance", maintenance(map[string]string{"action": "cordon"}), "204 204 204 403 404"},
		{"POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/dashboard/spectroclusters/" + f.cluster + "/workloads/pod", body: map[string]any{}}
		}, "200 200 200 200 404"},
		{"GET /v1/events/components/{objectKind}/{objectUid}", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/events/components/spectrocluster/" + f.cluster}
		}, "200 200 200 200 404"},
		// Troubleshooting. The fixture's cluster has no agent connected: its bundles are made at once
		// of the hub's part, its doctor runs fail at once.
		{"POST /v1/spectroclusters/{uid}/features/logFetcher", freshCluster("/features/logFetcher", map[string]any{}), "201 201 201 403 404"},
		{"GET /v1/spectroclusters/{uid}/features/logFetcher", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/" + f.cluster + "/features/logFetcher?requestId=" + f.logBundle()}
		}, "200 200 200 200 404"},
		{"GET /v1/spectroclusters/features/logFetcher/{uid}/download", func(f *rbacFixture) rbacRequest {
			return rbacRequest{path: "/v1/spectroclusters/features/logFetcher/" + f.logBundle() + "/download"}
		}, "200 200 200 403 404"},
		{"POST /v1/spectroclusters/{uid}/features/doctor", freshCluster("/features/doctor", map[string]any{}), "201 201 201 403 404"},
		{"GET /v1/spectroclusters/{uid}/features/doctor", func(f *rbacFixture) rbacRequest {
			f.h.admin().must(201, "POST", "/v1/spectroclusters/"+f.cluster+"/features/doctor", map[string]any{}, nil)
			return rbacRequest{path: "/v1/spectroclusters/" + f.cluster + "/features/doctor"}
		}, "200 200 200 200 404"},
		// Features easel does not have: read as none configured, written 501 after the permission.
		{"GET /v1/spectroclusters/{uid}/features/backup", clusterPath("/features/backup"), "200 200 200 200 404"},
		{"GET /v1/spectroclusters/{uid}/features/complianceScan", clusterPath("/features/complianceScan"), "200 200 200 200 404"},
		{"GET /v1/spectroclusters/{uid}/config/rbacs", clusterPath("/config/rbacs"), "200 200 200 200 404"},
		{"GET /v1/spectroclusters/{uid}/config/namespaces", clusterPath("/config/namespaces"), "200 200 200 200 404"},
		{"POST /v1/spectroclusters/{uid}/features/backup", withBody(clusterPath("/features/backup"), map[string]any{}), "501 501 501 403 404"},
		{"PUT /v1/spectroclusters/{uid}/features/backup", withBody(clusterPath("/features/backup"), map[string]any{}), "501 501 501 403 404"},
		{"POST /v1/spectroclusters/{uid}/features/backup/onDemand", withBody(clusterPath("/features/backup/onDemand"), map[string]any{}), "501 501 501 403 404"},
		{"DELETE /v1/spectroclusters/{uid}/features/backup/{backupName}/request/{requestUid}", clusterPath("/features/backup/daily/request/r1"), "501 501 501 403 404"},
		{"POST /v1/spectroclusters/{uid}/features/complianceScan", withBody(clusterPath("/features/complianceScan"), map[string]any{}), "501 501 501 403 404"},
		{"PUT /v1/spectroclusters/{uid}/features/complianceScan", withBody(clusterPath("/features/complianceScan"), map[string]any{}), "501 501 501 403 404"},
		{"POST /v1/spectroclusters/{uid}/features/complianceScan/onDemand", withBody(clusterPath("/features/complianceScan/onDemand"), map[string]any{}), "501 501 501 403 404"},
		{"PUT /v1/spectroclusters/{uid}/config/rbacs", withBody(clusterPath("/config/rbacs"), map[string]any{"rbacs": []any{}}), "501 501 501 403 404"},
		{"PUT /v1/spectroclusters/{uid}/config/namespaces", withBody(clusterPath("/config/namespaces"), map[string]any{"namespaces": []any{}}), "501 501 501 403 404"},

		// The agent protocol: only the path's cluster's own agent.
		{"PUT /v1/spectroclusters/{uid}/heartbeat", agentPath("/heartbeat", map[string]string{"agentVersion": "0.1.0"}), "204"},
		{"GET /v1/spectroclusters/{uid}/agent/desired", agentPath("/agent/desired?generation=0", nil), "200"},
		{"PUT /v1/spectroclusters/{uid}/agent/packs", agentPath("/agent/packs", map[string]any{"generation": 1, "packs": []any{}}), "204"},
		{"PATCH /v1/spectroclusters/{uid}/status/conditions", agentPath("/status/conditions", []map[string]string{{"type": "Agent", "status": "True"}}), "204"},
		{"PUT /v1/spectroclusters/{uid}/status/services", agentPath("/status/services", []any{}), "204"},
		{"PUT /v1/spectroclusters/{uid}/agent/nodes", agentPath("/agent/nodes", nodePage("r1", 0, 1, "workers-1")), "204"},
		{"PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance/status", cordoned, "204"},
		{"PUT /v1/spectroclusters/{uid}/agent/usage", agentPath("/agent/usage", usageReport("run", 1, 0.5)), "204"},
		{"PUT /v1/spectroclusters/{uid}/agent/workloads", agentPath("/agent/workloads", workloadPage("w1", "", 0, 1)), "204"},
		{"PUT /v1/spectroclusters/{uid}/status/upgrades", agentPath("/status/upgrades", map[string]any{}), "501"},
		{"PUT /v1/spectroclusters/{uid}/agent/requests/{requestUid}", func(f *rbacFixture) rbacRequest {
			id := f.openLogRequest()
			return rbacRequest{path: "/v1/spectroclusters/" + f.cluster + "/agent/requests/" + id, body: map[string]string{"state": "Collecting"}}
		}, "204"},
		{"POST /v1/spectroclusters/features/logFetcher/{uid}/log", func(f *rbacFixture) rbacRequest {
			id := f.openLogRequest()
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("fileName", "spectro_logs.zip")
			zw := zip.NewWriter(fw)
			zw.Create("Manifest.yaml")
			zw.Close()
			mw.Close()
			return rbacRequest{path: "/v1/spectroclusters/features/logFetcher/" + f.cluster + "/log?requestId=" + id, body: buf.Bytes(),
				headers: []string{"Content-Type", mw.FormDataContentType()}}
		}, "204"},
	}
}

// TestRBACMatrix calls every route of the API as every kind of caller and checks the exact status
// each gets: the permission table of routes.go, proven.
func TestRBACMatrix(t *testing.T) {
	routes := hub.New(nil, packs.MustBuiltin(), hub.Options{}).Routes()
	cases := rbacCases()
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.route] = true
	}
	for _, r := range routes {
		if !tested[r.Pattern] {
			t.Errorf("route %s (%s) has no row in the RBAC matrix", r.Pattern, r.Permission)
		}
		delete(tested, r.Pattern)
	}
	for route := range tested {
		t.Errorf("the RBAC matrix tests %s, which is not a route", route)
	}
	if t.Failed() {
		t.FailNow()
	}
	agentRoutes := map[string]bool{}
	for _, r := range routes {
		agentRoutes[r.Pattern] = r.Permission == "agent"
	}

	withKubeconfigs := func() testOptions {
		return testOptions{kubeconfigs: kubeconfigs{}}
	}
	eachStoreWith(t, withKubeconfigs, func(t *testing.T, h *testHub) { rbacMatrix(t, h, cases, agentRoutes) })
}

func rbacMatrix(t *testing.T, h *testHub, cases []rbacCase, agentRoutes map[string]bool) {
	ctx := context.Background()
	f := &rbacFixture{t: t, h: h, project: h.createProject("p"), other: h.createProject("q")}
	f.profile = h.admin().in(f.project).publishedProfile("base")
	f.cluster, f.cloudConfig = f.runningCluster("web")
	var info struct{ UserUID string }
	h.admin().must(200, "GET", "/v1/users/info", nil, &info)
	f.adminUID, f.adminKeyUID = info.UserUID, f.adminKey()
	var audits struct {
		Items []struct{ Metadata struct{ UID string } }
	}
	h.admin().in(f.project).must(200, "GET", "/v1/audits?limit=1", nil, &audits)
	f.auditUID = audits.Items[0].Metadata.UID

	tenant := mustTenant(t, h)
	users := []struct {
		name string
		c    client
	}{
		{"tenant-admin", h.admin()},
		{"project-admin", h.userWith("pa@example.com", f.project, "project-admin")},
		{"cluster-admin", h.userWith("ca@example.com", f.project, "cluster-admin")},
		{"viewer", h.userWith("viewer@example.com", f.project, "viewer")},
		{"other-project", h.userWith("other@example.com", f.other, "project-admin")},
	}
	// An expired key of P's project admin, and a key that never existed.
	expired := h.userWith("expired@example.com", f.project, "project-admin")
	cred, err := h.store.GetCredentialByHash(ctx, secret.Hash(expired.key))
	if err != nil {
		t.Fatal(err)
	}
	cred.ExpiresAt = time.Now().Add(-time.Minute)
	if err := h.store.UpdateCredential(ctx, &cred); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		c    client
	}{
		{"anonymous", client{h: h}},
		{"wrong-key", client{h: h, key: "easel-not-a-key"}},
		{"expired-key", expired},
	}
	elsewhere, _ := f.runningCluster("elsewhere")
	otherAgent, err := secret.IssueAgentToken(ctx, h.store, tenant, elsewhere)
	if err != nil {
		t.Fatal(err)
	}

	home := f.cluster
	call := func(c client, rc rbacCase, bearer string) (int, string) {
		t.Helper()
		req := rc.req(f)
		f.cluster = home
		if req.scoped {
			c.project = f.project
		}
		headers := req.headers
		if bearer != "" {
			headers = append(headers, "Authorization", "Bearer "+bearer)
		}
		status, body, _ := c.do(strings.Fields(rc.route)[0], req.path, req.body, headers...)
		return status, string(body)
	}
	check := func(rc rbacCase, who string, got int, body string, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s as %s: %d, want %d; body: %.200s", rc.route, who, got, want, body)
		}
	}
	for _, rc := range cases {
		for _, r := range refused {
			status, body := call(r.c, rc, "")
			check(rc, r.name, status, body, 401)
		}
		status, body := call(client{h: h}, rc, otherAgent)
		check(rc, "the agent of another cluster", status, body, 403)
		if agentRoutes[rc.route] {
			for _, u := range users {
				status, body := call(u.c, rc, "")
				check(rc, u.name, status, body, 403)
			}
			var want int
			fmt.Sscan(rc.want, &want)
			req := rc.req(f) // it may pick the cluster the agent acts for
			token, err := secret.IssueAgentToken(ctx, h.store, tenant, f.cluster)
			if err != nil {
				t.Fatal(err)
			}
			f.cluster = home
			status, data, _ := client{h: h}.do(strings.Fields(rc.route)[0], req.path, req.body, append(req.headers, "Authorization", "Bearer "+token)...)
			check(rc, "the cluster's agent", status, string(data), want)
			continue
		}
		wants := strings.Fields(rc.want)
		if len(wants) != len(users) {
			t.Fatalf("%s: want %q names %d statuses, not %d", rc.route, rc.want, len(wants), len(users))
		}
		for i, u := range users {
			var want int
			fmt.Sscan(wants[i], &want)
			status, body := call(u.c, rc, "")
			check(rc, u.name, status, body, want)
		}
	}
}

// docs/identity.md lists every route with its permission; it must say what routes.go says.
func TestIdentityDocsListEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("../../docs/identity.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if m := docRoute.FindStringSubmatch(line); m != nil {
			documented[m[1]] = m[2]
		}
	}
	for _, r := range hub.New(nil, packs.MustBuiltin(), hub.Options{}).Routes() {
		if got, ok := documented[r.Pattern]; !ok || got != r.Permission {
			t.Errorf("docs/identity.md: route %s is documented with permission %q, routes.go says %q", r.Pattern, got, r.Permission)
		}
		delete(documented, r.Pattern)
	}
	for route := range documented {
		t.Errorf("docs/identity.md documents %s, which is not a route", route)
	}
}

var docRoute = regexp.MustCompile("^\\| `([A-Z]+ /[^`]+)` \\| ([a-z-]+) \\|$")
