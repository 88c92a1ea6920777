package v1

// Event severities.
const (
	SeverityInfo    = "Info"
	SeverityWarning = "Warning"
	SeverityError   = "Error"
)

// EventSource names the component that emitted an event.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}

// Event is one entry of an object's event stream.
type Event struct {
	Metadata       ObjectMeta       `json:"metadata"`
	InvolvedObject ObjectReference  `json:"involvedObject"`
	RelatedObject  *ObjectReference `json:"relatedObject,omitempty"`
	Reason         string           `json:"reason"`
	Message        string           `json:"message"`
	Severity       string           `json:"severity"`
	Source         EventSource      `json:"source"`
}

// Events is one page of an event stream, newest first.
type Events struct {
	Items    []Event  `json:"items"`
	Listmeta ListMeta `json:"listmeta"`
}
