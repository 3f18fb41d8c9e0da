package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/offboard/offboard/internal/applebusiness"
)

// Activation Lock as Apple Business Manager sees it. A device is NONE unless its spec says USER
// (its user left a personal Apple Account signed in with Find My: user-linked) or MDM (the MDM
// turned organisation-linked Activation Lock on). Erasing the device changes neither: Activation
// Lock "works even if you've erased the device remotely" (support.apple.com/guide/deployment,
// "Manage Activation Lock with a device management service"), which is the point: a wiped device
// still locked to a personal Apple Account cannot be set up again. The organisation turns either
// off in Apple Business Manager (support.apple.com/guide/business/axm812df1dd8, "Turn off
// Activation Lock in Apple Business"): POST /sim/devices/{serial}/activation-lock/turn-off stands
// for that person's action. Nothing of the /v1 API turns it off.

// KindActivationLockOff is the ledger's entry for Activation Lock turned off in Apple Business
// Manager (Source apple).
const KindActivationLockOff = "activation-lock-turned-off"

// activationLockOf is a spec's lock as the state keeps it: "" for none.
func activationLockOf(spec string) string {
	if l := strings.ToUpper(strings.TrimSpace(spec)); l != applebusiness.LockTypeNone {
		return l
	}
	return ""
}

func validActivationLock(serial, lock string) error {
	switch activationLockOf(lock) {
	case "", applebusiness.LockTypeUser, applebusiness.LockTypeMDM:
		return nil
	}
	return fmt.Errorf("device %s: activationLock %q: want NONE, USER or MDM", serial, lock)
}

// handleActivationLock serves GET /v1/orgDevices/{serial}/activationLockStatus as Apple
// documents it (developer.apple.com/documentation/applebusinessapi/get-the-activation-lock-status-information-for-an-orgdevice).
// It counts against the organisation's GET budget like every other GET (serveAPI).
func (s *Simulator) handleActivationLock(w http.ResponseWriter, r *http.Request) {
	serial := normalizeSerial(r.PathValue("serial"))
	s.mu.Lock()
	s.advance()
	d, ok := s.st.Devices[serial]
	known, lock := ok && d.InAppleBusiness, ""
	if known {
		lock = d.ActivationLock
	}
	s.mu.Unlock()
	if !known {
		writeAppleError(w, http.StatusNotFound, appleNotFound, "The specified resource does not exist",
			fmt.Sprintf("There is no resource of type 'orgDevices' with id '%s'", serial))
		return
	}
	typ := lock
	if typ == "" {
		typ = applebusiness.LockTypeNone
	}
	self := baseURL(r) + "/v1/orgDevices/" + serial + "/activationLockStatus"
	writeJSON(w, http.StatusOK, map[string]any{
		"data": map[string]any{"type": "activationLockStatus", "id": serial,
			"attributes": map[string]any{"isLocked": lock != "", "lockType": typ}},
		"links": map[string]string{"self": self},
	})
}

// SetActivationLock sets a device's Activation Lock: NONE, USER or MDM (a test's knob: the user
// signs in to Find My, or the MDM turns the organisation lock on, after the device was added).
func (s *Simulator) SetActivationLock(serial, lock string) error {
	serial = normalizeSerial(serial)
	if err := validActivationLock(serial, lock); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	d, ok := s.st.Devices[serial]
	if !ok {
		return fmt.Errorf("no device %s", serial)
	}
	d.ActivationLock = activationLockOf(lock)
	s.changed()
	return nil
}

// TurnOffActivationLock is the organisation's action in Apple Business Manager: it clears a USER
// or MDM lock of a device Apple knows in the organisation, and says what it cleared.
func (s *Simulator) TurnOffActivationLock(serial, by string) (string, error) {
	serial = normalizeSerial(serial)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.advance()
	d, ok := s.st.Devices[serial]
	switch {
	case !ok:
		return "", fmt.Errorf("no device %s", serial)
	case !d.InAppleBusiness:
		return "", fmt.Errorf("device %s is not in Apple Business Manager: its Activation Lock cannot be turned off there", serial)
	}
	was := d.ActivationLock
	d.ActivationLock = ""
	if was != "" {
		detail := "Activation Lock (" + was + ") turned off in Apple Business Manager"
		if by != "" {
			detail += " by " + by
		}
		s.appendLedger(LedgerEntry{Time: now, Serial: serial, Source: SourceApple, Kind: KindActivationLockOff, Outcome: OutcomeApplied, Detail: detail})
	}
	s.changed()
	return was, nil
}

// activationLockAdminRoutes registers the /sim routes of Activation Lock.
func (s *Simulator) activationLockAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sim/devices/{serial}/activation-lock/turn-off", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			By string `json:"by"`
		}
		if body, ok := readAdminBody(w, r); !ok {
			return
		} else if len(body) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				writeConsoleError(w, http.StatusBadRequest, "bad-request", `want {"by": "<who turned it off>"} or no body`)
				return
			}
		}
		was, err := s.TurnOffActivationLock(r.PathValue("serial"), req.By)
		if err != nil {
			writeConsoleError(w, http.StatusNotFound, "device-not-found", err.Error())
			return
		}
		if was == "" {
			was = applebusiness.LockTypeNone
		}
		writeJSON(w, http.StatusOK, map[string]string{"serial": normalizeSerial(r.PathValue("serial")), "was": was, "lockType": applebusiness.LockTypeNone})
	})
	mux.HandleFunc("PUT /sim/devices/{serial}/activation-lock", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readAdminBody(w, r)
		if !ok {
			return
		}
		var req struct {
			LockType string `json:"lockType"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeConsoleError(w, http.StatusBadRequest, "bad-request", `want {"lockType": "NONE" | "USER" | "MDM"}`)
			return
		}
		if err := s.SetActivationLock(r.PathValue("serial"), req.LockType); err != nil {
			writeConsoleError(w, http.StatusBadRequest, "bad-request", err.Error())
			return
		}
		s.handleSimDevice(w, r)
	})
}
