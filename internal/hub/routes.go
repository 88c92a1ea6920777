package hub

import (
	"net/http"

	v1 "github.com/easelhq/easel/api/v1"
)

// routes registers every authenticated /v1 operation; the Palette v1 paths are kept as they are.
func (s *Server) routes(handle func(pattern string, h handler), agent func(pattern string, h agentHandler)) {
	// Identity and tenancy.
	handle("GET /v1/users/info", s.userInfo)
	handle("GET /v1/users", s.listUsers)
	handle("POST /v1/users", s.createUser)
	handle("GET /v1/users/{uid}", s.getUser)
	handle("DELETE /v1/users/{uid}", s.deleteUser)
	handle("POST /v1/apiKeys", s.createAPIKey)
	handle("GET /v1/apiKeys", s.listAPIKeys)
	handle("GET /v1/apiKeys/{uid}", s.getAPIKey)
	handle("PUT /v1/apiKeys/{uid}", s.updateAPIKey)
	handle("DELETE /v1/apiKeys/{uid}", s.deleteAPIKey)
	handle("POST /v1/projects", s.createProject)
	handle("GET /v1/projects/{uid}", s.getProject)
	handle("PUT /v1/projects/{uid}", s.updateProject)
	handle("DELETE /v1/projects/{uid}", s.deleteProject)
	handle("GET /v1/dashboard/projects/metadata", s.projectsMetadata)
	handle("GET /v1/projects/{uid}/preferences/clusterSettings", s.projectClusterSettings)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/usageThresholds", s.putUsageThresholds)
	handle("PUT /v1/projects/{uid}/preferences/clusterSettings/nodesAutoRemediationSetting", s.putAutoRemediation)
	handle("GET /v1/audits", s.listAudits)
	handle("GET /v1/audits/{uid}", s.getAudit)

	// Packs and profiles.
	handle("GET /v1/packs", s.listPacks)
	handle("POST /v1/packs/search", s.searchPacks)
	handle("GET /v1/packs/{uid}", s.getPack)
	handle("GET /v1/packs/{packName}/registries/{registryUid}", s.getPackByName)
	handle("GET /v1/registries/pack", s.listRegistries)
	handle("GET /v1/registries/pack/summary", s.registriesSummary)
	handle("GET /v1/registries/metadata", s.registriesMetadata)
	handle("POST /v1/clusterprofiles", s.createProfile)
	handle("GET /v1/clusterprofiles/{uid}", s.getProfile)
	handle("PUT /v1/clusterprofiles/{uid}", s.updateProfile)
	handle("DELETE /v1/clusterprofiles/{uid}", s.deleteProfile)
	handle("PATCH /v1/clusterprofiles/{uid}/publish", s.publishProfile)
	handle("GET /v1/dashboard/clusterprofiles/metadata", s.profilesMetadata)
	handle("GET /v1/dashboard/clusterprofiles/{uid}", s.getProfile)
	handle("GET /v1/clusterprofiles/{uid}/packs", s.profilePacks)
	handle("GET /v1/clusterprofiles/{uid}/packs/{packName}/manifests", s.profilePackManifests)
	handle("GET /v1/clusterprofiles/{uid}/export", s.exportProfile)
	handle("GET /v1/clusterprofiles/{uid}/variables", s.profileVariables)
	handle("POST /v1/clusterprofiles/import/file", s.importProfile)

	// Clusters.
	handle("POST /v1/spectroclusters/cloudTypes/{cloudType}", s.createCluster)
	handle("POST /v1/spectroclusters/generic/import", s.importCluster)
	handle("GET /v1/spectroclusters/{uid}/import/manifest", s.importManifest)
	handle("GET /v1/spectroclusters/{uid}", s.getCluster)
	handle("DELETE /v1/spectroclusters/{uid}", s.deleteCluster)
	handle("GET /v1/spectroclusters/{uid}/status", s.clusterStatus)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfig", s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/kubeconfigclient", s.clusterKubeconfig)
	handle("GET /v1/spectroclusters/{uid}/assets/adminKubeconfig", s.clusterKubeconfig)
	handle("POST /v1/dashboard/spectroclusters/search", s.searchClusters)
	handle("GET /v1/dashboard/spectroclusters/meta", s.clustersMeta)
	handle("GET /v1/spectroclusters/{uid}/profiles", s.getClusterProfiles)
	handle("PUT /v1/spectroclusters/{uid}/profiles", s.putClusterProfiles)
	handle("PATCH /v1/spectroclusters/{uid}/profiles", s.patchClusterProfiles)
	handle("DELETE /v1/spectroclusters/{uid}/profiles", s.deleteClusterProfiles)
	handle("GET /v1/spectroclusters/{uid}/repave/status", s.repaveStatus)
	handle("PATCH /v1/spectroclusters/{uid}/repave/approve", s.approveRepave)
	handle("GET /v1/spectroclusters/{uid}/k8certificates", s.certificates)
	handle("PATCH /v1/spectroclusters/{uid}/k8certificates/renew", s.renewCertificates)
	handle("GET /v1/dashboard/spectroclusters/{uid}", s.clusterSummary)
	handle("GET /v1/dashboard/spectroclusters/{uid}/overview", s.clusterSummary)
	handle("GET /v1/metrics/{resourceKind}/{uid}/values", s.metricValues)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}", s.getCloudConfig)
	handle("POST /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools", s.createMachinePool)
	handle("PUT /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", s.updateMachinePool)
	handle("DELETE /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}", s.deleteMachinePool)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines", s.listMachines)
	handle("GET /v1/cloudconfigs/cloudTypes/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}", s.getMachine)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines", s.listMachines)
	handle("GET /v1/cloudconfigs/generic/{configUid}/machinePools/{poolName}/machines/{machineUid}", s.getMachine)
	handle("PUT /v1/cloudconfigs/{cloudType}/{configUid}/machinePools/{poolName}/machines/{machineUid}/maintenance", s.putMaintenance)
	handle("POST /v1/dashboard/spectroclusters/{uid}/workloads/{kind}", s.clusterWorkloads)

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
	handle("GET /v1/events/components/{objectKind}/{objectUid}", s.listEvents)

	// Palette operations easel will serve but does not yet: a clear 501 rather than a 404.
	for pattern, what := range map[string]string{
		"POST /v1/spectroclusters/{uid}/features/logFetcher":         "log bundles",
		"GET /v1/spectroclusters/{uid}/features/logFetcher":          "log bundles",
		"GET /v1/spectroclusters/features/logFetcher/{uid}/download": "log bundles",
		"PUT /v1/spectroclusters/{uid}/status/upgrades":              "the agent protocol",
	} {
		handle(pattern, func(http.ResponseWriter, *http.Request, *call) error { return errNotImplemented(what) })
	}
}
