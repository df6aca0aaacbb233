package recovery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
)

// TestLease: the primary renews the lease; when it stops (it died), the
// backup takes the lease and switches over by itself, fencing it; the old
// primary, back, finds the lease taken and becomes a backup.
func TestLease(t *testing.T) {
	ctx := context.Background()
	st := persist.NewMemory(persist.MemoryOptions{})
	doc := parse(t, queue)
	a := newEngine(t, "A", engine.RealClock{}, st)
	b := newEngine(t, "B", engine.RealClock{}, st)
	opts := recovery.Options{Documents: recovery.NewLibrary(doc)}
	na, err := recovery.NewNode(a, recovery.Primary, "B", opts)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := recovery.NewNode(b, recovery.Backup, "A", opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for range n {
		if _, err := a.Start(ctx, doc, engine.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A TTL that a loaded machine's scheduling delays do not outlast.
	lo := recovery.LeaseOptions{TTL: 2 * time.Second, Interval: 200 * time.Millisecond}
	var mu sync.Mutex
	var promoted time.Time
	var switchErr error
	lob := lo
	lob.OnChange = func(r recovery.Role, rep *recovery.Report, err error) {
		mu.Lock()
		defer mu.Unlock()
		if r == recovery.Primary && promoted.IsZero() {
			promoted, switchErr = time.Now(), err
		}
	}
	actx, stopA := context.WithCancel(ctx)
	bctx, stopB := context.WithCancel(ctx)
	defer stopB()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = na.RunLease(actx, lo) }()
	time.Sleep(20 * time.Millisecond) // A takes the lease first
	go func() { defer wg.Done(); _ = nb.RunLease(bctx, lob) }()
	time.Sleep(2 * lo.TTL)
	if na.Role() != recovery.Primary || nb.Role() != recovery.Backup {
		t.Fatalf("while A renews: A %v, B %v", na.Role(), nb.Role())
	}
	stopA() // A dies: no more renewals
	died := time.Now()
	// Wait for the switchover to be over (OnChange hears of it then).
	deadline := time.Now().Add(30 * time.Second)
	var detect time.Duration
	var serr error
	for {
		mu.Lock()
		done := !promoted.IsZero()
		detect, serr = promoted.Sub(died), switchErr
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B did not take over within 30 s of A's last renewal")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	t.Logf("detection: B switched over %v after A's lease loop stopped (TTL %v, interval %v)", detect, lo.TTL, lo.Interval)
	if b.Len() != n {
		t.Fatalf("B runs %d sessions, want %d", b.Len(), n)
	}
	// A comes back: the lease is B's, so A is a backup; its engine was
	// fenced by the switchover.
	actx, stopA = context.WithCancel(ctx)
	defer stopA()
	wg.Add(1)
	go func() { defer wg.Done(); _ = na.RunLease(actx, lo) }()
	deadline = time.Now().Add(10 * time.Second)
	for na.Role() != recovery.Backup {
		if time.Now().After(deadline) {
			t.Fatal("A, back, stayed primary")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if nb.Role() != recovery.Primary {
		t.Fatal("B lost the lease to A")
	}
	stopA()
	stopB()
	wg.Wait()
}
