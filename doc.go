// Package engine is the embedder's entry point: it runs SCXML sessions
// (package interp) on behalf of an application, owning what the pure
// interpreter leaves out: locking, the clock and timers, routing events
// between sessions, the script watchdog and, for voice sessions,
// checkpoints.
//
// Every call that delivers an event processes it synchronously: when Send
// returns, the macrostep the event caused has completed and its effects
// were carried out.
//
// Callbacks (Options.Log, OnError, an Extension's Invoker, an I/O
// processor's Send, the Observer's ErrorEvent) run after the macrostep,
// off the session's lock: they may read the session they come from
// (Configuration, Value, ...), Post to it, and Send to other sessions,
// even ones that send back to it. A Send to (or Cancel or Checkpoint of)
// the session whose effects are being carried out waits until they are,
// so it must not be made from their own callbacks: Post instead. Custom actions, host functions and
// the Observer's other functions run inside the macrostep: they must not
// call back into their session.
//
// # The loop
//
// An interp.Session never runs a goroutine, reads a clock or does I/O.
// The engine drives each one the same way, whatever started the work (a
// caller's Send, a timer, an event posted by another session or an
// extension):
//
//	lockIdle(s)                       // one macrostep at a time per session
//	wake it if hibernated             // hibernate.go: restore from its record
//	move its inbox into its queues    // routing.go: Enqueue, EnqueueChild
//	enter(s)                          // watchdog.go: a script may now be interrupted
//	is.Advance(clock.Now())           // delayed sends that fell due
//	is.Run()                          // macrosteps until it waits for an event
//	leave(s)
//	fx := is.TakeOutbox(spare)        // session.go (carry): its effects, in order
//	s.mu.Unlock()                     // the session is readable again
//	carry out fx                      // host.go: deliveries, I/O, Invoke, Log, OnError
//	s.mu.Lock()
//	afterMacrostep(s)                 // checkpoint.go: save (or delete) its record;
//	                                  // session.go: re-arm its timer, or retire it
//	s.mu.Unlock()                     // the next macrostep of s may run
//	drain()                           // routing.go: sessions its sends made runnable
//
// During Run the interpreter asks the engine's host (host.go) only where
// an outbound event goes (Route, which delivers nothing); what the
// macrosteps do to the world comes back in the interpreter's outbox
// (interp.Effect), which the engine carries out in order once the
// session's lock is released, so that no callback (Options.Log, OnError,
// an extension's Invoker, an I/O processor) runs under it: sends to other
// sessions are queued in their inboxes and processed by drain; sends to an
// I/O processor and posted events run on goroutines of their own (Quiesce
// waits for them); invoke types of extensions go to their Invoker. No
// other macrostep of the session runs, nor is it checkpointed, until its
// effects are out: they leave in order, before the checkpoint that
// follows them (at least once: a node that fails in between resumes the
// session from the checkpoint before them and runs its macrosteps
// again). A session sending itself an event, through any I/O processor,
// gets it at once, in order with its other sends to itself.
//
// # Files
//
//   - engine.go: Options, New, Close, Compile.
//   - session.go: a session's lifecycle (Start, Send, Cancel, process,
//     timers, retirement).
//   - routing.go: addressing sessions and their invoked children, inboxes,
//     Post, Publish, Broadcast, PostInvoke, drain.
//   - host.go: the interp.Host of every session (Route) and the carrying
//     out of the effects of their macrosteps (the outbox).
//   - extensions.go: Extension and the interpreter types it uses (Action,
//     ActionContext, InvokeRequest), so that an extension imports this
//     package only.
//   - checkpoint.go: records, Resume; recordsize.go: MaxRecordSize.
//   - hibernate.go: dropping idle sessions from memory, waking them.
//   - watchdog.go: interrupting scripts that exceed ScriptBudget.
//   - data.go: data in and out (StartOptions.Data, Session.Data, Value,
//     Eval, Sessions, CheckpointAll); record.go: a record's data.
//   - door.go: input checked when it comes in; panics.go: extension code
//     that panics; loader.go: what src attributes name.
//   - clock.go, ioproc.go, open.go: time, I/O processors, configuration.
//   - observe.go: the Observer and the Logger's records.
package engine
