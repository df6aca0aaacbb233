package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/interp"
)

// watchdog is the state of the engine's script watchdog; stop is nil
// when it does not run (NoScriptBudget).
type watchdog struct {
	stop, done chan struct{}
	mu         sync.Mutex
	// watched are the watches of the sessions the watchdog scans (see
	// watch); mu.
	watched []*watch
}

// watch is what the watchdog knows of one session. A session joins the
// watchdog's set on its first macrostep and leaves it when it ends or is
// hibernated, so that a macrostep costs two atomic stores and no
// allocation, and a hibernated session neither holds a watch nor costs
// the watchdog's ticks anything (it has no scratch then).
type watch struct {
	// cur is the interpreter session while it runs a macrostep, nil
	// between macrosteps. The watchdog reads it instead of Session.sess,
	// which RestoreEveryStep replaces under Session.mu.
	cur atomic.Pointer[interp.Session]

	// idx is the session's index in Engine.wd.watched; Engine.wd.mu.
	idx int

	// Used by the watchdog goroutine only: the generation of the script
	// seen running in last, and since when.
	last  *interp.Session
	gen   uint64
	since time.Time
}

// enter marks s as inside a macrostep. s.mu is held.
func (e *Engine) enter(s *Session) {
	if e.wd.stop == nil {
		return
	}
	if s.scratch == nil {
		s.scratch = &scratch{}
	}
	if s.scratch.wd == nil {
		w := &watch{}
		e.wd.mu.Lock()
		w.idx = len(e.wd.watched)
		e.wd.watched = append(e.wd.watched, w)
		e.wd.mu.Unlock()
		s.scratch.wd = w
	}
	s.scratch.wd.cur.Store(s.sess)
}

// watchRead marks s as running is, an interpreter session it reads
// between macrosteps (Session.Eval): the watchdog interrupts it like a
// macrostep's script. s.mu is held; leave ends it.
func (e *Engine) watchRead(s *Session, is *interp.Session) {
	if e.wd.stop == nil {
		return
	}
	e.enter(s)
	s.scratch.wd.cur.Store(is)
}

// leave marks s as between macrosteps. s.mu is held.
func (e *Engine) leave(s *Session) {
	if s.scratch == nil || s.scratch.wd == nil {
		return
	}
	s.scratch.wd.cur.Store(nil)
	if s.sess == nil {
		// A hibernated session read (Eval): it stays out of the set,
		// and keeps no scratch.
		e.unwatch(s)
		s.scratch = nil
	}
}

// unwatch drops an ended or hibernated session from the watchdog's set,
// and its watch with it (the watchdog may still be looking at that watch
// in its current tick: it is not reused). s.mu is held.
func (e *Engine) unwatch(s *Session) {
	if s.scratch == nil || s.scratch.wd == nil {
		return
	}
	w := s.scratch.wd
	s.scratch.wd = nil
	e.wd.mu.Lock()
	last := len(e.wd.watched) - 1
	moved := e.wd.watched[last]
	e.wd.watched[w.idx] = moved
	moved.idx = w.idx
	e.wd.watched[last] = nil
	e.wd.watched = e.wd.watched[:last]
	// A set that shrank to a quarter of its capacity (a burst of
	// sessions hibernated or ended) gives the rest back.
	if c := cap(e.wd.watched); c > 64 && last < c/4 {
		e.wd.watched = append(make([]*watch, 0, c/2), e.wd.watched...)
	}
	e.wd.mu.Unlock()
}

// interruptAll interrupts every script running now (Shutdown, when its
// context ends before the macrosteps in flight).
func (e *Engine) interruptAll() {
	e.wd.mu.Lock()
	defer e.wd.mu.Unlock()
	for _, w := range e.wd.watched {
		if is := w.cur.Load(); is != nil {
			if gen := is.Busy(); gen&1 == 1 {
				is.Interrupt(gen)
			}
		}
	}
}

// watchdog interrupts scripts that run longer than ScriptBudget. It reads
// the wall clock on purpose: the budget is about CPU time actually spent,
// whatever Clock the sessions run on. Each tick costs one atomic load per
// running session; only sessions inside a macrostep are looked at further.
func (e *Engine) watchdog() {
	defer close(e.wd.done)
	budget := e.opts.ScriptBudget
	tick := time.NewTicker(budget / 4)
	defer tick.Stop()
	var scan []*watch
	for {
		select {
		case <-e.wd.stop:
			return
		case now := <-tick.C:
			e.wd.mu.Lock()
			scan = append(scan[:0], e.wd.watched...)
			e.wd.mu.Unlock()
			for _, w := range scan {
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
			if cap(scan) > 64 && len(scan) < cap(scan)/4 {
				scan = nil // nor a burst's capacity
			}
		}
	}
}
