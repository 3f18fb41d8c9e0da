package workflows

import "go.temporal.io/sdk/workflow"

// pump takes the signals of ch as they come, in a coroutine of their own: whenever ch holds a
// value it calls take until take reports that it found none (take does its own ReceiveAsync).
//
// It waits with workflow.Await on the channel's length rather than blocking in Receive. A blocked
// Receive (or a Selector's receive) is handed a signal the moment the signal is delivered, before
// its coroutine runs; a continue-as-new decided in the same workflow task then goes without it,
// because the drain before the continue-as-new (ReceiveAsync) cannot see a value already handed
// out. A value this pump has not taken stays in the channel, where the drain finds it.
func pump(ctx workflow.Context, ch workflow.ReceiveChannel, take func() bool) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return ch.Len() > 0 }) == nil {
			for take() {
			}
		}
	})
}

// takeOne takes one value from ch, if one is there, and hands it to handle; it reports whether
// it took one (a take function for pump, and a drain: `for takeOne(ch, h) {}`).
func takeOne[T any](ch workflow.ReceiveChannel, handle func(T)) bool {
	var v T
	if !ch.ReceiveAsync(&v) {
		return false
	}
	handle(v)
	return true
}
