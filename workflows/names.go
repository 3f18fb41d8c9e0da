// Package workflows holds Offboard's deterministic code: DeviceOffboarding (one device through
// the vendor procedure), FleetRetirement (many devices) and the Apple coordinator. Workflows
// decide; activities act. The names others rely on are in internal/contract.
package workflows

import (
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/contract"
)

// Search attribute keys, typed, of contract.md's names.
var (
	SADeviceSerial = temporal.NewSearchAttributeKeyKeyword(contract.SADeviceSerial)
	SAOffboardPath = temporal.NewSearchAttributeKeyKeyword(contract.SAOffboardPath)
	SAOffboardStep = temporal.NewSearchAttributeKeyKeyword(contract.SAOffboardStep)
	SAWaitingOn    = temporal.NewSearchAttributeKeyKeyword(contract.SAWaitingOn)
	SAFleetID      = temporal.NewSearchAttributeKeyKeyword(contract.SAFleetID)
)

// signalDeviceFinished is internal: a fleet's device tells its fleet it has ended.
const signalDeviceFinished = "device-finished"
