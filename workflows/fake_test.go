package workflows

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/notify"
)

// fakeWorld is a small in-memory console, Apple Business Manager and device user for the
// workflow's unit tests, where time is skipped. Time on the device passes with reads: every
// checkInEvery reads of a record the device checks in. The full model is the simulator, which the
// integration tests use.
type fakeWorld struct {
	mu       sync.Mutex
	devices  map[string]*fakeDevice
	commands map[string]*console.Command
	requests map[string]console.CommandRequest // command ID → the request that made it
	byKey    map[string]string
	sent     []sentCommand // every command the console accepted, replays included
	notes    []notify.Message
	assigned map[string]string // serial → MDM server
	unassign []string          // serials of every UNASSIGN_DEVICES activity
	actFails int               // Apple activities that fail before one succeeds
	postFail int               // Apple POSTs that fail ambiguously (the activity is created, the answer lost)
	acts     map[string]applebusiness.Activity
	actSeq   int
	log      []fakeEvent       // what happened to the devices, in order (combinations_test.go reads it)
	locks    map[string]string // serial → Activation Lock (USER, MDM; none when absent): activation_lock_test.go
	lockGETs map[string]int    // Activation Lock reads, by serial
	lock429  int               // Activation Lock reads answered 429 (Retry-After 3 minutes) before one is answered
}

// fakeEvent is one line of the fake's log, named as oracletest names events: "cmd:<type>" (a
// command accepted, replays excluded), "refused:<type>:<code>", "applied:<type>" (a queued command
// carried out at a check-in), "greyed-out", "told:<step>" (a message to the device's user),
// "user:<step>" (the user did it), "unassign", "record-gone", "return-to-service".
type fakeEvent struct {
	Serial, Name    string
	LostMode, Wiped bool // the device's state when it happened
}

type fakeDevice struct {
	console.Device
	checkInEvery  int // reads between check-ins; 0 = never checks in
	reads         int
	queued        []string
	userComplies  bool
	userTold      map[string]bool
	purgeErrors   []string // codes the purge answers, in order, before it succeeds
	deleteAfter   int      // reads until a deleted record disappears
	deleting      bool
	deletedInLost bool

	// Knobs of the combination tests; their zero values keep what the older tests rely on.
	lostLocksUser bool           // lost mode locks the device: its user cannot act while it is on
	userAfter     int            // messages (the first, then reminders) the user needs before acting; 0 or 1: the first
	told          map[string]int // messages to the user, by step
	certificates  int            // certificates issued to the device: 4-2 answers certificates-remain
	vppLicenses   int            // VPP licenses: 4-2 answers vpp-license-remains
	vppStuck      bool           // Apple keeps the licenses: the revoke frees nothing
	countsFresh   bool           // refresh-license-counts ran: a revoke now frees the licenses
	wiped         bool           // the device was erased (2-1 or 2-2)
	strict        bool           // a record that is not managed refuses what only a managed one takes, as the simulator's does
}

type sentCommand struct {
	Serial, Type, Key string
	Replayed          bool
}

func newFakeWorld() *fakeWorld {
	return &fakeWorld{devices: map[string]*fakeDevice{}, commands: map[string]*console.Command{}, byKey: map[string]string{},
		requests: map[string]console.CommandRequest{},
		assigned: map[string]string{}, acts: map[string]applebusiness.Activity{}, locks: map[string]string{}, lockGETs: map[string]int{}}
}

const fakeServer = "MDM-SERVER-1"

// fakeSafetyNet is the safety-net read of the tests' workers: the fake's devices check in with
// reads, not with time, and no console watcher runs beside them, so a waiting device must read
// as often as the long poll it replaced (CheckInPoll's default) for these tests to see the same
// check-ins at the same times. device_watched_test.go tests the watched wait itself, woken by
// signals, with the daily default.
const fakeSafetyNet = 10 * time.Minute

