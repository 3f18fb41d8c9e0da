package oracletest

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard/offboard/internal/console"
)

// Person is the scripted operator of console mode "operator". Asked for a step, they carry out its
// instruction in the console (the fake console of the unit tests, or the simulator's console API,
// standing in for CLOMO PANEL) and report once what the instruction says to expect holds, with
// what the console showed:
//   - a queued command (構成プロファイルを削除, 紛失モードを解除): done once the device has carried it
//     out ("Once the device checks in, ..."); an erase (デバイスを初期化): done once the record is
//     greyed-out; a command the console refuses because the record is already greyed-out: done,
//     nothing is left to do;
//   - await-greyed-out: done once the console shows the record greyed-out (or gone);
//   - a delete: they try it and report what the console answered (certificates-remain,
//     vpp-license-remains, work-smart), or done once the record has disappeared; they heed the
//     caution printed with it and never delete while the console shows lost mode on; a refusal no
//     outcome describes is not answered;
//   - the steps of 4-2's branches: done once sent.
//
// They answer only for themselves: never an escalation at a deadline (keep-waiting, ...), a
// refusal (retry), or a wait on vendor support. A step they do not answer stays waiting on the
// operator, which is how the test sees that the run has stopped.
type Person struct {
	API    console.API
	Serial string
	sent   map[string]string // step → the queued command sent for it
	round  map[string]int    // step → attempts, for the idempotency keys
}

// NewPerson is the operator of one device.
func NewPerson(api console.API, serial string) *Person {
	return &Person{API: api, Serial: serial, sent: map[string]string{}, round: map[string]int{}}
}

// Answer is what the person reports now for the step the device waits on; ok is false when they
// have nothing to report (yet, or ever).
func (p *Person) Answer(ctx context.Context, step, party string, choices []string) (outcome string, ok bool) {
	if party != PartyOperator || !slices.Contains(choices, "done") || NotTheOperators(choices) {
		return "", false
	}
	d, err := p.API.Device(ctx, p.Serial)
	gone := console.CodeOf(err) == console.CodeDeviceNotFound
	if err != nil && !gone {
		return "", false
	}
	managed := !gone && d.Status == console.StatusManaged
	switch step {
	case StepRemoveRestrictionsProfile:
		var ids []string
		for _, pr := range d.Profiles {
			if pr.Kind == "restrictions" {
				ids = append(ids, pr.ID)
			}
		}
		if !managed || (len(ids) == 0 && p.sent[step] == "") {
			return "done", true
		}
		return p.queued(ctx, step, console.CommandRequest{Type: console.CmdRemoveProfile, ProfileIDs: ids}, nil)
	case StepRemoveProfiles:
		if !managed && p.sent[step] == "" {
			return "done", true
		}
		return p.queued(ctx, step, console.CommandRequest{Type: console.CmdRemoveProfile}, nil)
	case StepDisableLostMode:
		if !managed && p.sent[step] == "" {
			return "done", true
		}
		return p.queued(ctx, step, console.CommandRequest{Type: console.CmdDisableLostMode}, nil)
	case StepConsoleWipe:
		if !managed {
			return "done", true
		}
		return p.queued(ctx, step, console.CommandRequest{Type: console.CmdEraseDevice, Confirmation: "YES"},
			func(d console.Device) bool { return d.Status == console.StatusGreyedOut })
	case StepAwaitGreyedOut:
		if gone || d.Status == console.StatusGreyedOut {
			return "done", true
		}
		return "", false
	case StepDeleteManagedRecord, StepDeleteGreyedOutRecord:
		if gone {
			return "done", true
		}
		if p.sent[step] != "" {
			return "", false // deleted: "The device then disappears from the Devices list after a while"
		}
		if d.LostMode {
			return "", false // the caution: "Deleting the record while lost mode is on makes lost mode impossible to turn off"
		}
		req := console.CommandRequest{Type: console.CmdDeleteDevice, Confirmation: "YES"}
		if step == StepDeleteGreyedOutRecord {
			req.Type = console.CmdPurgeDevice
		}
		cmd, err := p.API.SendCommand(ctx, p.Serial, p.key(step), req)
		switch code := console.CodeOf(err); {
		case err == nil:
			p.sent[step] = cmd.ID // done once the record is gone
		case slices.Contains(choices, code):
			return code, true
		}
		return "", false
	case StepRemoveCertificates, StepRefreshLicenseCounts, StepRevokeVPPLicenses:
		if _, err := p.API.SendCommand(ctx, p.Serial, p.key(step), console.CommandRequest{Type: step}); err != nil {
			return "", false
		}
		return "done", true
	}
	return "", false
}

// NotTheOperators reports whether a wait's choices are a decision the scripted operator leaves to
// a real person: an escalation at a deadline (keep-waiting, ...), or a console refusal (retry).
func NotTheOperators(choices []string) bool {
	return slices.ContainsFunc(choices, func(c string) bool { return c == "keep-waiting" || c == "retry" || c == "continue" })
}

func (p *Person) key(step string) string {
	p.round[step]++
	return fmt.Sprintf("person-%s-%s-%d", p.Serial, step, p.round[step])
}

// queued sends a queued command once, then reports done once the device has carried it out (and,
// with until, once the record shows it).
func (p *Person) queued(ctx context.Context, step string, req console.CommandRequest, until func(console.Device) bool) (string, bool) {
	id := p.sent[step]
	if id == "" {
		cmd, err := p.API.SendCommand(ctx, p.Serial, p.key(step), req)
		if console.CodeOf(err) == console.CodeNotManaged {
			return "done", true // the record is greyed-out already: nothing is left to do
		}
		if err != nil {
			return "", false
		}
		id = cmd.ID
		p.sent[step] = id
	}
	cmd, err := p.API.Command(ctx, p.Serial, id)
	if err != nil || cmd.Status != console.CommandCompleted {
		return "", false
	}
	if until != nil {
		d, err := p.API.Device(ctx, p.Serial)
		if err != nil || !until(d) {
			return "", false
		}
	}
	return "done", true
}
