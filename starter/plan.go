package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/offboard/offboard/internal/procedure"
)

// requestFlags are the flags that pick a device's path, shared by plan and start.
type requestFlags struct {
	serial, enrollment, wipeMethod string
	wipe, noWipe                   bool
	removeESIM, removeAutoApps     bool
	returnToService                bool
}

func (r *requestFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.serial, "serial", "", "the device's serial number, as CLOMO PANEL shows it")
	fs.StringVar(&r.enrollment, "enrollment", "", "ade-restricted | ade | manual")
	fs.BoolVar(&r.wipe, "wipe", false, "wipe (erase) the device")
	fs.BoolVar(&r.noWipe, "no-wipe", false, "do not wipe the device")
	fs.StringVar(&r.wipeMethod, "wipe-method", "", "console (2-2, default) | device (2-1, the user erases it)")
	fs.BoolVar(&r.removeESIM, "remove-esim", false, "console wipe: also remove the eSIM (eSIMを削除)")
	fs.BoolVar(&r.removeAutoApps, "remove-auto-installed-apps", false, "4-1 delete: also remove auto-installed apps (自動インストールしたアプリを削除する)")
	fs.BoolVar(&r.returnToService, "return-to-service", false, "refused: Return to Service re-enrolls the device, which is not a removal")
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

// plan prints the plan for a device; it needs no Temporal server.
func (c *cli) plan(args []string) error {
	fs := c.flags("plan", "--serial S --enrollment E --wipe|--no-wipe [--wipe-method console|device] [--json]")
	var rf requestFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, `print {"path","steps","warnings"} and nothing else`)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	req, plan, err := rf.plan()
	if err != nil {
		return err
	}
	if *asJSON {
		if plan.Warnings == nil {
			plan.Warnings = []string{}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(plan)
	}
	printPlan(c.stdout, strings.ToUpper(req.Serial), plan)
	return nil
}

func printPlan(w io.Writer, serial string, plan procedure.Result) {
	fmt.Fprintf(w, "Device %s: path %s\n\nSteps:\n", serial, plan.Path)
	for i, id := range plan.Steps {
		d, _ := procedure.Describe(id)
		fmt.Fprintf(w, "  %2d. %-26s §%-4s %s\n", i+1, id, d.Section, d.Title)
	}
	if len(plan.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, warn := range plan.Warnings {
			fmt.Fprintf(w, "  - %s\n", warn)
		}
	}
}
