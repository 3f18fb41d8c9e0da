package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/console"
	"github.com/offboard/offboard/internal/procedure"
)

// Console carries out console steps against a console endpoint (docs/console-api.md). Its
// activities run on the clomo-console task queue, so one server-side rate limit covers every worker.
type Console struct {
	API console.API
}

// CommandInput is one console command for one step of one device.
type CommandInput struct {
	Serial string           `json:"serial"`
	Step   procedure.StepID `json:"step"`
	// IdempotencyKey is made by the workflow from its ID, the step and the round of the step, so a
	// retried activity or a restarted worker sends the same key and the console runs it once.
	IdempotencyKey string                 `json:"idempotencyKey"`
	Command        console.CommandRequest `json:"command"`
}

// CommandRef names a command of a device, for polling.
type CommandRef struct {
	Serial    string `json:"serial"`
	CommandID string `json:"commandId"`
}

// DeleteInput is a delete of a device record (4-1 or 4-2).
type DeleteInput struct {
	Serial         string `json:"serial"`
	IdempotencyKey string `json:"idempotencyKey"`
	// GreyedOut selects 4-2 (デバイスの情報を完全に削除) instead of 4-1 (デバイスを削除).
	GreyedOut               bool `json:"greyedOut"`
	RemoveAutoInstalledApps bool `json:"removeAutoInstalledApps,omitempty"`
	// WipedFirst: the path erased the device, so lost mode no longer matters.
	WipedFirst bool `json:"wipedFirst,omitempty"`
}

// ReadDevice reads the record of a device.
func (c *Console) ReadDevice(ctx context.Context, serial string) (console.Device, error) {
	d, err := c.api().Device(ctx, serial)
	if err != nil {
		return console.Device{}, classifyConsole(serial, "read the device record", err)
	}
	return d, nil
}

// SendCommand sends one command under the idempotency key of its step.
func (c *Console) SendCommand(ctx context.Context, in CommandInput) (console.Command, error) {
	cmd, err := c.api().SendCommand(ctx, in.Serial, in.IdempotencyKey, in.Command)
	recordCommand(ctx, in.Command.Type, err)
	if err != nil {
		return console.Command{}, classifyConsole(in.Serial, string(in.Step)+": "+in.Command.Type, err)
	}
	return cmd, nil
}

// AwaitCommand succeeds once the device has carried out a queued command; until then it fails
// with ErrNotYet and is retried at the poll interval. Each attempt is one long poll (holdFor).
func (c *Console) AwaitCommand(ctx context.Context, ref CommandRef) (console.Command, error) {
	cmd, err := c.watchCommand(ctx, ref, func(cmd console.Command) bool {
		return cmd.Status == console.CommandCompleted || cmd.Status == console.CommandFailed
	})
	if err != nil {
		return console.Command{}, classifyConsole(ref.Serial, "read command "+ref.CommandID, err)
	}
	switch cmd.Status {
	case console.CommandCompleted:
		return cmd, nil
	case console.CommandFailed:
		msg := "the device reported the command as failed"
		if cmd.Error != nil {
			msg = cmd.Error.Message
		}
		return cmd, temporal.NewNonRetryableApplicationError("device "+ref.Serial+": "+cmd.Type+": "+msg, ErrCommandFailed, nil)
	}
	return cmd, notYet("device %s: %s is %s: waiting for the device to check in", ref.Serial, cmd.Type, cmd.Status)
}

// AwaitGreyedOut succeeds once the console shows the device greyed-out (取消線).
func (c *Console) AwaitGreyedOut(ctx context.Context, serial string) (console.Device, error) {
	d, err := c.watchDevice(ctx, serial, func(d console.Device) bool { return d.Status == console.StatusGreyedOut })
	if err != nil {
		return d, classifyConsole(serial, "read the device record", err)
	}
	if d.Status != console.StatusGreyedOut {
		return d, notYet("device %s is still %s (last check-in %s): waiting for it to show greyed-out",
			serial, d.Status, d.LastCheckIn.Format("2006-01-02 15:04 MST"))
	}
	return d, nil
}

// longPoll is how long one attempt of a wait holds its read open, when the console can hold it
// (console.Waiter): a change (a check-in, the end of a deletion) is seen the moment it happens,
// for one request. The retry policy's interval applies between attempts, as for a plain poll.
const longPoll = 20 * time.Second

