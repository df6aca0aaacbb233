package engine

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// A hibernated session costs its Session struct: it stays within the
// 256-byte size class (issue 15: a million on one node).
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 256 {
		t.Fatalf("Session is %d bytes, want at most 256 (the allocator's size class)", n)
	}
}

// The heap of session timers hands entries back in due order, ties in
// arming order, through re-arms and stops, and keeps the Clock's one
// timer armed for its head.
func TestSessionTimerHeap(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewManualClock(start)
	e := &Engine{clock: clock}
	r := rand.New(rand.NewPCG(1, 2))
	ss := make([]*Session, 500)
	want := map[*Session]int64{}
	for i := range ss {
		ss[i] = &Session{id: string(rune('a' + i%26))}
		due := start.Add(time.Duration(r.IntN(50)) * time.Second)
		e.armTimerAt(ss[i], due)
		want[ss[i]] = due.UnixNano()
	}
	// Re-arm a third, stop a third.
	for i, s := range ss {
		switch i % 3 {
		case 1:
			due := start.Add(time.Duration(r.IntN(50)) * time.Second)
			e.armTimerAt(s, due)
			want[s] = due.UnixNano()
		case 2:
			e.stopTimer(s)
			delete(want, s)
			if _, armed, fell := e.timerState(s); armed || fell || s.tidx != 0 {
				t.Fatalf("stopped: armed %v, fell %v, tidx %d", armed, fell, s.tidx)
			}
		}
	}
	for s, due := range want {
		if got, armed, _ := e.timerState(s); !armed || got.UnixNano() != due {
			t.Fatalf("timerState = %v, %v; want %v, armed", got, armed, time.Unix(0, due))
		}
	}
	if len(e.tm.h) != len(want) {
		t.Fatalf("%d entries, want %d", len(e.tm.h), len(want))
	}
	if next, ok := clock.Next(); !ok || next.UnixNano() != e.tm.h[0].due {
		t.Fatalf("clock's next timer %v (%v), want the head's %v", next, ok, time.Unix(0, e.tm.h[0].due))
	}
	var prev timerEntry
	for n := 0; len(e.tm.h) > 0; n++ {
		x := e.tm.h[0]
		if x.s.tidx != 1 {
			t.Fatalf("head's tidx = %d", x.s.tidx)
		}
		if n > 0 && x.before(prev) {
			t.Fatalf("entry %d (due %d, seq %d) before the previous one (due %d, seq %d)", n, x.due, x.s.tseq, prev.due, prev.s.tseq)
		}
		if want[x.s] != x.due {
			t.Fatalf("entry due %d, armed for %d", x.due, want[x.s])
		}
		delete(want, x.s)
		prev = x
		e.tm.mu.Lock()
		e.tm.remove(0)
		e.tm.rearm(e)
		e.tm.mu.Unlock()
	}
	if len(want) != 0 {
		t.Fatalf("%d entries never came out", len(want))
	}
	if _, ok := clock.Next(); ok {
		t.Fatal("the clock's timer is armed with no session timer pending")
	}
}
