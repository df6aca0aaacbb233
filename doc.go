// Package engine is the embedder's entry point: it runs SCXML sessions
// (package interp) on behalf of an application, owning what the pure
// interpreter leaves out: locking, the clock and timers, routing events
// between sessions, the script watchdog and, for voice sessions,
// checkpoints.
//
// Every call that delivers an event processes it synchronously: when Send
// returns, the macrostep the event caused has completed.
//
// # The loop
//
// An interp.Session never runs a goroutine, reads a clock or does I/O.
// The engine drives each one the same way, whatever started the work (a
// caller's Send, a timer, an event posted by another session or an
// extension):
//
//	s.mu.Lock()                       // one macrostep at a time per session
//	wake it if hibernated             // hibernate.go: restore from its record
//	move its inbox into its queues    // routing.go: Enqueue, EnqueueChild
//	enter(s)                          // watchdog.go: a script may now be interrupted
//	is.Advance(clock.Now())           // delayed sends that fell due
//	is.Run()                          // macrosteps until it waits for an event
//	leave(s)
//	afterMacrostep(s)                 // checkpoint.go: save (or delete) its record;
//	                                  // session.go: re-arm its timer, or retire it
//	s.mu.Unlock()
//	drain()                           // routing.go: sessions its sends made runnable
//
// During Run the interpreter hands what leaves the session to the
// engine's host (host.go): sends to other sessions are queued in their
// inboxes and processed by drain once the sender's lock is released;
// sends to an I/O processor and posted events run on goroutines of their
// own (Quiesce waits for them); invoke types of extensions go to their
// Invoker.
//
// # Files
//
//   - engine.go: Options, New, Close, Compile.
//   - session.go: a session's lifecycle (Start, Send, Cancel, process,
//     timers, retirement).
//   - routing.go: addressing sessions and their invoked children, inboxes,
//     Post, Publish, Broadcast, PostInvoke, drain.
//   - host.go: the interp.Host of every session, I/O processor sends.
//   - extensions.go: Extension and the interpreter types it uses (Action,
//     ActionContext, InvokeRequest), so that an extension imports this
//     package only.
//   - checkpoint.go: records, Resume.
//   - hibernate.go: dropping idle sessions from memory, waking them.
//   - watchdog.go: interrupting scripts that exceed ScriptBudget.
//   - clock.go, ioproc.go, open.go: time, I/O processors, configuration.
//   - observe.go: the Observer and the Logger's records.
package engine
