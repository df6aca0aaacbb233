package engine

import (
	"fmt"

	"github.com/orsgo/engine/interp"
)

// Extension code that panics. Everything an embedder plugs in (custom
// actions, invokers, I/O processors, host objects' functions, the Options'
// callbacks) runs inside a macrostep or on one of the engine's
// goroutines, where a panic would take the whole node down with every
// session on it. Each call into such code is guarded: a panic becomes an
// error wrapping ErrPanic that names the code and, where a document
// element ran it, the element's file:line:col. Inside a macrostep the
// session raises error.execution (error.communication for a send) as for
// any failing action; elsewhere the caller gets the error, or
// OnSessionError hears of it.

// ErrPanic is wrapped by the error made of a panic in extension code
// (custom action, Invoker, IOProcessor, host object, callback).
var ErrPanic = interp.ErrPanic

// guard runs f, turning a panic into an error naming what ran.
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: %v", what, ErrPanic, r)
		}
	}()
	return f()
}

// guarded runs f, a callback that returns nothing; a panic is reported
// to OnSessionError for sessionID.
func (e *Engine) guarded(sessionID, what string, f func()) {
	if err := guard(what, func() error { f(); return nil }); err != nil {
		e.sessionError(sessionID, err)
	}
}

// onStoreError tells OnStoreError of err.
func (e *Engine) onStoreError(sessionID string, err error) {
	if e.opts.OnStoreError != nil {
		e.guarded(sessionID, "OnStoreError", func() { e.opts.OnStoreError(sessionID, err) })
	}
}

// sessionError reports the failure of a session that no caller waits on
// to OnSessionError (a panic there is dropped: there is no one left to
// tell).
func (e *Engine) sessionError(sessionID string, err error) {
	if err == nil || e.opts.OnSessionError == nil {
		return
	}
	_ = guard("OnSessionError", func() error { e.opts.OnSessionError(sessionID, err); return nil })
}
