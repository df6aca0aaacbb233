package engine

import (
	"container/heap"
	"sync"
	"sync/atomic"
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
	mu  sync.Mutex // guards now
	now time.Time
	// cur is now for Now, which takes no lock: every macrostep reads the
	// clock, and a bench's thousands of sessions would queue on mu.
	cur atomic.Pointer[time.Time]
	seq atomic.Uint64
	// The timers, spread over shards by creation, each a heap with its
	// own lock: sessions arming and stopping their timers at once (a
	// bench's thousands) do not queue on one lock. Advance takes the
	// earliest of the shards' heads, so the order is the same.
	shards [clockShards]timerShard
}

const clockShards = 32

type timerShard struct {
	mu sync.Mutex
	h  timerHeap
	_  [32]byte // its own cache line
}

// set moves now to t. c.mu is held.
func (c *ManualClock) set(t time.Time) {
	c.now = t
	c.cur.Store(&t)
}

type manualTimer struct {
	sh  *timerShard
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
func NewManualClock(start time.Time) *ManualClock {
	c := &ManualClock{}
	c.set(start)
	return c
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time { return *c.cur.Load() }

// AfterFunc schedules f to run when Advance passes now+d.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	seq := c.seq.Add(1)
	sh := &c.shards[seq%clockShards]
	t := &manualTimer{sh: sh, due: c.Now().Add(d), seq: seq, f: f}
	sh.mu.Lock()
	heap.Push(&sh.h, t)
	sh.mu.Unlock()
	return t
}

// Stop implements Timer.
func (t *manualTimer) Stop() bool {
	sh := t.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t.idx < 0 {
		return false
	}
	heap.Remove(&sh.h, t.idx)
	return true
}

// lockAll locks every shard; unlockAll unlocks them.
func (c *ManualClock) lockAll() {
	for i := range c.shards {
		c.shards[i].mu.Lock()
	}
}

func (c *ManualClock) unlockAll() {
	for i := range c.shards {
		c.shards[i].mu.Unlock()
	}
}

// earliest returns the shard whose head is the earliest timer, or nil.
// Every shard is locked.
func (c *ManualClock) earliest() *timerShard {
	var best *timerShard
	for i := range c.shards {
		sh := &c.shards[i]
		if len(sh.h) > 0 && (best == nil || sh.h[0].due.Before(best.h[0].due) ||
			sh.h[0].due.Equal(best.h[0].due) && sh.h[0].seq < best.h[0].seq) {
			best = sh
		}
	}
	return best
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
		c.lockAll()
		sh := c.earliest()
		if sh == nil || sh.h[0].due.After(t) {
			c.unlockAll()
			if t.After(c.now) {
				c.set(t)
			}
			c.mu.Unlock()
			return
		}
		x := heap.Pop(&sh.h).(*manualTimer)
		c.unlockAll()
		if x.due.After(c.now) {
			c.set(x.due)
		}
		c.mu.Unlock()
		x.f()
	}
}

// Next returns the due time of the earliest pending timer.
func (c *ManualClock) Next() (time.Time, bool) {
	c.lockAll()
	defer c.unlockAll()
	if sh := c.earliest(); sh != nil {
		return sh.h[0].due, true
	}
	return time.Time{}, false
}
