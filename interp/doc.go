// Package interp runs SCXML documents: the algorithm of Appendix D of the
// SCXML Recommendation ("Algorithm for SCXML Interpretation"), under the
// Recommendation's own names (algorithm.go), with the session state it
// works on (session.go), executable content (exec.go), invocations
// (invoke.go) and snapshots (snapshot.go).
//
// # A pure core
//
// Like etcd's raft, the interpreter does nothing by itself: it starts no
// goroutines, reads no clock and does no I/O. Time and events go in
// through explicit calls, and what a macrostep does to the world comes
// out: outbound events and <log> output through the session's Host, the
// next timer through NextDeadline, the state to checkpoint through
// Snapshot. The caller (package engine, in this module) owns goroutines,
// the real clock, routing between sessions and the store. One loop drives
// a session:
//
//	m, err := interp.Compile(doc, datamodel.Standard()) // once per document
//	s, err := m.NewSession(id, interp.Options{Host: host})
//	err = s.Start(now)                 // initial configuration, first macrostep
//	for {
//		s.Enqueue(ev)                  // events in: from the caller, other sessions, I/O
//		s.Advance(now)                 // time in: delayed sends that fell due
//		err = s.Run()                  // macrosteps until the session waits
//		snap, err := s.Snapshot()      // state out: checkpoint it (package snapshot)
//		due, ok := s.NextDeadline()    // when to call Advance next
//		if !s.Running() { break }      // a top-level final state, or Cancel
//	}
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
// events of section 5.10.1, with Options.OnError told the cause and its
// file:line:col.
package interp
