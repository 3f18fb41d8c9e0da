package simulator

import (
	"fmt"
	"net/http"
	"time"

	"github.com/offboard/offboard/internal/console"
)

// storedCommand is a console command with the request that made it, as the state file keeps it.
type storedCommand struct {
	console.Command
	Request console.CommandRequest `json:"request"`
}

// queuedTypes wait for the device's next check-in; the others act at once.
var queuedTypes = map[string]bool{
	console.CmdRemoveProfile:   true,
	console.CmdEraseDevice:     true,
	console.CmdDisableLostMode: true,
}

var knownTypes = map[string]bool{
	console.CmdRemoveProfile: true, console.CmdEraseDevice: true, console.CmdDisableLostMode: true,
	console.CmdDeleteDevice: true, console.CmdPurgeDevice: true, console.CmdRemoveCertificates: true,
	console.CmdRefreshLicenseCounts: true, console.CmdRevokeVPPLicenses: true,
}

// needsYES are the commands CLOMO PANEL confirms with a typed "YES".
var needsYES = map[string]bool{console.CmdEraseDevice: true, console.CmdDeleteDevice: true, console.CmdPurgeDevice: true}

func apiErr(status int, code, format string, args ...any) *console.APIError {
	return &console.APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// validateCommand checks what can be checked without the model: the key and the body.
func validateCommand(key string, req console.CommandRequest) *console.APIError {
	switch {
	case key == "":
		return apiErr(http.StatusBadRequest, console.CodeBadRequest, "the Idempotency-Key header is required")
	case len(key) > console.MaxIdempotencyKey:
		return apiErr(http.StatusBadRequest, console.CodeBadRequest, "the Idempotency-Key is longer than %d characters", console.MaxIdempotencyKey)
	case !knownTypes[req.Type]:
		return apiErr(http.StatusBadRequest, console.CodeBadRequest, "unknown command type %q", req.Type)
	case needsYES[req.Type] && req.Confirmation != "YES":
		return apiErr(http.StatusBadRequest, console.CodeBadRequest, "%s needs the typed confirmation \"YES\"", req.Type)
	}
	return nil
}

// submitCommand carries out POST /api/v1/devices/{serial}/commands on a valid request: a replay
// answers the original command (200), a fresh command is stored and answered (202), a refusal is
// neither stored nor remembered under its key. Every outcome is in the ledger. The caller holds s.mu.
func (s *Simulator) submitCommand(serial, key string, req console.CommandRequest) (console.Command, int, *console.APIError) {
	now := s.advance()
	entry := LedgerEntry{Time: now, Serial: serial, Source: SourceConsole, Kind: req.Type, IdempotencyKey: key}
	refuse := func(e *console.APIError) (console.Command, int, *console.APIError) {
		entry.Outcome, entry.Code, entry.Detail = OutcomeRefused, e.Code, e.Message
		s.appendLedger(entry)
		s.changed()
		return console.Command{}, e.Status, e
	}

	if id, ok := s.st.IdempotencyKeys[key]; ok {
		orig := s.st.Commands[id]
		if orig.Serial != serial || orig.Type != req.Type {
			return refuse(apiErr(http.StatusConflict, console.CodeIdempotencyConflict,
				"the Idempotency-Key was used for %s of device %s", orig.Type, orig.Serial))
		}
		entry.Outcome, entry.CommandID = OutcomeReplayed, orig.ID
		s.appendLedger(entry)
		s.changed()
		out := orig.Command
		out.Replayed = true
		return out, http.StatusOK, nil
	}

	d, ok := s.st.Devices[serial]
	if !ok || !d.recordExists() {
		return refuse(apiErr(http.StatusNotFound, console.CodeDeviceNotFound, "no device record with serial %s", serial))
	}
	if e := refusal(d, req.Type); e != nil {
		return refuse(e)
	}

	s.st.NextCommand++
	c := &storedCommand{
		Command: console.Command{ID: fmt.Sprintf("c-%06d", s.st.NextCommand), Serial: serial, Type: req.Type,
			Status: console.CommandQueued, IdempotencyKey: key, CreatedAt: now},
		Request: req,
	}
	s.st.Commands[c.ID] = c
	s.st.IdempotencyKeys[key] = c.ID
	d.CommandIDs = append(d.CommandIDs, c.ID)
	entry.Outcome, entry.CommandID = OutcomeAccepted, c.ID
	if queuedTypes[req.Type] {
		entry.Detail = "queued until the device's next check-in"
	} else {
		entry.Detail, entry.Hazard = s.runNow(d, req, now)
		c.Status, c.CompletedAt = console.CommandCompleted, timePtr(now)
	}
	s.appendLedger(entry)
	s.changed()
	return c.Command, http.StatusAccepted, nil
}

// refusal is the 409 a command meets on this record, in the order the console checks.
func refusal(d *DeviceState, typ string) *console.APIError {
	switch typ {
	case console.CmdRemoveProfile, console.CmdEraseDevice, console.CmdDisableLostMode:
		if d.RecordStatus != StatusManaged {
			return apiErr(http.StatusConflict, console.CodeNotManaged, "device %s is greyed-out (取消線): %s needs a managed device", d.Serial, typ)
		}
	case console.CmdDeleteDevice:
		if d.RecordStatus != StatusManaged {
			return apiErr(http.StatusConflict, console.CodeNotManaged,
				"device %s is greyed-out (取消線): delete it with デバイスの情報を完全に削除 (purge-device)", d.Serial)
		}
		if d.WorkSmart {
			return workSmartRefusal(d)
		}
	case console.CmdPurgeDevice:
		switch {
		case d.RecordStatus != StatusGreyedOut:
			return apiErr(http.StatusConflict, console.CodeNotGreyedOut, "device %s is still managed (管理中)", d.Serial)
		case d.WorkSmart:
			return workSmartRefusal(d)
		case d.Certificates > 0:
			return apiErr(http.StatusConflict, console.CodeCertificatesRemain, "証明書が残っているため削除できません (device %s: %d certificates)", d.Serial, d.Certificates)
		case d.VPPLicenses > 0:
			return apiErr(http.StatusConflict, console.CodeVPPLicenseRemains,
				"VPPアプリケーションライセンス (デバイス向け)が付与されているため完全に削除できません (device %s: %d licenses)", d.Serial, d.VPPLicenses)
		}
	}
	return nil
}

func workSmartRefusal(d *DeviceState) *console.APIError {
	return apiErr(http.StatusConflict, console.CodeWorkSmart,
		"device %s is under a Work Smart configuration (ワーク・スマート構成) and cannot be deleted from the console", d.Serial)
}

// runNow applies a command that acts at once and says what it did, and the hazard if any.
func (s *Simulator) runNow(d *DeviceState, req console.CommandRequest, now time.Time) (detail, hazard string) {
	switch req.Type {
	case console.CmdDeleteDevice:
		detail = "the record will disappear from the Devices list after a while"
		if d.LostMode {
			// CLOMO PANEL allows it; the device can then never leave lost mode.
			d.LostModeStuck = true
			hazard = HazardDeletedInLostMode
			detail += "; deleted while lost mode (紛失モード) was on: lost mode can no longer be turned off"
		}
		s.startDelete(d, now)
	case console.CmdPurgeDevice:
		detail = "the record will disappear from the Devices list after a while"
		s.startDelete(d, now)
	case console.CmdRemoveCertificates:
		detail = fmt.Sprintf("revoked %d certificates", d.Certificates)
		d.Certificates = 0
	case console.CmdRefreshLicenseCounts:
		d.LicenseCountsFresh = true
		detail = "license counts re-read from Apple"
	case console.CmdRevokeVPPLicenses:
		switch {
		case d.VPPLicenses == 0:
			detail = "no VPP licenses to revoke"
		case d.VPPStuck:
			detail = fmt.Sprintf("Apple did not release %d licenses: only vendor support can", d.VPPLicenses)
		case !d.LicenseCountsFresh:
			detail = fmt.Sprintf("%d licenses kept: the license counts are stale; run アプリケーションライセンス数を更新する first", d.VPPLicenses)
		default:
			detail = fmt.Sprintf("revoked %d VPP licenses", d.VPPLicenses)
			d.VPPLicenses = 0
		}
	}
	return detail, hazard
}

// command returns a command of serial for GET .../commands/{id}; the caller holds s.mu.
func (s *Simulator) command(serial, id string) (console.Command, *console.APIError) {
	s.advance()
	d, ok := s.st.Devices[serial]
	if !ok || !d.recordExists() {
		return console.Command{}, apiErr(http.StatusNotFound, console.CodeDeviceNotFound, "no device record with serial %s", serial)
	}
	c, ok := s.st.Commands[id]
	if !ok || c.Serial != serial {
		return console.Command{}, apiErr(http.StatusNotFound, console.CodeCommandNotFound, "device %s has no command %s", serial, id)
	}
	return c.Command, nil
}