// add puts a device in the console; enrollment picks ADE and removability like the vendor's matrix.
func (f *fakeWorld) add(serial, enrollment string, opts ...func(*fakeDevice)) *fakeDevice {
	d := &fakeDevice{Device: console.Device{Serial: serial, Status: console.StatusManaged, Supervised: true,
		Profiles: []console.Profile{{ID: "restrictions", Name: "制限設定プロファイル", Kind: "restrictions"}, {ID: "wifi", Name: "Wi-Fi", Kind: "configuration"}}},
		checkInEvery: 3, userComplies: true, userTold: map[string]bool{}, told: map[string]int{}, deleteAfter: 2}
	switch enrollment {
	case "ade-restricted":
		d.ADE = true
	case "ade":
		d.ADE, d.MDMProfileRemovable = true, true
	default:
		d.MDMProfileRemovable = true
	}
	for _, o := range opts {
		o(d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices[serial] = d
	if d.ADE {
		f.assigned[serial] = fakeServer
	}
	return d
}

// read advances the device's clock by one read and applies a check-in when one is due.
func (f *fakeWorld) read(serial string) (*fakeDevice, error) {
	d, ok := f.devices[serial]
	if !ok {
		return nil, &console.APIError{Status: 404, Code: console.CodeDeviceNotFound, Message: "no such device"}
	}
	d.reads++
	if d.deleting {
		if d.deleteAfter--; d.deleteAfter <= 0 {
			f.event(d, "record-gone")
			delete(f.devices, serial)
			return nil, &console.APIError{Status: 404, Code: console.CodeDeviceNotFound, Message: "deleted"}
		}
	}
	if d.checkInEvery > 0 && d.reads%d.checkInEvery == 0 {
		f.checkIn(d)
	}
	return d, nil
}

func (f *fakeWorld) checkIn(d *fakeDevice) {
	for _, id := range d.queued {
		c := f.commands[id]
		switch c.Type {
		case console.CmdEraseDevice:
			d.Status, d.LostMode, d.wiped, d.Profiles = console.StatusGreyedOut, false, true, nil
		case console.CmdDisableLostMode:
			d.LostMode = false
		case console.CmdRemoveProfile:
			d.Profiles = slices.DeleteFunc(d.Profiles, func(p console.Profile) bool {
				ids := f.requests[id].ProfileIDs
				return len(ids) == 0 || slices.Contains(ids, p.ID)
			})
		}
		c.Status = console.CommandCompleted
		f.event(d, "applied:"+c.Type)
		if c.Type == console.CmdEraseDevice {
			f.event(d, "greyed-out")
		}
	}
	d.queued = nil
	if (d.strict && d.Status != console.StatusManaged) || (d.lostLocksUser && d.LostMode) {
		return // gone from MDM; or locked in lost mode, so its user cannot reach Settings
	}
	if d.userComplies && d.userTold["user-remove-mdm-profile"] && d.told["user-remove-mdm-profile"] >= d.userAfter && d.MDMProfileRemovable {
		d.Status, d.Profiles = console.StatusGreyedOut, nil
		f.event(d, "user:user-remove-mdm-profile")
		f.event(d, "greyed-out")
	}
	if d.userComplies && d.userTold["user-wipe"] && d.told["user-wipe"] >= d.userAfter && !slices.ContainsFunc(d.Profiles, func(p console.Profile) bool { return p.Kind == "restrictions" }) {
		d.Status, d.LostMode, d.wiped, d.Profiles = console.StatusGreyedOut, false, true, nil
		f.event(d, "user:user-wipe")
		f.event(d, "greyed-out")
	}
}

// event logs what happened to a device; the caller holds f.mu.
func (f *fakeWorld) event(d *fakeDevice, name string) {
	f.log = append(f.log, fakeEvent{Serial: d.Serial, Name: name, LostMode: d.LostMode, Wiped: d.wiped})
}

// events returns the log of one device.
func (f *fakeWorld) events(serial string) []fakeEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeEvent
	for _, e := range f.log {
		if e.Serial == serial {
			out = append(out, e)
		}
	}
	return out
}

func (f *fakeWorld) Device(_ context.Context, serial string) (console.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := f.read(serial)
	if err != nil {
		return console.Device{}, err
	}
	return d.Device, nil
}

func (f *fakeWorld) SendCommand(_ context.Context, serial, key string, req console.CommandRequest) (console.Command, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.byKey[key]; ok {
		f.sent = append(f.sent, sentCommand{serial, req.Type, key, true})
		c := *f.commands[id]
		c.Replayed = true
		return c, nil
	}
	d, ok := f.devices[serial]
	if !ok {
		return console.Command{}, &console.APIError{Status: 404, Code: console.CodeDeviceNotFound, Message: "no such device"}
	}
	refuse := func(code string) (console.Command, error) {
		f.event(d, "refused:"+req.Type+":"+code)
		return console.Command{}, &console.APIError{Status: 409, Code: code, Message: code}
	}
	status := console.CommandCompleted
	switch req.Type {
	case console.CmdRemoveProfile, console.CmdEraseDevice, console.CmdDisableLostMode:
		if d.strict && d.Status != console.StatusManaged {
			return refuse(console.CodeNotManaged) // the device has left MDM: nothing reaches it
		}
		status = console.CommandQueued
	case console.CmdDeleteDevice:
		switch {
		case d.strict && d.Status != console.StatusManaged:
			return refuse(console.CodeNotManaged) // a greyed-out record is deleted with purge-device
		case d.WorkSmart:
			return refuse(console.CodeWorkSmart)
		}
		d.deleting, d.deletedInLost = true, d.LostMode
	case console.CmdPurgeDevice:
		switch {
		case d.Status != console.StatusGreyedOut:
			return refuse(console.CodeNotGreyedOut)
		case d.WorkSmart:
			return refuse(console.CodeWorkSmart)
		case len(d.purgeErrors) > 0:
			code := d.purgeErrors[0]
			d.purgeErrors = d.purgeErrors[1:]
			return refuse(code)
		case d.certificates > 0:
			return refuse(console.CodeCertificatesRemain)
		case d.vppLicenses > 0:
			return refuse(console.CodeVPPLicenseRemains)
		}
		d.deleting, d.deletedInLost = true, d.LostMode && !d.wiped
	case console.CmdRemoveCertificates:
		d.certificates = 0
	case console.CmdRefreshLicenseCounts:
		d.countsFresh = true
	case console.CmdRevokeVPPLicenses:
		if d.countsFresh && !d.vppStuck {
			d.vppLicenses = 0
		}
	}
	id := fmt.Sprintf("c-%d", len(f.commands)+1)
	c := &console.Command{ID: id, Serial: serial, Type: req.Type, Status: status, IdempotencyKey: key}
	f.commands[id], f.byKey[key], f.requests[id] = c, id, req
	if status == console.CommandQueued {
		d.queued = append(d.queued, id)
	}
	f.sent = append(f.sent, sentCommand{serial, req.Type, key, false})
	f.event(d, "cmd:"+req.Type)
	if req.ReturnToService {
		f.event(d, "return-to-service")
	}
	return *c, nil
}

func (f *fakeWorld) Command(_ context.Context, serial, id string) (console.Command, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.read(serial); err != nil {
		return console.Command{}, err
	}
	c, ok := f.commands[id]
	if !ok {
		return console.Command{}, &console.APIError{Status: 404, Code: console.CodeCommandNotFound, Message: id}
	}
	return *c, nil
}

// Notify plays the device's user: told what to do, they do it (or not) at the next check-in.
func (f *fakeWorld) Notify(_ context.Context, m notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, m)
	if d, ok := f.devices[m.Serial]; ok && m.Audience == "user" {
		d.userTold[m.Step] = true
		d.told[m.Step]++
		f.event(d, "told:"+m.Step)
	}
	return nil
}

