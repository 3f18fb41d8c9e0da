package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxAdminBody bounds a /sim request body (a seed of many devices fits).
const maxAdminBody = 32 << 20

// adminRoutes registers the /sim API: no authentication, for tests, the demo and operators
// playing the device's user. The process binds it to localhost.
func (s *Simulator) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sim/devices", s.handleAddDevices)
	mux.HandleFunc("GET /sim/devices", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Devices()) })
	mux.HandleFunc("GET /sim/devices/{serial}", s.handleSimDevice)
	mux.HandleFunc("POST /sim/devices/{serial}/check-in", s.handleCheckIn)
	mux.HandleFunc("POST /sim/devices/{serial}/user-action", s.handleUserAction)
	mux.HandleFunc("POST /sim/user-inbox", s.handleUserInbox)
	mux.HandleFunc("GET /sim/ledger", s.handleLedger)
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) })
	mux.HandleFunc("PUT /sim/faults", s.handleSetFaults)
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) })
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /sim/clock", s.handleClock)
	mux.HandleFunc("POST /sim/clock/advance", s.handleAdvanceClock)
	mux.HandleFunc("GET /sim/activities/{id}", s.handleSimActivity)
	mux.HandleFunc("GET /sim/activities/{id}/log", s.handleSimActivity)
	mux.HandleFunc("/sim/", func(w http.ResponseWriter, r *http.Request) {
		writeConsoleError(w, http.StatusNotFound, "not-found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// ErrDeviceExists is returned by AddDevices for a serial the simulator has already.
var ErrDeviceExists = errors.New("device exists already")

func (s *Simulator) handleAddDevices(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r)
	if !ok {
		return
	}
	specs, err := DecodeDeviceSpecs(body)
	if err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", err.Error())
		return
	}
	if err := s.AddDevices(specs...); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrDeviceExists) {
			status = http.StatusConflict
		}
		writeConsoleError(w, status, "bad-request", err.Error())
		return
	}
	out := make([]DeviceState, 0, len(specs))
	for _, spec := range specs {
		if d, ok := s.Device(spec.Serial); ok {
			out = append(out, d)
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Simulator) handleSimDevice(w http.ResponseWriter, r *http.Request) {
	d, ok := s.Device(r.PathValue("serial"))
	if !ok {
		writeConsoleError(w, http.StatusNotFound, "device-not-found", "no device "+r.PathValue("serial"))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Simulator) handleCheckIn(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	if _, ok := s.Device(serial); !ok {
		writeConsoleError(w, http.StatusNotFound, "device-not-found", "no device "+serial)
		return
	}
	if err := s.CheckIn(serial); err != nil {
		writeConsoleError(w, http.StatusConflict, "no-check-in", err.Error())
		return
	}
	s.handleSimDevice(w, r)
}

func (s *Simulator) handleUserAction(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r)
	if !ok {
		return
	}
	var req struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "want {\"action\":\"wipe\"|\"remove-mdm-profile\"}")
		return
	}
	serial := r.PathValue("serial")
	if _, ok := s.Device(serial); !ok {
		writeConsoleError(w, http.StatusNotFound, "device-not-found", "no device "+serial)
		return
	}
	res, err := s.UserAction(serial, req.Action)
	if err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", err.Error())
		return
	}
	status := http.StatusOK
	if res.Outcome == OutcomeRefused {
		status = http.StatusConflict
	}
	writeJSON(w, status, res)
}

// handleUserInbox is the webhook the notifier delivers the device user's messages to. Messages
// not meant for a device's user are acknowledged and ignored, so a notifier never retries them.
func (s *Simulator) handleUserInbox(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r)
	if !ok {
		return
	}
	var msg struct {
		Serial string `json:"serial"`
		Step   string `json:"step"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "the message is not JSON: "+err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, s.Notify(msg.Serial, msg.Step))
}

// handleLedger serves GET /sim/ledger?serial=&kind=&outcome= (every filter optional).
func (s *Simulator) handleLedger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	entries := s.Ledger(q.Get("serial"))
	kind, outcome := q.Get("kind"), q.Get("outcome")
	out := entries[:0]
	for _, e := range entries {
		if (kind == "" || e.Kind == kind) && (outcome == "" || e.Outcome == outcome) {
			out = append(out, e)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r)
	if !ok {
		return
	}
	var f Faults
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "faults: "+err.Error())
		return
	}
	if err := f.validate(); err != nil {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "faults: "+err.Error())
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

func (s *Simulator) handleClock(w http.ResponseWriter, r *http.Request) {
	answer := map[string]any{"now": s.Now()}
	if sc, ok := s.clock.(*ScaledClock); ok {
		answer["timeScale"] = sc.Scale()
	}
	writeJSON(w, http.StatusOK, answer)
}

// handleAdvanceClock serves POST /sim/clock/advance {"by":"4h"}: simulated time jumps forward and
// everything due meanwhile happens, in order.
func (s *Simulator) handleAdvanceClock(w http.ResponseWriter, r *http.Request) {
	body, ok := readAdminBody(w, r)
	if !ok {
		return
	}
	var req struct {
		By Duration `json:"by"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.By <= 0 {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "want {\"by\":\"4h\"}")
		return
	}
	if err := s.AdvanceClock(time.Duration(req.By)); err != nil {
		writeConsoleError(w, http.StatusConflict, "bad-request", err.Error())
		return
	}
	s.handleClock(w, r)
}

func (s *Simulator) handleSimActivity(w http.ResponseWriter, r *http.Request) {
	a, ok := s.Activity(r.PathValue("id"))
	if !ok {
		writeConsoleError(w, http.StatusNotFound, "not-found", "no activity "+r.PathValue("id"))
		return
	}
	if strings.HasSuffix(r.URL.Path, "/log") {
		writeActivityLog(w, &a)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func readAdminBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil || len(body) > maxAdminBody {
		writeConsoleError(w, http.StatusBadRequest, "bad-request", "the body could not be read or is too large")
		return nil, false
	}
	return body, true
}
