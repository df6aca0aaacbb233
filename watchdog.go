package engine

import "time"

// watch is what the watchdog remembers of a session that is processing.
type watch struct {
	gen   uint64
	since time.Time
}

func (e *Engine) enter(s *Session) {
	if e.stopWD != nil {
		e.active.Store(s, &watch{})
	}
}

func (e *Engine) leave(s *Session) {
	if e.stopWD != nil {
		e.active.Delete(s)
	}
}

// watchdog interrupts scripts that run longer than ScriptBudget. It reads
// the wall clock on purpose: the budget is about CPU time actually spent,
// whatever Clock the sessions run on. Only sessions inside a macrostep are
// looked at, so its cost does not grow with the number of idle sessions.
func (e *Engine) watchdog() {
	defer close(e.wdDone)
	budget := e.opts.ScriptBudget
	tick := time.NewTicker(budget / 4)
	defer tick.Stop()
	for {
		select {
		case <-e.stopWD:
			return
		case now := <-tick.C:
			e.active.Range(func(k, v any) bool {
				s, w := k.(*Session), v.(*watch)
				gen := s.sess.Busy()
				switch {
				case gen&1 == 0:
					w.gen = 0
				case gen != w.gen:
					w.gen, w.since = gen, now
				case now.Sub(w.since) >= budget:
					s.sess.Interrupt(gen)
				}
				return true
			})
		}
	}
}