// holdFor is how long this attempt may hold a read: longPoll, within the activity's own deadline.
func holdFor(ctx context.Context) time.Duration {
	hold := longPoll
	if dl, ok := ctx.Deadline(); ok {
		hold = min(hold, time.Until(dl)-5*time.Second)
	}
	return max(hold, 0)
}

// LongPollHeartbeatTimeout is the heartbeat timeout the workflows give a long-polling activity:
// a worker that dies while holding a read is noticed after it, not after the 30-second
// start-to-close timeout.
const LongPollHeartbeatTimeout = 5 * time.Second

// watchDevice reads a record, holding the read while done is false (see holdFor).
func (c *Console) watchDevice(ctx context.Context, serial string, done func(console.Device) bool) (console.Device, error) {
	if w, ok := c.api().(console.Waiter); ok {
		defer keepAlive(ctx)()
		return w.WaitDevice(ctx, serial, holdFor(ctx), done)
	}
	return c.api().Device(ctx, serial)
}

// watchCommand is watchDevice for a command of a device.
func (c *Console) watchCommand(ctx context.Context, ref CommandRef, done func(console.Command) bool) (console.Command, error) {
	if w, ok := c.api().(console.Waiter); ok {
		defer keepAlive(ctx)()
		return w.WaitCommand(ctx, ref.Serial, ref.CommandID, holdFor(ctx), done)
	}
	return c.api().Command(ctx, ref.Serial, ref.CommandID)
}

// keepAlive heartbeats while a long poll is held: first after a second (a read answered at once
// costs no heartbeat), then every 2 seconds, within LongPollHeartbeatTimeout.
func keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
				t.Reset(2 * time.Second)
			}
		}
	}()
	return func() { close(done) }
}

// DeleteRecord re-reads lost mode right before deleting, so a device is never deleted while lost
// mode is on (it could never leave lost mode), then sends the delete of the record.
func (c *Console) DeleteRecord(ctx context.Context, in DeleteInput) (console.Command, error) {
	d, err := c.ReadDevice(ctx, in.Serial)
	if err != nil {
		return console.Command{}, err
	}
	if d.LostMode && !in.WipedFirst {
		return console.Command{}, temporal.NewNonRetryableApplicationError(
			"device "+in.Serial+" is in lost mode (紛失モード): deleting it now would make lost mode impossible to turn off; turn lost mode off first",
			ErrLostModeOn, nil)
	}
	req := console.CommandRequest{Type: console.CmdDeleteDevice, RemoveAutoInstalledApps: in.RemoveAutoInstalledApps, Confirmation: "YES"}
	step := procedure.DeleteManagedRecord
	if in.GreyedOut {
		req = console.CommandRequest{Type: console.CmdPurgeDevice, Confirmation: "YES"}
		step = procedure.DeleteGreyedOutRecord
	}
	return c.SendCommand(ctx, CommandInput{Serial: in.Serial, Step: step, IdempotencyKey: in.IdempotencyKey, Command: req})
}

// AwaitRecordGone succeeds once the record has disappeared from the Devices list.
func (c *Console) AwaitRecordGone(ctx context.Context, serial string) error {
	d, err := c.watchDevice(ctx, serial, func(console.Device) bool { return false })
	if console.CodeOf(err) == console.CodeDeviceNotFound {
		return nil
	}
	if err != nil {
		return classifyConsole(serial, "read the device record", err)
	}
	return notYet("device %s: the record is still listed (%s): waiting for the deletion to finish", serial, d.Status)
}

func (c *Console) api() console.API {
	if c == nil || c.API == nil {
		return unconfiguredConsole{}
	}
	return c.API
}

// unconfiguredConsole answers every call of a worker that has no console endpoint (operator mode
// only) with a clear, non-retryable error.
type unconfiguredConsole struct{}

var errNoConsole = temporal.NewNonRetryableApplicationError(
	"this worker has no console endpoint (CONSOLE_URL): run the device in operator mode", ErrNotConfigured, nil)

func (unconfiguredConsole) Device(context.Context, string) (console.Device, error) {
	return console.Device{}, errNoConsole
}
func (unconfiguredConsole) SendCommand(context.Context, string, string, console.CommandRequest) (console.Command, error) {
	return console.Command{}, errNoConsole
}
func (unconfiguredConsole) Command(context.Context, string, string) (console.Command, error) {
	return console.Command{}, errNoConsole
}

// IsType reports whether err carries an application error of the given type.
func IsType(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}
