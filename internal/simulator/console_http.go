package simulator

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/offboard/offboard/internal/console"
)

// maxCommandBody bounds a command's JSON body.
const maxCommandBody = 64 << 10

// handleDevice serves GET /api/v1/devices/{serial}: the record as the Devices screen shows it. A
// record being deleted still answers; a deleted one is 404 device-not-found. It honours
// If-None-Match with Prefer: wait (watch.go).
func (s *Simulator) handleDevice(w http.ResponseWriter, r *http.Request) {
	serial := normalizeSerial(r.PathValue("serial"))
	s.serveWatched(w, r, func() answer {
		s.advance()
		d, ok := s.st.Devices[serial]
		if !ok || !d.recordExists() {
			return answer{err: &console.APIError{Status: http.StatusNotFound, Code: console.CodeDeviceNotFound, Message: "no device record with serial " + serial}}
		}
		rec := d.record()
		return answer{body: rec, etag: etagOf(rec)}
	})
}

// handleSendCommand serves POST /api/v1/devices/{serial}/commands.
func (s *Simulator) handleSendCommand(w http.ResponseWriter, r *http.Request) {
	serial := normalizeSerial(r.PathValue("serial"))
	key := r.Header.Get("Idempotency-Key")
	var req console.CommandRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCommandBody+1))
	if err != nil || len(body) > maxCommandBody {
		writeConsoleError(w, http.StatusBadRequest, console.CodeBadRequest, "the body could not be read or is too large")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeConsoleError(w, http.StatusBadRequest, console.CodeBadRequest, "the body is not a command: "+err.Error())
		return
	}
	if e := validateCommand(key, req); e != nil {
		s.mu.Lock()
		s.appendLedger(LedgerEntry{Time: s.advance(), Serial: serial, Source: SourceConsole, Kind: req.Type,
			IdempotencyKey: key, Outcome: OutcomeRefused, Code: e.Code, Detail: e.Message})
		s.changed()
		s.mu.Unlock()
		writeConsoleError(w, e.Status, e.Code, e.Message)
		return
	}
	s.mu.Lock()
	cmd, status, e := s.submitCommand(serial, key, req)
	s.mu.Unlock()
	if e != nil {
		writeConsoleError(w, e.Status, e.Code, e.Message)
		return
	}
	writeJSON(w, status, cmd)
}

// handleCommand serves GET /api/v1/devices/{serial}/commands/{id}, with long polls as handleDevice.
func (s *Simulator) handleCommand(w http.ResponseWriter, r *http.Request) {
	serial := normalizeSerial(r.PathValue("serial"))
	s.serveWatched(w, r, func() answer {
		cmd, e := s.command(serial, r.PathValue("id"))
		if e != nil {
			return answer{err: e}
		}
		return answer{body: cmd, etag: etagOf(cmd)}
	})
}

func writeConsoleError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
