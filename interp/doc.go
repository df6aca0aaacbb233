// Package interp runs SCXML documents: the algorithm of Appendix D of the
// SCXML Recommendation ("Algorithm for SCXML Interpretation"), under the
// Recommendation's own names (algorithm.go), with the session state it
// works on (session.go), executable content (exec.go), invocations
// (invoke.go), the effects it returns (outbox.go) and snapshots
// (snapshot.go).
//
// # A pure core
//
// Like etcd's raft, the interpreter does nothing by itself: it starts no
// goroutines, reads no clock and does no I/O. Time and events go in
// through explicit calls, and what a macrostep does to the world comes
// out, for the caller to carry out: the effects (outbound events,
// services to start and stop, <log> output, why error events were
// raised) in the outbox (TakeOutbox, as raft's Ready), the next timer
// through NextDeadline, the state to checkpoint through Snapshot. The
// caller (package engine, in this module) owns goroutines, the real
// clock, routing between sessions and the store. One loop drives a
// session:
//
//	m, err := interp.Compile(doc, datamodel.Standard()) // once per document
//	s, err := m.NewSession(id, interp.Options{Host: host})
//	err = s.Start(now)                 // initial configuration, first macrostep
//	for {
//		s.Enqueue(ev)                  // events in: from the caller, other sessions, I/O
//		s.Advance(now)                 // time in: delayed sends that fell due
//		err = s.Run()                  // macrosteps until the session waits
//		fx = s.TakeOutbox(fx[:0])      // effects out, in the order they happened
//		carry out fx                   // deliver, invoke, log: the session may be released
//		snap, err := s.Snapshot()      // state out: checkpoint it (package snapshot)
//		due, ok := s.NextDeadline()    // when to call Advance next
//		if !s.Running() { break }      // a top-level final state, or Cancel
//	}
//
// Carrying the effects out before writing the checkpoint that follows
// them makes them at-least-once: a caller that fails in between resumes
// from the checkpoint before them and runs the macrosteps again. During
// the macrostep the session asks its Host one question only, Route:
// where an event for a target outside its tree goes, answered without
// delivering it, so that an unreachable or malformed target raises its
// error event at once (section 6.2), and an event a session sends itself
// through another I/O processor joins its queue in order with its other
// sends to itself. Everything inside a session tree (the internal and
// external queues, invoked SCXML children, #_parent) is delivered at once
// by the interpreter itself.
//
// A Session is one value: configuration, queues, delayed sends, history,
// invoked children (which run inside their parent's macrostep) and the
// datamodel. Snapshot captures all of it between two macrosteps, and
// Machine.Restore rebuilds a session that behaves exactly as the original
// would have, without re-running anything.
//
// # Documents and datamodels
//
// Compile prepares an immutable scxml.Document once (precomputed state
// relations, the datamodel's compiled expressions) for every session of
// it, concurrently. The interpreter knows no datamodel of its own: it
// calls the Datamodel interface, and Compile picks the implementation by
// the document's datamodel attribute from the Datamodels it is given.
// Package datamodel has the standard ones (ECMAScript, null); a datamodel
// exports its variables for snapshots (Var, Value) and can be interrupted
// by a watchdog (Session.Busy, Session.Interrupt), the only calls safe
// from another goroutine.
//
// Errors in the chart (a bad expression, an unreachable target) are not
// Go errors: they become the error.execution and error.communication
// events of section 5.10.1, with the cause and its file:line:col in the
// outbox (EffectError).
package interp
