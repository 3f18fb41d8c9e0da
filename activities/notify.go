package activities

import (
	"context"

	"github.com/offboard/offboard/internal/notify"
)

// Notify tells people: the device's user (on-device steps, reminders) and operators (tasks,
// escalations). A failed notification is retried; it never changes the device's path.
type Notify struct {
	Notifier notify.Notifier
}

// Send delivers one message.
func (n *Notify) Send(ctx context.Context, m notify.Message) error {
	return n.Notifier.Notify(ctx, m)
}
