// Package oracletest is the vendor procedure written a second time, for tests only: the space of
// device situations the product must handle, and for each one what must happen, as a small table
// of rules read off ../shared/docs/procedure.md (the vendor page restated as a specification) and
// the README's decisions. No product code imports it.
//
// It deliberately imports nothing from internal/procedure (nor from workflows): the workflow plans
// with internal/procedure, and a test whose expectation came from the same code could not catch
// the mistakes they share. Step IDs and console command names are written out as contract.md and
// docs/console-api.md spell them.
//
// Files:
//   - space.go:  the dimensions, the raw cross product and the collapses of what cannot apply.
//   - oracle.go: the rules: the outcome of a combination and the order of its commands.
//   - check.go:  a run's events (from the fake console or the simulator's ledger) against them.
//   - person.go: the scripted operator of console mode "operator", who works in the console.
package oracletest
