package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/offboard/offboard/internal/procedure"
	"github.com/offboard/offboard/workflows"
)

// requestFlags are the flags that pick a device's path, shared by plan and start.
type requestFlags struct {
	serial, enrollment, wipeMethod string
	wipe, noWipe                   bool
	removeESIM, removeAutoApps     bool
	returnToService                bool
}

func (r *requestFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.serial, "serial", "", "the device's serial number, as CLOMO PANEL shows it")
	fs.StringVar(&r.enrollment, "enrollment", "", "ade-restricted | ade | manual")
	fs.BoolVar(&r.wipe, "wipe", false, "wipe (erase) the device")
	fs.BoolVar(&r.noWipe, "no-wipe", false, "do not wipe the device")
	fs.StringVar(&r.wipeMethod, "wipe-method", "", "console (2-2, default) | device (2-1, the user erases it)")
	fs.BoolVar(&r.removeESIM, "remove-esim", false, "console wipe: also remove the eSIM (eSIMを削除)")
	fs.BoolVar(&r.removeAutoApps, "remove-auto-installed-apps", false, "4-1 delete: also remove auto-installed apps (自動インストールしたアプリを削除する)")
	fs.BoolVar(&r.returnToService, "return-to-service", false, "refused: Return to Service re-enrolls the device, which is not a removal")
}

// completeRequestFlags offers the values of the flags that take one of a few.
func completeRequestFlags(cmd *cobra.Command) {
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = cmd.RegisterFlagCompletionFunc("enrollment", fixed(string(procedure.ADERestricted), string(procedure.ADE), string(procedure.Manual)))
	_ = cmd.RegisterFlagCompletionFunc("wipe-method", fixed(string(procedure.WipeConsole), string(procedure.WipeDevice)))
}

func (r *requestFlags) request() (procedure.Request, error) {
	if r.wipe == r.noWipe {
		return procedure.Request{}, errors.New("say --wipe or --no-wipe (exactly one)")
	}
	if r.enrollment == "" {
		return procedure.Request{}, errors.New("--enrollment is required: ade-restricted, ade or manual")
	}
	return procedure.Request{
		Serial: r.serial, Enrollment: procedure.Enrollment(r.enrollment), Wipe: r.wipe,
		WipeMethod: procedure.WipeMethod(r.wipeMethod), RemoveESIM: r.removeESIM,
		RemoveAutoInstalledApps: r.removeAutoApps, ReturnToService: r.returnToService,
	}, nil
}

// plan builds the request from the flags and plans it.
func (r *requestFlags) plan() (procedure.Request, procedure.Result, error) {
	req, err := r.request()
	if err != nil {
		return req, procedure.Result{}, err
	}
	plan, err := procedure.Plan(req)
	return req, plan, err
}

// printPlan prints the plan for a person: its steps, the branches the procedure may take on the
// way (with the default deadline of a wait on the device), and the warnings.
func printPlan(w io.Writer, serial string, plan procedure.Result) {
	printPlanFor(w, serial, plan, workflows.DefaultTiming().CheckInDeadline)
}

// printPlanFor is printPlan with the deadline of the waits on the device (--checkin-deadline).
func printPlanFor(w io.Writer, serial string, plan procedure.Result, deadline time.Duration) {
	fmt.Fprintf(w, "Device %s: path %s\n\nSteps:\n", serial, plan.Path)
	for i, id := range plan.Steps {
		d, _ := procedure.Describe(id)
		fmt.Fprintf(w, "  %2d. %-26s §%-4s %s\n", i+1, id, d.Section, d.Title)
	}
	branches, choices := planBranches(plan, deadline)
	if len(branches) > 0 {
		fmt.Fprintln(w, "\nBranches:")
		for _, b := range branches {
			fmt.Fprintf(w, "  - %s\n", b)
		}
	}
	if len(choices) > 0 {
		fmt.Fprintln(w, "\nAn operator's choices at a deadline:")
		for _, c := range choices {
			meaning := procedure.ChoiceMeaning(c)
			if c == procedure.ChoiceKeepWaiting {
				meaning = "wait another " + humanDuration(deadline)
			}
			fmt.Fprintf(w, "  - %s: %s\n", c, meaning)
		}
		fmt.Fprintln(w, "  - cancel: cancel the device's workflow (starter cancel)")
	}
	if len(plan.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, warn := range plan.Warnings {
			fmt.Fprintf(w, "  - %s\n", warn)
		}
	}
}

// planBranches says, step by step, where the procedure may leave the plan: the outcomes a step
// may answer (procedure.Branch), lost mode found at a delete, and the escalations at the deadline
// of each wait on the device. It also returns the escalation choices used, in order.
func planBranches(plan procedure.Result, deadline time.Duration) (lines, choices []string) {
	wiped := plan.Has(procedure.ConsoleWipe) || plan.Has(procedure.UserWipe)
	for _, id := range plan.Steps {
		for _, o := range procedure.Outcomes(id) {
			if o == procedure.OutcomeDone {
				continue
			}
			b, err := procedure.Branch(id, o, nil)
			if err != nil {
				continue
			}
			line := fmt.Sprintf("If %s answers %s: %s", id, o, branchText(b))
			if b.Retry {
				if again, err := procedure.Branch(id, o, []string{o}); err == nil {
					line += "; if it answers it again: " + branchText(again)
				}
			}
			lines = append(lines, line)
		}
		if c, ok := procedure.LostModeAtDelete(id, wiped); ok {
			lines = append(lines, fmt.Sprintf("If the console finds lost mode (紛失モード) on at %s: %s, then retry", id, c.Insert))
		}
		if procedure.WaitsOnDevice(id, plan) {
			esc := procedure.Escalations(id, plan)
			lines = append(lines, fmt.Sprintf("If the device shows nothing for %s at %s, an operator chooses: %s, or cancel",
				humanDuration(deadline), id, strings.Join(esc, ", ")))
			for _, c := range esc {
				if !slices.Contains(choices, c) {
					choices = append(choices, c)
				}
			}
		}
	}
	return lines, choices
}

// branchText is a branch in a few words: the steps it runs and what follows.
func branchText(b procedure.Branching) string {
	if b.Party == procedure.PartyVendorSupport {
		return "CLOMO support (vendor-support)"
	}
	if b.Party != "" {
		return string(b.Party)
	}
	var parts []string
	for _, s := range b.Run {
		parts = append(parts, string(s))
	}
	text := strings.Join(parts, ", ")
	if b.Retry {
		if text == "" {
			return "retry"
		}
		text += ", then retry"
	}
	return text
}

// humanDuration says 336h as "14 days".
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
