package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/contract"
	"github.com/offboard/offboard/workflows"
)

// readActivationLocks reads, for each serial, the device's Activation Lock as its workflow last
// read it from Apple. A device whose status cannot be read is named with why in the error; the
// rows of the others are returned with it, so a caller prints them before it fails.
func readActivationLocks(ctx context.Context, c client.Client, serials ...string) ([]activationLockRow, error) {
	var rows []activationLockRow
	var failed []string
	for _, s := range serials {
		serial := strings.ToUpper(strings.TrimSpace(s))
		v, err := c.QueryWorkflow(ctx, contract.DeviceWorkflowID(serial), "", contract.QueryStatus)
		var st workflows.DeviceStatus
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("device %s: status not readable: %v", serial, err))
			continue
		}
		rows = append(rows, activationLockRow{Serial: serial, Status: st})
	}
	if len(failed) > 0 {
		return rows, fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return rows, nil
}

// activationLockJSON is a row of `starter activation-lock -o json`: whether the device can be set
// up again is "yes" only when Apple reported no lock (workflows.ReusableLabel).
type activationLockJSON struct {
	Serial         string `json:"serial"`
	Reusable       string `json:"reusable"`
	Step           string `json:"step,omitempty"`
	WaitingOn      string `json:"waitingOn,omitempty"`
	ActivationLock any    `json:"activationLock"`
}

func activationLockDocument(rows []activationLockRow) []activationLockJSON {
	doc := make([]activationLockJSON, 0, len(rows))
	for _, r := range rows {
		doc = append(doc, activationLockJSON{
			Serial: r.Serial, Reusable: workflows.ReusableLabel(r.Status.ActivationLock),
			Step: string(r.Status.Current), WaitingOn: string(r.Status.WaitingOn), ActivationLock: r.Status.ActivationLock,
		})
	}
	return doc
}

type activationLockRow struct {
	Serial string
	Status workflows.DeviceStatus
}

// writeActivationLocks is the table of activationLocks.
func writeActivationLocks(out io.Writer, rows []activationLockRow) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tLOCK\tREUSABLE\tREAD AT\tTURNED OFF BY\tNOTE")
	for _, r := range rows {
		l := r.Status.ActivationLock
		lock, read, by, note := "-", "-", "-", ""
		if l != nil {
			if l.LockType != "" {
				lock = l.LockType
			}
			if l.ReadAt != nil {
				read = l.ReadAt.UTC().Format(time.RFC3339)
			}
			if l.TurnedOffBy != "" {
				by = l.TurnedOffBy
			}
			note = l.Note
		}
		if r.Status.Current == "turn-off-activation-lock" {
			note = strings.TrimSpace("waiting on " + string(r.Status.WaitingOn) + " to turn it off in Apple Business Manager. " + note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Serial, lock, workflows.ReusableLabel(l), read, by, note)
	}
	_ = tw.Flush()
}