func (f *fakeWorld) AssignedServer(_ context.Context, serial string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.assigned[serial]
	return s, ok, nil
}

func (f *fakeWorld) UnassignDevices(_ context.Context, serials []string) (applebusiness.Activity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actSeq++
	id := fmt.Sprintf("act-%d", f.actSeq)
	f.unassign = append(f.unassign, serials...)
	for _, s := range serials {
		d := f.devices[s]
		if d == nil {
			d = &fakeDevice{Device: console.Device{Serial: s}}
		}
		f.event(d, "unassign")
	}
	act := applebusiness.Activity{ID: id, Status: applebusiness.ActivityCompleted, SubStatus: "COMPLETED_WITH_SUCCESS", CreatedDateTime: time.Unix(0, 0)}
	if f.actFails > 0 {
		f.actFails--
		act.Status, act.SubStatus = applebusiness.ActivityFailed, "FAILED"
	} else {
		for _, s := range serials {
			delete(f.assigned, s)
		}
	}
	f.acts[id] = act
	if f.postFail > 0 {
		f.postFail--
		return applebusiness.Activity{}, &applebusiness.APIError{Status: 503, Code: "UNAVAILABLE", Title: "unavailable"}
	}
	return act, nil
}

func (f *fakeWorld) Activity(_ context.Context, id string) (applebusiness.Activity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acts[id], nil
}

// accepted counts the commands of a type the console accepted for a device, replays excluded.
func (f *fakeWorld) accepted(serial, typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.sent {
		if s.Serial == serial && s.Type == typ && !s.Replayed {
			n++
		}
	}
	return n
}

func (f *fakeWorld) gone(serial string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.devices[serial]
	return !ok
}

func (f *fakeWorld) unassignCount(serial string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.unassign {
		if s == serial {
			n++
		}
	}
	return n
}
