package v1

import "time"

// Limits on every size a client controls. They are part of the API contract: a request that
// crosses one is refused with the status docs/api.md gives for it (400, 413 or 429) and a message
// that names the limit, so that one agent token or one cluster admin can never make the hub hold,
// store or scan without bound. MaxAgentMessageBytes (reports.go) is one of them too.
const (
	// MaxRequestBodyBytes is the largest request body the hub reads on any route (413 beyond).
	MaxRequestBodyBytes = 4 << 20

	// MaxReportPages is the most pages one paged agent report may have (400 beyond). The agent's
	// benchmark sends a full workload report of 150,000 pods in 184 pages of half
	// MaxAgentMessageBytes; 1,000 pages leave five times that room.
	MaxReportPages = 1000
	// MaxReportsInFlight is how many paged reports (of every kind together) a cluster may have
	// partly sent at once. An agent sends one report of each kind at a time (nodes, usage,
	// workloads), so four leave room for one that it abandoned. A page that would start another is
	// refused with 429 once the unfinished ones are still being sent; one that has had no page for
	// a minute is dropped to make room instead.
	MaxReportsInFlight = 4
	// MaxReportedNodes is the most nodes one node or usage report may list (400 beyond):
	// Kubernetes' own largest supported cluster (5,000 nodes).
	MaxReportedNodes = 5000
	// MaxNodeNameLength is the longest node name a report may carry (a DNS subdomain, as
	// Kubernetes names nodes).
	MaxNodeNameLength = 253
	// MaxAgentConditions is how many condition types an agent may set on its cluster (400 for a
	// report that would add more). Conditions it set before are updated as usual.
	MaxAgentConditions = 32
	// MaxReportedPacks is the most packs one pack report may list (400 beyond): the packs of a
	// cluster's profiles and those it removed.
	MaxReportedPacks = 256
	// MaxReportedServices is the most application services one services report may list.
	MaxReportedServices = 10000

	// MaxPoolsPerCluster is the most machine pools a cluster may have (400 beyond).
	MaxPoolsPerCluster = 16
	// MaxMachinesPerCluster is the most machines a cluster's pools may ask for together, and so
	// the largest pool (400 beyond). The provider's own capacity (the local provider's
	// --local-vcpu-limit) is checked as well, before any machine is recorded.
	MaxMachinesPerCluster = 1000

	// MaxLabels is the most labels one object (cluster, profile, machine pool) may carry.
	MaxLabels = 64
	// MaxLabelKeyPrefixLength and MaxLabelNameLength bound a label or annotation key
	// "prefix/name" as Kubernetes does: a DNS subdomain prefix and a name of at most 63
	// characters.
	MaxLabelKeyPrefixLength = 253
	MaxLabelNameLength      = 63
	// MaxLabelValueLength is the longest label value, as in Kubernetes.
	MaxLabelValueLength = 63
	// MaxAnnotations is the most annotations one object may carry.
	MaxAnnotations = 64
	// MaxAnnotationBytes bounds the keys and values of one object's annotations together, as
	// Kubernetes does (256 KiB).
	MaxAnnotationBytes = 256 << 10

	// MaxFilterValues is the most values one search or list filter may give, over all of its
	// conditions (400 beyond).
	MaxFilterValues = 100
	// MaxFilterValueLength is the longest value a filter may give (a DNS subdomain; every name a
	// filter matches is shorter).
	MaxFilterValueLength = 253

	// MaxListLimit is the largest page a list operation serves (400 beyond).
	MaxListLimit = 1000
	// MaxListOffset is the largest offset (or continue token) a list operation accepts (400
	// beyond). It is far above the longest list a real cluster makes (the agent's benchmark
	// cluster has 150,000 pods), so paging reaches every item, and offset+limit never overflows.
	MaxListOffset = 1_000_000

	// MaxEmailBytes and MaxPasswordBytes bound what a login may send (400 beyond): an email
	// address is at most 254 bytes, and bcrypt reads at most 72 bytes of a password. The login
	// throttle remembers emails, so this bounds its memory too.
	MaxEmailBytes    = 254
	MaxPasswordBytes = 1024
	// MaxTokensPerRevoke is how many tokens one POST /v1/users/auth/tokens/revoke may name.
	MaxTokensPerRevoke = 100
)

// Limits on troubleshooting requests (log bundles and doctor runs).
const (
	// MaxLogBundleBytes is the largest log bundle an agent may upload (413 beyond). The agent keeps
	// its bundle under it with MaxLogItemBytes and MaxLogBundleUncompressedBytes.
	MaxLogBundleBytes = 256 << 20
	// MaxLogItemBytes is the most the agent takes of one container's or one node file's log (its
	// newest part); MaxLogBundleUncompressedBytes the most of all items together, after which the
	// rest are listed in errors.txt as skipped.
	MaxLogItemBytes               = 8 << 20
	MaxLogBundleUncompressedBytes = 1 << 30
	// MaxLogLines is the most lines of each log a request may ask for (noOfLines; also the
	// default), MaxLogDuration how far back (duration).
	MaxLogLines    = 10000
	MaxLogDuration = 24 * time.Hour
	// MaxLogRequestItems is the most namespaces, label selectors or node log files one request
	// may name, each.
	MaxLogRequestItems = 32
	// MaxDoctorNodes is the most nodes one doctor request may name (none means all).
	MaxDoctorNodes = 100
	// MaxOpenRequests is how many log bundles, and how many doctor runs, a cluster may have open
	// at once (429 beyond, naming the open ones).
	MaxOpenRequests = 2
	// LogBundlesKept is how many bundles a cluster keeps; older ones, and any older than
	// LogBundleRetention, are deleted.
	LogBundlesKept     = 10
	LogBundleRetention = 7 * 24 * time.Hour
	// RequestTimeout is how long the hub waits for the agent to finish a request: a log bundle it
	// has not received by then is completed with the hub's part alone, a doctor run fails.
	RequestTimeout = 15 * time.Minute
)

// Limits on logins and credentials.
const (
	// LoginFailuresPerAccount is how many failed logins an account may have within LoginWindow;
	// past it, its logins are refused with 429 and Retry-After, before any password is checked,
	// until the oldest failure leaves the window. Each hub process counts its own.
	LoginFailuresPerAccount = 5
	// LoginFailuresPerAddress is the same for one client address, whatever accounts it tries.
	LoginFailuresPerAddress = 20
	LoginWindow             = 15 * time.Minute
	// MaxSelfIssuedKeyLifetime is the longest a user who is not a tenant admin may make their own
	// API key live (400 beyond; a key they create without an expiry gets it). Only a tenant admin
	// extends a key (403).
	MaxSelfIssuedKeyLifetime = 90 * 24 * time.Hour
)
