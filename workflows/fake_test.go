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
	byKey    map[string]string
	sent     []sentCommand // every command the console accepted, replays included
	notes    []notify.Message
	assigned map[string]string // serial → MDM server
	unassign []string          // serials of every UNASSIGN_DEVICES activity
	actFails int               // Apple activities that fail before one succeeds
	postFail int               // Apple POSTs that fail ambiguously (the activity is created, the answer lost)
	acts     map[string]applebusiness.Activity
	actSeq   int
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
}

type sentCommand struct {
	Serial, Type, Key string
	Replayed          bool
}

func newFakeWorld() *fakeWorld {
	return &fakeWorld{devices: map[string]*fakeDevice{}, commands: map[string]*console.Command{}, byKey: map[string]string{},
		assigned: map[string]string{}, acts: map[string]applebusiness.Activity{}}
}

const fakeServer = "MDM-SERVER-1"

// add puts a device in the console; enrollment picks ADE and removability like the vendor's matrix.
func (f *fakeWorld) add(serial, enrollment string, opts ...func(*fakeDevice)) *fakeDevice {
	d := &fakeDevice{Device: console.Device{Serial: serial, Status: console.StatusManaged, Supervised: true,
		Profiles: []console.Profile{{ID: "restrictions", Name: "制限設定プロファイル", Kind: "restrictions"}, {ID: "wifi", Name: "Wi-Fi", Kind: "configuration"}}},
		checkInEvery: 3, userComplies: true, userTold: map[string]bool{}, deleteAfter: 2}
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
			d.Status, d.LostMode = console.StatusGreyedOut, false
		case console.CmdDisableLostMode:
			d.LostMode = false
		case console.CmdRemoveProfile:
			d.Profiles = nil
		}
		c.Status = console.CommandCompleted
	}
	d.queued = nil
	if d.userComplies && d.userTold["user-remove-mdm-profile"] && d.MDMProfileRemovable {
		d.Status = console.StatusGreyedOut
	}
	if d.userComplies && d.userTold["user-wipe"] && !slices.ContainsFunc(d.Profiles, func(p console.Profile) bool { return p.Kind == "restrictions" }) {
		d.Status, d.LostMode = console.StatusGreyedOut, false
	}
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
		return console.Command{}, &console.APIError{Status: 409, Code: code, Message: code}
	}
	status := console.CommandCompleted
	switch req.Type {
	case console.CmdRemoveProfile, console.CmdEraseDevice, console.CmdDisableLostMode:
		status = console.CommandQueued
	case console.CmdDeleteDevice:
		if d.WorkSmart {
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
		}
		d.deleting = true
	}
	id := fmt.Sprintf("c-%d", len(f.commands)+1)
	c := &console.Command{ID: id, Serial: serial, Type: req.Type, Status: status, IdempotencyKey: key}
	f.commands[id], f.byKey[key] = c, id
	if status == console.CommandQueued {
		d.queued = append(d.queued, id)
	}
	f.sent = append(f.sent, sentCommand{serial, req.Type, key, false})
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
