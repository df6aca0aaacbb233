package engine

import (
	"sync"
	"time"
)

// Session timers. Each session with a delayed send pending (or a wake to
// retry) has an entry in one engine-level heap, ordered by due time and
// then by arming order, and the engine holds one timer of its Clock,
// armed for the heap's head. A pending timer so costs a session an entry
// of the heap (16 bytes) and its index (Session.tidx), instead of a timer
// of the Clock and its closure per session (~150 bytes with the runtime's
// or a ManualClock's): what a node holding a million hibernated sessions,
// most with a timeout pending, pays for them.
//
// When the Clock's timer fires, the sessions due are taken off the heap
// and each is processed as its own timer used to be: from the firing
// call itself, in due order, with a ManualClock (so that a run it drives
// stays deterministic), and in a goroutine of its own otherwise (through
// Clock.AfterFunc with no delay), so that one slow checkpoint does not
// hold the others back.
type sessionTimers struct {
	mu sync.Mutex
	h  []timerEntry
	// seq numbers the entries in arming order, for ties (Session.tseq).
	seq uint32
	// timer is the Clock's, armed for at (Unix ns), nil when none; gen
	// tells its call from that of a timer stopped too late.
	timer Timer
	at    int64
	gen   uint64
	// firing says that fire is taking due entries off the heap: it arms
	// the Clock's timer once done.
	firing bool
	// stopped says the engine closed: nothing is armed any more.
	stopped bool
}

// timerEntry is a session's pending timer. Session.tidx is its index in
// the heap plus one; sessionTimers.mu guards both.
type timerEntry struct {
	due int64 // Unix ns
	s   *Session
}

// timerFell is Session.tidx of a session whose timer fell due and was
// neither re-armed nor stopped since.
const timerFell = -1

// inlineClock is implemented by clocks that fire timers synchronously
// and in order (ManualClock): the sessions due are processed from the
// firing call, in due order, as their own timers would have been.
type inlineClock interface{ firesInline() }

func (*ManualClock) firesInline() {}

// before orders entries by due time, then arming order (tseq, which
// wraps: entries armed 2^31 armings apart compare the wrong way round).
func (a timerEntry) before(b timerEntry) bool {
	return a.due < b.due || a.due == b.due && int32(a.s.tseq-b.s.tseq) < 0
}

// armTimerAt (re-)arms the session's timer to process it at due. s.mu is
// held.
func (e *Engine) armTimerAt(s *Session, due time.Time) {
	if e.closed.Load() {
		return // Shutdown stopped its timers: none is armed again
	}
	e.tm.arm(e, s, due.UnixNano())
}

// stopTimer disarms the session's timer, if armed, and forgets that it
// fell due.
func (e *Engine) stopTimer(s *Session) {
	t := &e.tm
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.tidx > 0 {
		t.remove(int(s.tidx) - 1)
		t.rearm(e)
	}
	s.tidx = 0
}

// timerState returns when the session's timer is due, whether it is
// armed, and whether it fell due and was neither re-armed nor stopped
// since.
func (e *Engine) timerState(s *Session) (due time.Time, armed, fell bool) {
	t := &e.tm
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.tidx > 0 {
		return time.Unix(0, t.h[s.tidx-1].due), true, false
	}
	return time.Time{}, false, s.tidx == timerFell
}

// arm sets the session's entry to due, adding it if it has none. An entry
// already due then is left alone (its arming order kept).
func (t *sessionTimers) arm(e *Engine, s *Session, due int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if s.tidx > 0 {
		i := int(s.tidx) - 1
		if t.h[i].due == due {
			return
		}
		t.seq++
		t.h[i].due, s.tseq = due, t.seq
		if !t.up(i) {
			t.down(i)
		}
	} else {
		t.seq++
		s.tseq = t.seq
		t.h = append(t.h, timerEntry{due: due, s: s})
		i := len(t.h) - 1
		s.tidx = int32(i + 1)
		t.up(i)
	}
	t.rearm(e)
}

// rearm arms the Clock's timer for the head of the heap, unless it is
// armed for it already, and stops it when the heap is empty. t.mu is
// held.
func (t *sessionTimers) rearm(e *Engine) {
	if t.firing || t.stopped {
		return
	}
	if len(t.h) == 0 {
		if t.timer != nil {
			t.timer.Stop()
			t.timer, t.at = nil, 0
		}
		return
	}
	head := t.h[0].due
	if t.timer != nil && t.at == head {
		return
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	t.gen++
	gen := t.gen
	t.at = head
	t.timer = e.clock.AfterFunc(max(0, time.Duration(head-e.clock.Now().UnixNano())), func() { e.fireTimers(gen) })
}

// stop disarms everything: the engine closed.
func (t *sessionTimers) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	for i := range t.h {
		t.h[i].s.tidx = 0
	}
	t.h = nil
}

// fireTimers is the call of the Clock's timer armed as generation gen: it
// takes the sessions due off the heap and processes each, then arms the
// timer for the next.
func (e *Engine) fireTimers(gen uint64) {
	t := &e.tm
	_, inline := e.clock.(inlineClock)
	t.mu.Lock()
	if gen != t.gen || t.stopped || t.firing {
		// Stopped too late, or the engine closed.
		t.mu.Unlock()
		return
	}
	t.timer, t.at = nil, 0
	t.firing = true
	for len(t.h) > 0 && t.h[0].due <= e.clock.Now().UnixNano() {
		s := t.h[0].s
		t.remove(0)
		s.tidx = timerFell
		t.mu.Unlock()
		if inline {
			e.fireSession(s)
		} else {
			e.clock.AfterFunc(0, func() { e.fireSession(s) })
		}
		t.mu.Lock()
	}
	t.firing = false
	t.rearm(e)
	t.mu.Unlock()
}

// fireSession processes s, whose timer fell due.
func (e *Engine) fireSession(s *Session) {
	e.sessionError(s.id, e.process(e.ctx, s, false)) // no caller waits for it
	e.drain()
}

// remove takes entry i off the heap. t.mu is held.
func (t *sessionTimers) remove(i int) {
	t.h[i].s.tidx = 0
	last := len(t.h) - 1
	if i != last {
		t.h[i] = t.h[last]
		t.h[i].s.tidx = int32(i + 1)
	}
	t.h[last] = timerEntry{}
	t.h = t.h[:last]
	if i != last && !t.up(i) {
		t.down(i)
	}
	// A heap that shrank to a quarter of its capacity gives the rest
	// back (a million sessions' timers that fell due).
	if c := cap(t.h); c > 1024 && len(t.h) < c/4 {
		t.h = append(make([]timerEntry, 0, c/2), t.h...)
	}
}

// up moves entry i towards the root while it is due before its parent;
// it reports whether it moved.
func (t *sessionTimers) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !t.h[i].before(t.h[p]) {
			break
		}
		t.swap(i, p)
		i = p
		moved = true
	}
	return moved
}

func (t *sessionTimers) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && t.h[r].before(t.h[l]) {
			c = r
		}
		if !t.h[c].before(t.h[i]) {
			return
		}
		t.swap(i, c)
		i = c
	}
}

func (t *sessionTimers) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].s.tidx = int32(i + 1)
	t.h[j].s.tidx = int32(j + 1)
}
