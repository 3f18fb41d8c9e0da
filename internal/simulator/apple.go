package simulator

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
)

// MaxActivityDevices is how many devices one activity may name. Apple documents no maximum
// (developer.apple.com, "Assign or Unassign Devices to a Device Management Service or Release
// Devices"); the simulator, like the client, takes 1,000.
const MaxActivityDevices = applebusiness.MaxActivityDevices

const activityAssignDevices = "ASSIGN_DEVICES"

// Apple error codes the simulator answers with. NOT_FOUND and NOT_AUTHORIZED are Apple's; the
// codes of malformed requests follow Apple's other JSON:API services.
const (
	appleNotFound         = "NOT_FOUND"
	appleNotAuthorized    = "NOT_AUTHORIZED"
	appleParameterInvalid = "PARAMETER_ERROR.INVALID"
	appleAttrInvalid      = "ENTITY_ERROR.ATTRIBUTE.INVALID"
	appleRelInvalid       = "ENTITY_ERROR.RELATIONSHIP.INVALID"
)

// OrgDeviceActivity is an Apple Business activity with what it did to each device.
type OrgDeviceActivity struct {
	ID           string           `json:"id"`
	ActivityType string           `json:"activityType"`
	ServerID     string           `json:"mdmServerId"`
	Serials      []string         `json:"serials"`
	Status       string           `json:"status"`
	SubStatus    string           `json:"subStatus"`
	CreatedAt    time.Time        `json:"createdDateTime"`
	CompleteAt   time.Time        `json:"completeAt"` // when it will complete (simulated time)
	CompletedAt  *time.Time       `json:"completedDateTime,omitempty"`
	Results      []ActivityResult `json:"results,omitempty"`
}

// ActivityResult is the outcome of an activity for one device, a line of its log.
type ActivityResult struct {
	Serial string `json:"serialNumber"`
	Status string `json:"status"` // SUCCESS or FAILED
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (a *OrgDeviceActivity) final() bool { return a.Status != applebusiness.ActivityInProgress }

type resourceID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// handleAssignedServer serves GET /v1/orgDevices/{serial}/relationships/assignedServer.
func (s *Simulator) handleAssignedServer(w http.ResponseWriter, r *http.Request) {
	serial := normalizeSerial(r.PathValue("serial"))
	s.mu.Lock()
	s.advance()
	d, ok := s.st.Devices[serial]
	known, server := ok && d.InAppleBusiness, ""
	if known {
		server = d.AssignedServer
	}
	s.mu.Unlock()
	if !known {
		writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist",
			fmt.Sprintf("There is no resource of type 'orgDevices' with id '%s'", serial))
		return
	}
	base := baseURL(r) + "/v1/orgDevices/" + serial
	var data any // JSON null when unassigned
	if server != "" {
		data = resourceID{Type: "mdmServers", ID: server}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":  data,
		"links": map[string]string{"self": base + "/relationships/assignedServer", "related": base + "/assignedServer"},
	})
}

// Paging of GET /v1/mdmServers/{id}/relationships/devices: Apple's limit parameter has a maximum
// of 1000 (developer.apple.com, "Get the Device Serial Numbers for a Device Management Service");
// without it Apple's lists answer pages of 100.
const (
	DefaultDevicesPageLimit = 100
	MaxDevicesPageLimit     = 1000
	cursorPrefix            = "after:"
)

// handleServerDevices serves GET /v1/mdmServers/{id}/relationships/devices: the serials of the
// devices assigned to an MDM server, in serial order, a page at a time (limit, cursor). The
// cursor names the last serial of the page before, so devices assigned or unassigned between
// pages neither repeat nor shift the others.
func (s *Simulator) handleServerDevices(w http.ResponseWriter, r *http.Request) {
	server := r.PathValue("id")
	q := r.URL.Query()
	limit := DefaultDevicesPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDevicesPageLimit {
			writeAppleError(w, http.StatusBadRequest, appleParameterInvalid, "A parameter has an invalid value",
				fmt.Sprintf("limit %q: want a number from 1 to %d", v, MaxDevicesPageLimit))
			return
		}
		limit = n
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
			writeAppleError(w, http.StatusBadRequest, appleParameterInvalid, "A parameter has an invalid value",
				"cursor: not a cursor this API answered (take meta.paging.nextCursor or links.next)")
			return
		}
		after = strings.TrimPrefix(string(b), cursorPrefix)
	}
	s.mu.Lock()
	s.advance()
	known := s.knownServer(server)
	var serials []string
	for _, d := range s.st.Devices {
		if d.InAppleBusiness && d.AssignedServer == server {
			serials = append(serials, d.Serial)
		}
	}
	s.mu.Unlock()
	if !known {
		writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist",
			fmt.Sprintf("There is no resource of type 'mdmServers' with id '%s'", server))
		return
	}
	slices.Sort(serials)
	start, _ := slices.BinarySearch(serials, after)
	if start < len(serials) && after != "" && serials[start] == after {
		start++
	}
	end := min(start+limit, len(serials))
	data := make([]resourceID, 0, end-start)
	for _, serial := range serials[start:end] {
		data = append(data, resourceID{Type: "orgDevices", ID: serial})
	}
	base := baseURL(r) + "/v1/mdmServers/" + url.PathEscape(server)
	self := base + "/relationships/devices"
	links := map[string]string{"self": self, "related": base + "/devices"}
	if r.URL.RawQuery != "" {
		links["self"] = self + "?" + r.URL.RawQuery
	}
	paging := map[string]any{"limit": limit, "total": len(serials)}
	if end < len(serials) {
		cursor := base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + serials[end-1]))
		paging["nextCursor"] = cursor
		links["next"] = self + "?" + url.Values{"cursor": {cursor}, "limit": {strconv.Itoa(limit)}}.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links, "meta": map[string]any{"paging": paging}})
}

