package hub

import (
	"net/http"

	"github.com/easelhq/easel/internal/service"
	"github.com/easelhq/easel/internal/store"
)

// routes registers every authenticated /v1 operation with the permission it needs (see
// service.Permission); it is the one table of who may do what. The Palette v1 paths are kept as they are; agent
// operations need the token of the path's cluster's agent.
func (s *Server) routes(handle func(pattern string, perm service.Permission, h handler), agent func(pattern string, h agentHandler)) {
	// Identity and tenancy.
	handle("GET /v1/users/info", service.PermUser, s.userInfo)
	handle("POST /v1/users/auth/tokens/revoke", service.PermUser, s.revokeTokens)
	handle("DELETE /v1/auth/session", service.PermUser, s.logout)
	handle("GET /v1/users", service.PermTenantAdmin, s.listUsers)
	handle("POST /v1/users", service.PermTenantAdmin, s.createUser)
	handle("GET /v1/users/{uid}", service.PermUser, s.getUser)
	handle("DELETE /v1/users/{uid}", service.PermTenantAdmin, s.deleteUser)
	handle("POST /v1/apiKeys", service.PermUser, s.createAPIKey)
	handle("GET /v1/apiKeys", service.PermUser, s.listAPIKeys)
	handle("GET /v1/apiKeys/{uid}", service.PermUser, s.getAPIKey)
	handle("PUT /v1/apiKeys/{uid}", service.PermUser, s.updateAPIKey)
	handle("DELETE /v1/apiKeys/{uid}", service.PermUser, s.deleteAPIKey)
	handle("POST /v1/projects", service.PermTenantAdmin, s.createProject)
	handle("GET /v1/projects/{uid}", service.PermRead, s.getProject)
	handle("PUT /v1/projects/{uid}", service.PermTenantAdmin, s.updateProject)
	handle("DELETE /v1/projects/{uid}", service.PermTenantAdmin, s.deleteProject)
	handle("GET /v1/dashboard/projects/metadata", service.PermUser, s.projectsMetadata)
	handle("GET /v1/projects/{uid}/preferences/clusterSettings", service.PermRead, s.projectClusterSettings)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/usageThresholds", service.PermProjectAdmin, s.putUsageThresholds)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/nodesAutoRemediationSetting", service.PermProjectAdmin, s.putAutoRemediation)
	handle("GET /v1/audits", service.PermUser, s.listAudits)
	handle("GET /v1/audits/{uid}", service.PermUser, s.getAudit)

	// Packs and profiles.
	handle("GET /v1/packs", service.PermUser, s.listPacks)
	handle("POST /v1/packs/search", service.PermUser, s.searchPacks)
	handle("GET /v1/packs/{uid}", service.PermUser, s.getPack)
	handle("GET /v1/packs/{packName}/registries/{registryUid}", service.PermUser, s.getPackByName)
	handle("GET /v1/registries/pack", service.PermUser, s.listRegistries)
	handle("GET /v1/registries/pack/summary", service.PermUser, s.registriesSummary)
	handle("GET /v1/registries/metadata", service.PermUser, s.registriesMetadata)
	handle("POST /v1/clusterprofiles", service.PermWriteProfiles, s.createProfile)
	handle("GET /v1/clusterprofiles/{uid}", service.PermRead, s.getProfile)
	handle("PUT /v1/clusterprofiles/{uid}", service.PermWriteProfiles, s.updateProfile)
	handle("DELETE /v1/clusterprofiles/{uid}", service.PermWriteProfiles, s.deleteProfile)
	handle("PATCH /v1/clusterprofiles/{uid}/publish", service.PermWriteProfiles, s.publishProfile)
	handle("GET /v1/dashboard/clusterprofiles/metadata", service.PermRead, s.profilesMetadata)
	handle("GET /v1/dashboard/clusterprofiles/{uid}", service.PermRead, s.getProfile)
	handle("GET /v1/clusterprofiles/{uid}/packs", service.PermRead, s.profilePacks)
	handle("GET /v1/clusterprofiles/{uid}/packs/{packName}/manifests", service.PermRead, s.profilePackManifests)
	handle("GET /v1/clusterprofiles/{uid}/export", service.PermRead, s.exportProfile)
	handle("GET /v1/clusterprofiles/{uid}/variables", service.PermRead, s.profileVariables)
	handle("POST /v1/clusterprofiles/import/file", service.PermWriteProfiles, s.importProfile)

	// Cloud types and accounts: the tenant's catalog of what clusters can run on.
	handle("GET /v1/clouds/cloudTypes", service.PermUser, s.cloudTypes)
	handle("GET /v1/cloudaccounts/cloudTypes/{cloudType}", service.PermRead, s.cloudAccounts)
	handle("POST /v1/cloudaccounts/cloudTypes/{cloudType}", service.PermWriteClusters, s.createCloudAccount)

	// Clusters.
	handle("POST /v1/spectroclusters/cloudTypes/{cloudType}", service.PermWriteClusters, s.createCluster)
	handle("POST /v1/spectroclusters/generic/import", service.PermWriteClusters, s.importCluster)
	handle("GET /v1/spectroclusters/{uid}/import/manifest", service.PermWriteClusters, s.importManifest)
	handle("GET /v1/spectroclusters/{uid}", service.PermRead, s.getCluster)
	handle("DELETE /v1/spectroclusters/{uid}", service.PermWriteClusters, s.deleteCluster)
	handle("GET /v1/spectroclusters/{uid}/status", service.PermRead, s.clusterStatus)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfig", service.PermClusterCredentials, s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfigclient", service.PermClusterCredentials, s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/adminKubeconfig", service.PermClusterCredentials, s.clusterKubeconfig)
	handle("POST /v1/dashboard/spectroclusters/search", service.PermRead, s.searchClusters)
	handle("GET /v1/dashboard/spectroclusters/meta", service.PermRead, s.clustersMeta)
	handle("GET /v1/spectroclusters/{uid}/profiles", service.PermRead, s.getClusterProfiles)
	handle("PUT /v1/spectroclusters/{uid}/profiles", service.PermWriteClusters, s.putClusterProfiles)
	handle("PATCH /v1/spectroclusters/{uid}/profiles", service.PermWriteClusters, s.patchClusterProfiles)
	handle("DELETE /v1/spectroclusters/{uid}/profiles", service.PermWriteClusters, s.deleteClusterProfiles)
	handle("GET /v1/spectroclusters/{uid}/repave/status", service.PermRead, s.repaveStatus)
	handle("PATCH /v1/spectroclusters/{uid}/repave/approve", service.PermWriteClusters, s.approveRepave)
	handle("GET /v1/spectroclusters/{uid}/k8certificates", service.PermRead, s.certificates)
	handle("PATCH /v1/spectroclusters/{uid}/k8certificates/renew", service.PermWriteClusters, s.renewCertificates)
	handle("GET /v1/dashboard/spectroclusters/{uid}", service.PermRead, s.clusterSummary)
	handle("GET /v1/dashboard/spectroclusters/{uid}/overview", service.PermRead, s.clusterSummary)
	handle("GET /v1/metrics/{resourceKind}/{uid}/values", service.PermRead, s.metricValues)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}", service.PermRead, s.getCloudConfig)
	handle("POST /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools", service.PermWriteClusters, s.createMachinePool)
	handle("PUT /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", service.PermWriteClusters, s.updateMachinePool)
	handle("DELETE /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", service.PermWriteClusters, s.deleteMachinePool)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines", service.PermRead, s.listMachines)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}", service.PermRead, s.getMachine)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines", service.PermRead, s.listMachines)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines/{machineUid}", service.PermRead, s.getMachine)
	handle("PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance", service.PermWriteClusters, s.putMaintenance)
	handle("POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}", service.PermRead, s.clusterWorkloads)
	// Cluster features easel does not have yet read as "none configured" (features.go); their
	// writes are 501 below.
	handle("GET /v1/spectroclusters/{uid}/features/backup", service.PermRead, s.clusterBackup)
	handle("GET /v1/spectroclusters/{uid}/features/complianceScan", service.PermRead, s.clusterComplianceScan)
	handle("GET /v1/spectroclusters/{uid}/config/rbacs", service.PermRead, s.clusterRbacs)
	handle("GET /v1/spectroclusters/{uid}/config/namespaces", service.PermRead, s.clusterNamespaces)

	// The agent protocol: only the cluster's own agent token.
	agent("PUT /v1/spectroclusters/{uid}/heartbeat", s.agentReport(s.reports.Heartbeat))
	agent("GET /v1/spectroclusters/{uid}/agent/desired", s.agentDesired)
	agent("PUT /v1/spectroclusters/{uid}/agent/packs", s.agentReport(s.reports.Packs))
	agent("PATCH /v1/spectroclusters/{uid}/status/conditions", s.agentReport(s.reports.Conditions))
	agent("PUT /v1/spectroclusters/{uid}/status/services", s.agentReport(s.reports.Services))
	agent("PUT /v1/spectroclusters/{uid}/agent/nodes", s.agentPage(s.reports.Nodes))
	agent("PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance/status", s.agentMaintenanceStatus)
	agent("PUT /v1/spectroclusters/{uid}/agent/usage", s.agentPage(s.reports.Usage))
	agent("PUT /v1/spectroclusters/{uid}/agent/workloads", s.agentPage(s.reports.Workloads))

	// Events.
	handle("GET /v1/events/components/{objectKind}/{objectUid}", service.PermRead, s.listEvents)

	// Troubleshooting: Palette's log fetcher, and easel's doctor (its own operation). A bundle holds
	// what the cluster's objects and logs say: only those who may change the cluster ask for one
	// or download it.
	handle("POST /v1/spectroclusters/{uid}/features/logFetcher", service.PermWriteClusters, s.withTroubleshooting(s.requestLogs))
	handle("GET /v1/spectroclusters/{uid}/features/logFetcher", service.PermRead, s.withTroubleshooting(s.logStatus))
	handle("GET /v1/spectroclusters/features/logFetcher/{uid}/download", service.PermWriteClusters, s.withTroubleshooting(s.downloadLogs))
	handle("POST /v1/spectroclusters/{uid}/features/doctor", service.PermWriteClusters, s.withTroubleshooting(s.requestDoctor))
	handle("GET /v1/spectroclusters/{uid}/features/doctor", service.PermRead, s.withTroubleshooting(s.doctor))
	agent("PUT /v1/spectroclusters/{uid}/agent/requests/{requestUid}", s.agentWithTroubleshooting(s.agentRequestReport))
	agent("POST /v1/spectroclusters/features/logFetcher/{uid}/log", s.agentWithTroubleshooting(s.uploadLogs))

	// Palette operations easel will serve but does not yet: a clear 501 rather than a 404, after
	// the same checks the operation will make.
	handle("POST /v1/spectroclusters/{uid}/features/backup", service.PermWriteClusters, s.notImplemented("cluster backups"))
	handle("PUT /v1/spectroclusters/{uid}/features/backup", service.PermWriteClusters, s.notImplemented("cluster backups"))
	handle("POST /v1/spectroclusters/{uid}/features/backup/onDemand", service.PermWriteClusters, s.notImplemented("cluster backups"))
	handle("DELETE /v1/spectroclusters/{uid}/features/backup/{backupName}/request/{requestUid}", service.PermWriteClusters, s.notImplemented("cluster backups"))
	handle("POST /v1/spectroclusters/{uid}/features/complianceScan", service.PermWriteClusters, s.notImplemented("compliance scans"))
	handle("PUT /v1/spectroclusters/{uid}/features/complianceScan", service.PermWriteClusters, s.notImplemented("compliance scans"))
	handle("POST /v1/spectroclusters/{uid}/features/complianceScan/onDemand", service.PermWriteClusters, s.notImplemented("compliance scans"))
	handle("PUT /v1/spectroclusters/{uid}/config/rbacs", service.PermWriteClusters, s.notImplemented("cluster role bindings (cluster_rbac_binding)"))
	handle("PUT /v1/spectroclusters/{uid}/config/namespaces", service.PermWriteClusters, s.notImplemented("cluster namespaces with resource quotas"))
	agent("PUT /v1/spectroclusters/{uid}/status/upgrades", func(http.ResponseWriter, *http.Request, service.Caller, store.Record) error {
		return service.NotImplemented("reporting upgrades from the agent")
	})
}

// notImplemented answers 501 for an operation easel does not serve yet, once the caller has been
// let in as the operation will let them in (the path's uid is a cluster's).
func (s *Server) notImplemented(what string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		rec, _, err := s.clusterRecord(r, c)
		if err != nil {
			return err
		}
		if err := c.authorize(rec.ProjectUID); err != nil {
			return err
		}
		return service.NotImplemented(what)
	}
}
