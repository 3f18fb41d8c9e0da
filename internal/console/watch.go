package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Waiter is an API that can hold a read until the answer changes (a long poll: If-None-Match with
// Prefer: wait, docs/console-api.md). *Client implements it; an activity whose API does not reads
// once per attempt.
type Waiter interface {
	// WaitDevice reads the record of serial and, while done is false, waits up to `wait` for it
	// to change. It returns the last record read, done or not; a record that is gone answers an
	// *APIError with CodeDeviceNotFound at once.
	WaitDevice(ctx context.Context, serial string, wait time.Duration, done func(Device) bool) (Device, error)
	// WaitCommand is WaitDevice for a command of a device.
	WaitCommand(ctx context.Context, serial, id string, wait time.Duration, done func(Command) bool) (Command, error)
}

var _ Waiter = (*Client)(nil)

// WaitDevice implements Waiter.
func (c *Client) WaitDevice(ctx context.Context, serial string, wait time.Duration, done func(Device) bool) (Device, error) {
	return waitFor(ctx, c, serial, "read device record", devicePath(serial), wait, done)
}

// WaitCommand implements Waiter.
func (c *Client) WaitCommand(ctx context.Context, serial, id string, wait time.Duration, done func(Command) bool) (Command, error) {
	if id == "" {
		return Command{}, errNoCommandID(serial)
	}
	return waitFor(ctx, c, serial, "read command "+id, devicePath(serial)+"/commands/"+url.PathEscape(id), wait, done)
}

// waitFor reads path, then, while done is false and time is left, asks again with the ETag it
// holds and Prefer: wait, so the console answers as soon as the answer changes. A console that
// does not honour the preference (no Preference-Applied) or sends no ETag is read once: the
// caller's retry policy polls it instead, and it is never hammered.
func waitFor[T any](ctx context.Context, c *Client, serial, op, path string, wait time.Duration, done func(T) bool) (T, error) {
	deadline := time.Now().Add(wait)
	var last T
	meta, err := c.send(ctx, serial, op, http.MethodGet, path, "", nil, nil, &last)
	if err != nil || done(last) || meta.etag == "" {
		return last, err
	}
	for {
		left := time.Until(deadline)
		if left < time.Second {
			return last, nil
		}
		h := http.Header{}
		h.Set("If-None-Match", meta.etag)
		h.Set("Prefer", "wait="+strconv.Itoa(int(left/time.Second)))
		var next T
		m, err := c.send(ctx, serial, op, http.MethodGet, path, "", nil, h, &next)
		switch {
		case err != nil:
			return last, err
		case m.notModified:
			if !m.waited {
				return last, nil
			}
			continue
		}
		last = next
		if done(last) || !m.waited || m.etag == "" || m.etag == meta.etag {
			return last, nil
		}
		meta = m
	}
}
