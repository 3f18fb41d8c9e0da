package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/offboard/offboard/workflows"
)

// apple shows the organisation's Apple coordinator: the devices waiting for Apple, the
// activities in flight, and Apple's request budget as the coordinator keeps it.
func (c *cli) apple(ctx context.Context, args []string) error {
	fs := c.flags("apple", "[--org CLIENT_ID] [--server SERVER_ID] [--json]")
	org := fs.String("org", envOr("APPLE_CLIENT_ID", ""), "the organisation's Apple Business API client ID (APPLE_CLIENT_ID)")
	server := fs.String("server", envOr("APPLE_SERVER_ID", ""), "this console's MDM server in Apple Business Manager (APPLE_SERVER_ID)")
	asJSON := fs.Bool("json", false, "print the coordinator's state as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *server == "" {
		return fmt.Errorf("say which MDM server: --server or APPLE_SERVER_ID, as the worker has it")
	}
	tc, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer tc.Close()
	id := workflows.CoordinatorWorkflowID(*org, *server)
	st, err := queryWorkflow[workflows.CoordinatorStatus](ctx, tc, id, workflows.QueryAppleQueue,
		fmt.Sprintf("no Apple coordinator runs (%s): the first ADE device that reaches Apple starts it", id), "Apple coordinator")
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printCoordinator(c.stdout, id, st)
	return nil
}

func printCoordinator(w io.Writer, id string, st workflows.CoordinatorStatus) {
	at := func(t time.Time) string { return t.Local().Format(time.DateTime) }
	fmt.Fprintf(w, "Apple coordinator %s\n", id)
	fmt.Fprintf(w, "  waiting:    %d to unassign, %d pre-flight reads\n", st.Unassign, st.Reads)
	fmt.Fprintf(w, "  in flight:  %d activities\n", len(st.InFlight))
	for _, b := range st.InFlight {
		activity := b.ActivityID
		if activity == "" {
			activity = "(posting)"
		}
		fmt.Fprintf(w, "    %s  %d devices  since %s\n", activity, len(b.Requests), at(b.Created))
	}
	fmt.Fprintf(w, "  budget:     %d GETs a minute (%d left, next at %s), %d POSTs an hour (%d left, next at %s)\n",
		st.GetPerMinute, st.GETsLeft, at(st.NextGETAt), st.PostPerHour, st.POSTsLeft, at(st.NextPOSTAt))
	t := st.Totals
	fmt.Fprintf(w, "  totals:     %d GETs (%d list pages), %d POSTs, %d answered 429; %d read, %d unassigned, %d failed, %d sent again (%d runs)\n",
		t.GETs, t.BulkPages, t.POSTs, t.RateLimited, t.Reads, t.Unassigned, t.Failed, t.Requeued, t.Runs)
}
