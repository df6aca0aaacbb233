package engine

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is where the engine gets time and timers: the real clock in
// production, a ManualClock in tests and replays so that delayed sends fire
// exactly when a script says, without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (real clock) or from Advance
	// (manual clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not happened; it reports whether it
	// did so.
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ManualClock is a Clock that moves only when told to. Timers fire from
// Advance, synchronously, in due order (ties in creation order), so a run
// driven by a ManualClock is deterministic. It is safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

type manualTimer struct {
	c   *ManualClock
	due time.Time
	seq uint64
	f   func()
	idx int // in c.timers; -1 once fired or stopped
}

// timerHeap orders timers by due time, then creation: a heap, so that a
// bench's clock holding a timer per session (a million) arms and stops
// them in O(log n).
type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].due.Before(h[j].due) || (h[i].due.Equal(h[j].due) && h[i].seq < h[j].seq)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// NewManualClock returns a ManualClock that reads start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when Advance passes now+d.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, due: c.now.Add(d), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return t
}

// Stop implements Timer.
func (t *manualTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.idx < 0 {
		return false
	}
	heap.Remove(&c.timers, t.idx)
	return true
}

// Advance moves the clock forward by d, firing every timer that falls due,
// each at its own due time, including timers those calls create.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves the clock to t (if later), firing due timers in order.
func (c *ManualClock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].due.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		x := heap.Pop(&c.timers).(*manualTimer)
		if x.due.After(c.now) {
			c.now = x.due
		}
		c.mu.Unlock()
		x.f()
	}
}

// Next returns the due time of the earliest pending timer.
func (c *ManualClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].due, true
}