// handleCreateActivity serves POST /v1/orgDeviceActivities. Like Apple's, it is not idempotent:
// every accepted POST is a new activity.
func (s *Simulator) handleCreateActivity(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				ActivityType string `json:"activityType"`
			} `json:"attributes"`
			Relationships struct {
				MDMServer struct {
					Data *resourceID `json:"data"`
				} `json:"mdmServer"`
				Devices struct {
					Data []resourceID `json:"data"`
				} `json:"devices"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeAppleError(w, http.StatusBadRequest, appleParameterInvalid, "The request body is invalid", "not a JSON:API document: "+err.Error())
		return
	}
	data, rel := body.Data, body.Data.Relationships
	typ := data.Attributes.ActivityType
	var serials []string
	for _, dev := range rel.Devices.Data {
		if dev.Type != "orgDevices" || dev.ID == "" {
			writeAppleError(w, http.StatusBadRequest, appleRelInvalid, "A relationship is invalid", "devices must be orgDevices with ids")
			return
		}
		if serial := normalizeSerial(dev.ID); !slices.Contains(serials, serial) {
			serials = append(serials, serial)
		}
	}
	switch {
	case data.Type != "orgDeviceActivities":
		writeAppleError(w, http.StatusBadRequest, appleAttrInvalid, "The resource type is invalid", "data.type must be orgDeviceActivities")
	case typ != applebusiness.ActivityUnassignDevices && typ != activityAssignDevices:
		writeAppleError(w, http.StatusBadRequest, appleAttrInvalid, "An attribute value is invalid",
			fmt.Sprintf("activityType %q: the simulator supports UNASSIGN_DEVICES and ASSIGN_DEVICES", typ))
	case rel.MDMServer.Data == nil || rel.MDMServer.Data.Type != "mdmServers" || rel.MDMServer.Data.ID == "":
		writeAppleError(w, http.StatusBadRequest, appleRelInvalid, "A relationship is invalid", "mdmServer must name an mdmServers resource")
	case len(serials) == 0:
		writeAppleError(w, http.StatusBadRequest, appleRelInvalid, "A relationship is invalid", "devices must name at least one device")
	case len(serials) > MaxActivityDevices:
		writeAppleError(w, http.StatusBadRequest, appleRelInvalid, "A relationship is invalid",
			fmt.Sprintf("an activity takes at most %d devices, got %d", MaxActivityDevices, len(serials)))
	default:
		s.mu.Lock()
		a, ok := s.createActivity(typ, rel.MDMServer.Data.ID, serials)
		var doc any
		if ok {
			doc = activityDocument(r, a, s.st.SimNow, s.cfg.ActivityDelay)
		}
		s.mu.Unlock()
		if !ok {
			writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist",
				fmt.Sprintf("There is no resource of type 'mdmServers' with id '%s'", rel.MDMServer.Data.ID))
			return
		}
		writeJSON(w, http.StatusCreated, doc)
	}
}

// createActivity records a new activity; ok is false when Apple knows no such MDM server. The
// caller holds s.mu.
func (s *Simulator) createActivity(typ, server string, serials []string) (*OrgDeviceActivity, bool) {
	now := s.advance()
	if !s.knownServer(server) {
		return nil, false
	}
	a := &OrgDeviceActivity{ID: newUUID(), ActivityType: typ, ServerID: server, Serials: serials,
		Status: applebusiness.ActivityInProgress, SubStatus: applebusiness.SubStatusSubmitted,
		CreatedAt: now, CompleteAt: now.Add(s.cfg.ActivityDelay)}
	s.st.Activities[a.ID] = a
	s.schedule(event{at: a.CompleteAt, kind: evActivityDone, id: a.ID})
	for _, serial := range serials {
		s.appendLedger(LedgerEntry{Time: now, Serial: serial, Source: SourceApple, Kind: typ, ActivityID: a.ID,
			Outcome: OutcomeAccepted, Detail: "MDM server " + server})
	}
	s.changed()
	return a, true
}

func (s *Simulator) knownServer(id string) bool {
	if id == s.cfg.AppleServerID {
		return true
	}
	for _, d := range s.st.Devices {
		if d.AssignedServer == id {
			return true
		}
	}
	return false
}

// completeActivity applies an activity to each of its devices. A device Apple does not know, or
// (to unassign) not assigned to the activity's server, fails; the others succeed.
func (s *Simulator) completeActivity(a *OrgDeviceActivity, at time.Time) {
	failed := 0
	for _, serial := range a.Serials {
		res := ActivityResult{Serial: serial, Status: "SUCCESS"}
		d, ok := s.st.Devices[serial]
		switch {
		case !ok || !d.InAppleBusiness:
			res.Status, res.Code, res.Detail = "FAILED", appleNotFound, "the device is not in this organization"
		case a.ActivityType == activityAssignDevices:
			d.AssignedServer = a.ServerID
			res.Detail = "assigned to MDM server " + a.ServerID
		case d.AssignedServer != a.ServerID:
			res.Status, res.Code = "FAILED", "NOT_ASSIGNED_TO_SERVER"
			res.Detail = "the device is not assigned to MDM server " + a.ServerID
			if d.AssignedServer != "" {
				res.Detail += " (it is assigned to " + d.AssignedServer + ")"
			}
		default:
			d.AssignedServer = ""
			res.Detail = "unassigned from MDM server " + a.ServerID
		}
		entry := LedgerEntry{Time: at, Serial: serial, Source: SourceApple, Kind: a.ActivityType, ActivityID: a.ID,
			Outcome: OutcomeApplied, Detail: res.Detail}
		if res.Status != "SUCCESS" {
			failed++
			entry.Outcome, entry.Code = OutcomeFailed, res.Code
		}
		s.appendLedger(entry)
		a.Results = append(a.Results, res)
	}
	a.CompletedAt = timePtr(at)
	switch {
	case failed == 0:
		a.Status, a.SubStatus = applebusiness.ActivityCompleted, applebusiness.SubStatusCompletedWithSuccess
	case failed == len(a.Serials):
		a.Status, a.SubStatus = applebusiness.ActivityFailed, applebusiness.SubStatusCompletedWithFailure
	default:
		a.Status, a.SubStatus = applebusiness.ActivityCompleted, applebusiness.SubStatusCompletedWithFailure
	}
}

// handleActivity serves GET /v1/orgDeviceActivities/{id}.
func (s *Simulator) handleActivity(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	now := s.advance()
	a, ok := s.st.Activities[id]
	var doc any
	if ok {
		doc = activityDocument(r, a, now, s.cfg.ActivityDelay)
	}
	s.mu.Unlock()
	if !ok {
		writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist",
			fmt.Sprintf("There is no resource of type 'orgDeviceActivities' with id '%s'", id))
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// activityDocument renders an activity as Apple does. While in progress, the sub-status moves
// from SUBMITTED to PROCESSING halfway; downloadUrl (the log) comes with COMPLETED.
func activityDocument(r *http.Request, a *OrgDeviceActivity, now time.Time, delay time.Duration) map[string]any {
	attrs := map[string]any{
		"status":          a.Status,
		"subStatus":       a.SubStatus,
		"createdDateTime": appleTime(a.CreatedAt),
	}
	if !a.final() && !now.Before(a.CreatedAt.Add(delay/2)) {
		attrs["subStatus"] = applebusiness.SubStatusProcessing
	}
	if a.CompletedAt != nil {
		attrs["completedDateTime"] = appleTime(*a.CompletedAt)
	}
	if a.Status == applebusiness.ActivityCompleted {
		attrs["downloadUrl"] = baseURL(r) + "/sim/activities/" + a.ID + "/log"
	}
	self := baseURL(r) + "/v1/orgDeviceActivities/" + a.ID
	return map[string]any{
		"data":  map[string]any{"type": "orgDeviceActivities", "id": a.ID, "attributes": attrs, "links": map[string]string{"self": self}},
		"links": map[string]string{"self": self},
	}
}

// writeActivityLog writes an activity's per-device results as CSV, what downloadUrl serves.
func writeActivityLog(w http.ResponseWriter, a *OrgDeviceActivity) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"serialNumber", "status", "code", "detail"})
	for _, res := range a.Results {
		_ = cw.Write([]string{res.Serial, res.Status, res.Code, res.Detail})
	}
	cw.Flush()
}

// appleTime formats like Apple's API: UTC with milliseconds.
func appleTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func writeAppleError(w http.ResponseWriter, status int, code, title, detail string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{
		"id": newUUID(), "status": strconv.Itoa(status), "code": code, "title": title, "detail": detail,
	}}})
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *OrgDeviceActivity) clone() OrgDeviceActivity {
	c := *a
	c.Serials = slices.Clone(a.Serials)
	c.Results = slices.Clone(a.Results)
	if a.CompletedAt != nil {
		c.CompletedAt = timePtr(*a.CompletedAt)
	}
	return c
}

// Activity returns an Apple activity with its per-device results.
func (s *Simulator) Activity(id string) (OrgDeviceActivity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	a, ok := s.st.Activities[id]
	if !ok {
		return OrgDeviceActivity{}, false
	}
	return a.clone(), true
}
