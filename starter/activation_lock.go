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

// activationLocks prints, for each serial, the device's Activation Lock as its workflow last read
// it from Apple and whether the device can be set up again ("yes" only when Apple reported no
// lock: workflows.ReusableLabel). A device whose status cannot be read is named with why, and
// the command fails after printing the others. Meant for `starter activation-lock <serial>...`.
func activationLocks(ctx context.Context, c client.Client, out io.Writer, serials ...string) error {
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
	writeActivationLocks(out, rows)
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
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
