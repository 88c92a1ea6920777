package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
	"github.com/easelhq/easel/internal/store"
)

// routes registers every authenticated /v1 operation with the permission it needs (see permission in
// auth.go); it is the one table of who may do what. The Palette v1 paths are kept as they are; agent
// operations need the token of the path's cluster's agent.
func (s *Server) routes(handle func(pattern string, perm permission, h handler), agent func(pattern string, h agentHandler)) {
	// Identity and tenancy.
	handle("GET /v1/users/info", permUser, s.userInfo)
	handle("POST /v1/users/auth/tokens/revoke", permUser, s.revokeTokens)
	handle("DELETE /v1/auth/session", permUser, s.logout)
	handle("GET /v1/users", permTenantAdmin, s.listUsers)
	handle("POST /v1/users", permTenantAdmin, s.createUser)
	handle("GET /v1/users/{uid}", permUser, s.getUser)
	handle("DELETE /v1/users/{uid}", permTenantAdmin, s.deleteUser)
	handle("POST /v1/apiKeys", permUser, s.createAPIKey)
	handle("GET /v1/apiKeys", permUser, s.listAPIKeys)
	handle("GET /v1/apiKeys/{uid}", permUser, s.getAPIKey)
	handle("PUT /v1/apiKeys/{uid}", permUser, s.updateAPIKey)
	handle("DELETE /v1/apiKeys/{uid}", permUser, s.deleteAPIKey)
	handle("POST /v1/projects", permTenantAdmin, s.createProject)
	handle("GET /v1/projects/{uid}", permRead, s.getProject)
	handle("PUT /v1/projects/{uid}", permTenantAdmin, s.updateProject)
	handle("DELETE /v1/projects/{uid}", permTenantAdmin, s.deleteProject)
	handle("GET /v1/dashboard/projects/metadata", permUser, s.projectsMetadata)
	handle("GET /v1/projects/{uid}/preferences/clusterSettings", permRead, s.projectClusterSettings)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/usageThresholds", permProjectAdmin, s.putUsageThresholds)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/nodesAutoRemediationSetting", permProjectAdmin, s.putAutoRemediation)
	handle("GET /v1/audits", permUser, s.listAudits)
	handle("GET /v1/audits/{uid}", permUser, s.getAudit)

	// Packs and profiles.
	handle("GET /v1/packs", permUser, s.listPacks)
	handle("POST /v1/packs/search", permUser, s.searchPacks)
	handle("GET /v1/packs/{uid}", permUser, s.getPack)
	handle("GET /v1/packs/{packName}/registries/{registryUid}", permUser, s.getPackByName)
	handle("GET /v1/registries/pack", permUser, s.listRegistries)
	handle("GET /v1/registries/pack/summary", permUser, s.registriesSummary)
	handle("GET /v1/registries/metadata", permUser, s.registriesMetadata)
	handle("POST /v1/clusterprofiles", permWriteProfiles, s.createProfile)
	handle("GET /v1/clusterprofiles/{uid}", permRead, s.getProfile)
	handle("PUT /v1/clusterprofiles/{uid}", permWriteProfiles, s.updateProfile)
	handle("DELETE /v1/clusterprofiles/{uid}", permWriteProfiles, s.deleteProfile)
	handle("PATCH /v1/clusterprofiles/{uid}/publish", permWriteProfiles, s.publishProfile)
	handle("GET /v1/dashboard/clusterprofiles/metadata", permRead, s.profilesMetadata)
	handle("GET /v1/dashboard/clusterprofiles/{uid}", permRead, s.getProfile)
	handle("GET /v1/clusterprofiles/{uid}/packs", permRead, s.profilePacks)
	handle("GET /v1/clusterprofiles/{uid}/packs/{packName}/manifests", permRead, s.profilePackManifests)
	handle("GET /v1/clusterprofiles/{uid}/export", permRead, s.exportProfile)
	handle("GET /v1/clusterprofiles/{uid}/variables", permRead, s.profileVariables)
	handle("POST /v1/clusterprofiles/import/file", permWriteProfiles, s.importProfile)

	// Cloud types and accounts: the tenant's catalog of what clusters can run on.
	handle("GET /v1/clouds/cloudTypes", permUser, s.cloudTypes)
	handle("GET /v1/cloudaccounts/cloudTypes/{cloudType}", permRead, s.cloudAccounts)
	handle("POST /v1/cloudaccounts/cloudTypes/{cloudType}", permWriteClusters, s.createCloudAccount)

	// Clusters.
	handle("POST /v1/spectroclusters/cloudTypes/{cloudType}", permWriteClusters, s.createCluster)
	handle("POST /v1/spectroclusters/generic/import", permWriteClusters, s.importCluster)
	handle("GET /v1/spectroclusters/{uid}/import/manifest", permWriteClusters, s.importManifest)
	handle("GET /v1/spectroclusters/{uid}", permRead, s.getCluster)
	handle("DELETE /v1/spectroclusters/{uid}", permWriteClusters, s.deleteCluster)
	handle("GET /v1/spectroclusters/{uid}/status", permRead, s.clusterStatus)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfig", permClusterCredentials, s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfigclient", permClusterCredentials, s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/adminKubeconfig", permClusterCredentials, s.clusterKubeconfig)
	handle("POST /v1/dashboard/spectroclusters/search", permRead, s.searchClusters)
	handle("GET /v1/dashboard/spectroclusters/meta", permRead, s.clustersMeta)
	handle("GET /v1/spectroclusters/{uid}/profiles", permRead, s.getClusterProfiles)
	handle("PUT /v1/spectroclusters/{uid}/profiles", permWriteClusters, s.putClusterProfiles)
	handle("PATCH /v1/spectroclusters/{uid}/profiles", permWriteClusters, s.patchClusterProfiles)
	handle("DELETE /v1/spectroclusters/{uid}/profiles", permWriteClusters, s.deleteClusterProfiles)
	handle("GET /v1/spectroclusters/{uid}/repave/status", permRead, s.repaveStatus)
	handle("PATCH /v1/spectroclusters/{uid}/repave/approve", permWriteClusters, s.approveRepave)
	handle("GET /v1/spectroclusters/{uid}/k8certificates", permRead, s.certificates)
	handle("PATCH /v1/spectroclusters/{uid}/k8certificates/renew", permWriteClusters, s.renewCertificates)
	handle("GET /v1/dashboard/spectroclusters/{uid}", permRead, s.clusterSummary)
	handle("GET /v1/dashboard/spectroclusters/{uid}/overview", permRead, s.clusterSummary)
	handle("GET /v1/metrics/{resourceKind}/{uid}/values", permRead, s.metricValues)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}", permRead, s.getCloudConfig)
	handle("POST /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools", permWriteClusters, s.createMachinePool)
	handle("PUT /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", permWriteClusters, s.updateMachinePool)
	handle("DELETE /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", permWriteClusters, s.deleteMachinePool)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines", permRead, s.listMachines)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}", permRead, s.getMachine)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines", permRead, s.listMachines)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines/{machineUid}", permRead, s.getMachine)
	handle("PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance", permWriteClusters, s.putMaintenance)
	handle("POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}", permRead, s.clusterWorkloads)
	// Cluster features easel does not have yet read as "none configured" (features.go); their
	// writes are 501 below.
	handle("GET /v1/spectroclusters/{uid}/features/backup", permRead, s.clusterBackup)
	handle("GET /v1/spectroclusters/{uid}/features/complianceScan", permRead, s.clusterComplianceScan)
	handle("GET /v1/spectroclusters/{uid}/config/rbacs", permRead, s.clusterRbacs)
	handle("GET /v1/spectroclusters/{uid}/config/namespaces", permRead, s.clusterNamespaces)

	// The agent protocol: only the cluster's own agent token.
	agent("PUT /v1/spectroclusters/{uid}/heartbeat", s.heartbeat)
	agent("GET /v1/spectroclusters/{uid}/agent/desired", s.agentDesired)
	agent("PUT /v1/spectroclusters/{uid}/agent/packs", s.agentPacks)
	agent("PATCH /v1/spectroclusters/{uid}/status/conditions", s.agentConditions)
	agent("PUT /v1/spectroclusters/{uid}/status/services", s.agentServices)
	agent("PUT /v1/spectroclusters/{uid}/agent/nodes", limitBody(v1.MaxAgentMessageBytes, s.agentNodes))
	agent("PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance/status", s.agentMaintenanceStatus)
	agent("PUT /v1/spectroclusters/{uid}/agent/usage", limitBody(v1.MaxAgentMessageBytes, s.agentUsage))
	agent("PUT /v1/spectroclusters/{uid}/agent/workloads", limitBody(v1.MaxAgentMessageBytes, s.agentWorkloads))

	// Events.
	handle("GET /v1/events/components/{objectKind}/{objectUid}", permRead, s.listEvents)

	// Palette operations easel will serve but does not yet: a clear 501 rather than a 404, after
	// the same checks the operation will make.
	handle("POST /v1/spectroclusters/{uid}/features/logFetcher", permWriteClusters, s.notImplemented("log bundles"))
	handle("GET /v1/spectroclusters/{uid}/features/logFetcher", permRead, s.notImplemented("log bundles"))
	handle("GET /v1/spectroclusters/features/logFetcher/{uid}/download", permRead, func(http.ResponseWriter, *http.Request, *call) error {
		return errNotImplemented("log bundles")
	})
	handle("POST /v1/spectroclusters/{uid}/features/backup", permWriteClusters, s.notImplemented("cluster backups"))
	handle("PUT /v1/spectroclusters/{uid}/features/backup", permWriteClusters, s.notImplemented("cluster backups"))
	handle("POST /v1/spectroclusters/{uid}/features/backup/onDemand", permWriteClusters, s.notImplemented("cluster backups"))
	handle("DELETE /v1/spectroclusters/{uid}/features/backup/{backupName}/request/{requestUid}", permWriteClusters, s.notImplemented("cluster backups"))
	handle("POST /v1/spectroclusters/{uid}/features/complianceScan", permWriteClusters, s.notImplemented("compliance scans"))
	handle("PUT /v1/spectroclusters/{uid}/features/complianceScan", permWriteClusters, s.notImplemented("compliance scans"))
	handle("POST /v1/spectroclusters/{uid}/features/complianceScan/onDemand", permWriteClusters, s.notImplemented("compliance scans"))
	handle("PUT /v1/spectroclusters/{uid}/config/rbacs", permWriteClusters, s.notImplemented("cluster role bindings (cluster_rbac_binding)"))
	handle("PUT /v1/spectroclusters/{uid}/config/namespaces", permWriteClusters, s.notImplemented("cluster namespaces with resource quotas"))
	agent("PUT /v1/spectroclusters/{uid}/status/upgrades", func(http.ResponseWriter, *http.Request, principal, store.Record) error {
		return errNotImplemented("reporting upgrades from the agent")
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
		return errNotImplemented(what)
	}
}
