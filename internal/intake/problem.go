package intake

import (
	"encoding/json"
	"net/http"
)

// ProblemBase is where the problem types are documented: each type is an anchor of docs/intake.md.
const ProblemBase = "https://github.com/offboard/offboard/blob/main/docs/intake.md#"

// Problem types (RFC 9457), one per way a request fails.
const (
	TypeInvalidRequest   = ProblemBase + "invalid-request"
	TypeUnauthorized     = ProblemBase + "unauthorized"
	TypeForbidden        = ProblemBase + "forbidden"
	TypeConflict         = ProblemBase + "conflict"
	TypeNotFound         = ProblemBase + "not-found"
	TypeMethodNotAllowed = ProblemBase + "method-not-allowed"
	TypeUnsupportedMedia = ProblemBase + "unsupported-media-type"
	TypeTooLarge         = ProblemBase + "payload-too-large"
	TypeUnavailable      = ProblemBase + "temporal-unavailable"
	TypeInternal         = ProblemBase + "internal"
)

// ProblemContentType is the media type of every error answer.
const ProblemContentType = "application/problem+json"

// Param is one field of a request and why it is refused (or why it differs from the running
// request's, in a conflict).
type Param struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Problem is an error answer, application/problem+json (RFC 9457), with Offboard's extension
// members.
type Problem struct {
	Type          string  `json:"type"`
	Title         string  `json:"title"`
	Status        int     `json:"status"`
	Detail        string  `json:"detail,omitempty"`
	Instance      string  `json:"instance,omitempty"`
	InvalidParams []Param `json:"invalid-params,omitempty"`
	// Serial, WorkflowID, RunID and Path name the device and, in a conflict, its running (or
	// completed) workflow and that request's path. StatusURL is where to follow it.
	Serial     string  `json:"serial,omitempty"`
	WorkflowID string  `json:"workflowId,omitempty"`
	RunID      string  `json:"runId,omitempty"`
	Path       string  `json:"path,omitempty"`
	State      string  `json:"state,omitempty"`
	StatusURL  string  `json:"statusUrl,omitempty"`
	Conflicts  []Param `json:"conflicts,omitempty"`

	header http.Header // extra response headers (WWW-Authenticate, Allow)
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

func problem(status int, typ, title, detail string) *Problem {
	return &Problem{Type: typ, Title: title, Status: status, Detail: detail}
}

func (p *Problem) withHeader(k, v string) *Problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(k, v)
	return p
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	for k, vs := range p.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	writeJSON(w, p.Status, ProblemContentType, p)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, contentType = http.StatusInternalServerError, ProblemContentType
		b, _ = json.Marshal(problem(status, TypeInternal, "Internal error", "the answer could not be encoded"))
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
