package v1

// MaxAgentMessageBytes is the largest JSON body an agent sends and the hub accepts on the paged
// report routes (1 MiB): a large cluster's report is split into pages below it.
const MaxAgentMessageBytes = 1 << 20

// ReportPage is what every page of a paged agent report carries. The hub holds pages until all
// Pages of ReportID have arrived, then applies them together; a retried page is harmless. A body
// without a ReportID is a whole report in one message.
type ReportPage struct {
	ReportID string `json:"reportId,omitempty"`
	Page     int    `json:"page"`  // 0-based
	Pages    int    `json:"pages"` // how many pages the report has
}
