package simulator

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/offboard/offboard/internal/console"
)

type eventKind int

const (
	evCheckIn      eventKind = iota // the device checks in (DeviceState.NextCheckIn)
	evUserAct                       // the user acts on a message (UserTask.ActAt)
	evRecordGone                    // a deleting record disappears (DeviceState.DeleteAt)
	evReappear                      // a deleted, still-assigned ADE device comes back (ReappearAt)
	evActivityDone                  // an Apple activity completes (activity.CompleteAt)
)

// event is an index entry pointing at a due time kept in the state. The state is the truth: an
// event whose time no longer matches it (a forced check-in moved NextCheckIn, say) is stale and
// dropped when it comes up. So the queue is never saved; it is rebuilt from the state on load.
type event struct {
	at     time.Time
	seq    uint64 // keeps events at the same time in the order they were scheduled
	kind   eventKind
	serial string
	step   string // evUserAct
	id     string // evActivityDone
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// schedule queues an event; the caller holds s.mu.
func (s *Simulator) schedule(e event) {
	s.eventSeq++
	e.seq = s.eventSeq
	heap.Push(&s.events, e)
}

// scheduleDevice queues every due time a device has; the caller holds s.mu.
func (s *Simulator) scheduleDevice(d *DeviceState) {
	if d.NextCheckIn != nil {
		s.schedule(event{at: *d.NextCheckIn, kind: evCheckIn, serial: d.Serial})
	}
	for _, t := range d.User.Tasks {
		s.schedule(event{at: t.ActAt, kind: evUserAct, serial: d.Serial, step: t.Step})
	}
	if d.DeleteAt != nil {
		s.schedule(event{at: *d.DeleteAt, kind: evRecordGone, serial: d.Serial})
	}
	if d.ReappearAt != nil {
		s.schedule(event{at: *d.ReappearAt, kind: evReappear, serial: d.Serial})
	}
}

// advance fires every event due by the clock's time, in time order, each at its own due time (so
// the ledger reads the same however late the model catches up), and returns the time. Simulated
// time never goes backwards. The caller holds s.mu.
func (s *Simulator) advance() time.Time {
	now := s.clock.Now().UTC()
	if now.Before(s.st.SimNow) {
		now = s.st.SimNow
	}
	fired := false
	for len(s.events) > 0 && !s.events[0].at.After(now) {
		if s.fire(heap.Pop(&s.events).(event)) {
			fired = true
		}
	}
	s.st.SimNow = now
	if fired {
		s.changed()
	}
	return now
}

// fire carries out one event unless it is stale, and reports whether it did.
func (s *Simulator) fire(e event) bool {
	if e.kind == evActivityDone {
		a := s.st.Activities[e.id]
		if a == nil || a.final() || !a.CompleteAt.Equal(e.at) {
			return false
		}
		s.completeActivity(a, e.at)
		return true
	}
	d := s.st.Devices[e.serial]
	if d == nil {
		return false
	}
	switch e.kind {
	case evCheckIn:
		if d.NextCheckIn == nil || !d.NextCheckIn.Equal(e.at) {
			return false
		}
		s.checkIn(d, e.at)
	case evUserAct:
		i, ok := d.userTask(e.step)
		if !ok || !d.User.Tasks[i].ActAt.Equal(e.at) {
			return false
		}
		d.User.Tasks = append(d.User.Tasks[:i], d.User.Tasks[i+1:]...)
		s.userActs(d, e.step, e.at)
	case evRecordGone:
		if d.Removal != StatusDeleting || d.DeleteAt == nil || !d.DeleteAt.Equal(e.at) {
			return false
		}
		s.recordGone(d, e.at)
	case evReappear:
		if d.ReappearAt == nil || !d.ReappearAt.Equal(e.at) {
			return false
		}
		s.reappear(d, e.at)
	default:
		return false
	}
	return true
}

// startDelete begins the deletion of a record: it keeps answering until DeleteDelay has passed
// ("しばらくすると…表示されなくなります").
func (s *Simulator) startDelete(d *DeviceState, now time.Time) {
	if d.Removal != "" {
		return // a second delete of a record on its way out changes nothing (the ledger shows it)
	}
	at := now.Add(s.cfg.DeleteDelay)
	d.Removal = StatusDeleting
	d.DeleteAt = &at
	s.schedule(event{at: at, kind: evRecordGone, serial: d.Serial})
}

// recordGone removes the record from the console. The device and its user live on; Apple still
// knows the device, and if it is still assigned to this console's MDM server it will come back as
// pre-registered (事前予約) unless it is unassigned in time.
func (s *Simulator) recordGone(d *DeviceState, at time.Time) {
	d.Removal = StatusDeleted
	d.DeleteAt = nil
	d.DeletedAt = timePtr(at)
	d.stopCheckIns()
	d.VPPLicenses = 0 // deleting the record revokes the device's VPP licenses
	s.failQueued(d, at, console.CodeDeviceNotFound, "the record was deleted before the device ran this command")
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceDevice, Kind: KindRecordGone,
		Outcome: OutcomeApplied, Detail: "the record is gone from the Devices list"})
	if d.InAppleBusiness && d.AssignedServer == s.cfg.AppleServerID {
		next := at.Add(s.cfg.ReappearAfter)
		d.ReappearAt = &next
		s.schedule(event{at: next, kind: evReappear, serial: d.Serial})
	}
}

// reappear notes that a deleted ADE device still assigned to this console's MDM server shows up
// again as pre-registered, which is what §5 (ABM unassign) prevents.
func (s *Simulator) reappear(d *DeviceState, at time.Time) {
	d.ReappearAt = nil
	if d.AssignedServer != s.cfg.AppleServerID {
		return // unassigned in time
	}
	d.PreRegistered = true
	s.appendLedger(LedgerEntry{Time: at, Serial: d.Serial, Source: SourceApple, Kind: KindPreRegistered,
		Outcome: OutcomeNoted, Hazard: HazardReappears,
		Detail: fmt.Sprintf("still assigned to MDM server %s in Apple Business Manager: the device reappears in the console as pre-registered (事前予約)", d.AssignedServer)})
}
