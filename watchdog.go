package engine

import (
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/interp"
)

// watch is what the watchdog knows of one session. A session joins the
// watchdog's set on its first macrostep and leaves it when it ends, so
// that a macrostep costs two atomic stores and no allocation.
type watch struct {
	// cur is the interpreter session while it runs a macrostep, nil
	// between macrosteps. The watchdog reads it instead of Session.sess,
	// which RestoreEveryStep replaces under Session.mu.
	cur atomic.Pointer[interp.Session]

	// on says the session is in the watchdog's set; Session.mu.
	on bool
	// idx is the session's index in Engine.watched; Engine.wdMu.
	idx int

	// Used by the watchdog goroutine only: the generation of the script
	// seen running in last, and since when.
	last  *interp.Session
	gen   uint64
	since time.Time
}

// enter marks s as inside a macrostep. s.mu is held.
func (e *Engine) enter(s *Session) {
	if e.stopWD == nil {
		return
	}
	if !s.wd.on {
		s.wd.on = true
		e.wdMu.Lock()
		s.wd.idx = len(e.watched)
		e.watched = append(e.watched, s)
		e.wdMu.Unlock()
	}
	s.wd.cur.Store(s.sess)
}

// leave marks s as between macrosteps. s.mu is held.
func (e *Engine) leave(s *Session) {
	if e.stopWD != nil {
		s.wd.cur.Store(nil)
	}
}

// unwatch drops an ended session from the watchdog's set. s.mu is held.
func (e *Engine) unwatch(s *Session) {
	if !s.wd.on {
		return
	}
	s.wd.on = false
	e.wdMu.Lock()
	last := len(e.watched) - 1
	moved := e.watched[last]
	e.watched[s.wd.idx] = moved
	moved.wd.idx = s.wd.idx
	e.watched[last] = nil
	e.watched = e.watched[:last]
	e.wdMu.Unlock()
}

// watchdog interrupts scripts that run longer than ScriptBudget. It reads
// the wall clock on purpose: the budget is about CPU time actually spent,
// whatever Clock the sessions run on. Each tick costs one atomic load per
// running session; only sessions inside a macrostep are looked at further.
func (e *Engine) watchdog() {
	defer close(e.wdDone)
	budget := e.opts.ScriptBudget
	tick := time.NewTicker(budget / 4)
	defer tick.Stop()
	var scan []*Session
	for {
		select {
		case <-e.stopWD:
			return
		case now := <-tick.C:
			e.wdMu.Lock()
			scan = append(scan[:0], e.watched...)
			e.wdMu.Unlock()
			for _, s := range scan {
				w := &s.wd
				is := w.cur.Load()
				if is == nil {
					w.last, w.gen = nil, 0
					continue
				}
				gen := is.Busy()
				switch {
				case gen&1 == 0:
					w.last, w.gen = nil, 0
				case is != w.last || gen != w.gen:
					// A generation is only ever reused by another
					// interpreter session (one restored by
					// RestoreEveryStep); last keeps that one from
					// being collected, so pointers compare safely.
					w.last, w.gen, w.since = is, gen, now
				case now.Sub(w.since) >= budget:
					is.Interrupt(gen)
				}
			}
			clear(scan) // hold no ended session until the next tick
		}
	}
}
