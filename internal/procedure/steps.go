package procedure

import "github.com/offboard/offboard/internal/contract"

// StepID names a step of the procedure. The IDs of the vendor's steps are fixed by docs/contract.md.
type StepID string

const (
	// Preflight is the product's own first step: the console's and Apple's facts must fit the request.
	Preflight                 StepID = "preflight"
	RemoveRestrictionsProfile StepID = "remove-restrictions-profile"
	UserWipe                  StepID = "user-wipe"
	ConsoleWipe               StepID = "console-wipe"
	RemoveProfiles            StepID = "remove-profiles"
	UserRemoveMDMProfile      StepID = "user-remove-mdm-profile"
	AwaitGreyedOut            StepID = "await-greyed-out"
	DeleteManagedRecord       StepID = "delete-managed-record"
	DeleteGreyedOutRecord     StepID = "delete-greyed-out-record"
	DisableLostMode           StepID = "disable-lost-mode"
	RemoveCertificates        StepID = "remove-certificates"
	RefreshLicenseCounts      StepID = "refresh-license-counts"
	RevokeVPPLicenses         StepID = "revoke-vpp-licenses"
	ABMUnassign               StepID = "abm-unassign"
)

// Party is who a step waits on; its values are the WaitingOn search attribute of contract.md.
type Party = contract.WaitingOn

const (
	PartyConsole       = contract.WaitingOnConsole
	PartyDevice        = contract.WaitingOnDevice
	PartyOperator      = contract.WaitingOnOperator
	PartyApple         = contract.WaitingOnApple
	PartyVendorSupport = contract.WaitingOnVendorSupport
	PartyApproval      = contract.WaitingOnApproval
	PartyNone          = contract.WaitingOnNone
)

// Kind says which outside system carries a step out.
type Kind string

const (
	KindProduct Kind = "product" // pre-flight: read-only checks by Offboard itself
	KindConsole Kind = "console" // a command in CLOMO PANEL: automated, or an operator task
	KindUser    Kind = "user"    // the device's user taps through Settings
	KindDevice  Kind = "device"  // the device's next check-in
	KindApple   Kind = "apple"   // Apple Business Manager
)

// Step describes one step for people and for the workflow.
type Step struct {
	ID      StepID
	Section string // the vendor page's section, e.g. "4-2"
	Title   string // English, one line
	Kind    Kind
	// Destructive steps are issued at most once per device, under an idempotency key.
	Destructive bool
}

var steps = map[StepID]Step{
	Preflight:                 {Preflight, "-", "Check the console and Apple Business Manager agree with the request", KindProduct, false},
	RemoveRestrictionsProfile: {RemoveRestrictionsProfile, "2-1", "Remove the restrictions profile so the user may erase the device", KindConsole, true},
	UserWipe:                  {UserWipe, "2-1", "The device's user erases the device in Settings", KindUser, false},
	ConsoleWipe:               {ConsoleWipe, "2-2", "Erase the device from the console (デバイスを初期化)", KindConsole, true},
	RemoveProfiles:            {RemoveProfiles, "3-1", "Remove the installed configuration profiles", KindConsole, true},
	UserRemoveMDMProfile:      {UserRemoveMDMProfile, "3-2", "The device's user removes the MDM profile in Settings", KindUser, false},
	AwaitGreyedOut:            {AwaitGreyedOut, "2/3", "Wait until the console shows the device greyed-out (取消線)", KindDevice, false},
	DeleteManagedRecord:       {DeleteManagedRecord, "4-1", "Delete the managed (管理中) device record", KindConsole, true},
	DeleteGreyedOutRecord:     {DeleteGreyedOutRecord, "4-2", "Delete the greyed-out device record completely", KindConsole, true},
	DisableLostMode:           {DisableLostMode, "4", "Turn lost mode (紛失モード) off before the record is deleted", KindConsole, false},
	RemoveCertificates:        {RemoveCertificates, "4-2", "Remove the certificates issued to the device", KindConsole, true},
	RefreshLicenseCounts:      {RefreshLicenseCounts, "4-2", "Update the app license counts", KindConsole, false},
	RevokeVPPLicenses:         {RevokeVPPLicenses, "4-2", "Revoke the device's VPP app licenses", KindConsole, true},
	ABMUnassign:               {ABMUnassign, "5", "Unassign the device from the MDM server in Apple Business Manager", KindApple, true},
}

// Describe returns the description of a step; ok is false for an unknown ID.
func Describe(id StepID) (Step, bool) {
	s, ok := steps[id]
	return s, ok
}

// AllSteps lists every step ID the product knows, in the order of the vendor page.
func AllSteps() []StepID {
	return []StepID{Preflight, RemoveRestrictionsProfile, UserWipe, ConsoleWipe, RemoveProfiles, UserRemoveMDMProfile,
		AwaitGreyedOut, DisableLostMode, DeleteManagedRecord, DeleteGreyedOutRecord, RemoveCertificates,
		RefreshLicenseCounts, RevokeVPPLicenses, ABMUnassign}
}

// Outcomes a person may report for a delete step through the complete-step update (contract.md).
const (
	OutcomeDone               = "done"
	OutcomeCertificatesRemain = "certificates-remain"
	OutcomeVPPLicenseRemains  = "vpp-license-remains"
	OutcomeWorkSmart          = "work-smart"
)
