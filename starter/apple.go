package main

import (
	"fmt"
	"io"
	"time"

	"github.com/offboard/offboard/workflows"
)

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
