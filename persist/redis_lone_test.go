package persist

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// callerKey marks the context of a Save's caller.
type callerKey struct{}

// ctxHook counts the commands sent under a caller's context (the Save
// was written from its caller's goroutine) and under another (a
// committer's).
type ctxHook struct{ caller, other atomic.Int64 }

func (h *ctxHook) note(ctx context.Context) {
	if ctx.Value(callerKey{}) != nil {
		h.caller.Add(1)
	} else {
		h.other.Add(1)
	}
}

func (h *ctxHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *ctxHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.note(ctx); return next(ctx, cmd) }
}

func (h *ctxHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.note(ctx); return next(ctx, cmds) }
}

// A Save that finds the group committer idle is written from its
// caller's goroutine (under its context), without the hand-offs to a
// committer and back; with a Linger, or while other Saves are in flight,
// Saves go through the committers. Either way every Save is written
// and the count of busy Saves returns to zero.
func TestRedisLoneSave(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.WithValue(context.Background(), callerKey{}, true)
	for _, tc := range []struct {
		name   string
		opts   RedisOptions
		caller bool // the lone Save is written under the caller's context
	}{
		{"group commit", RedisOptions{}, true},
		{"linger", RedisOptions{Linger: time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := &ctxHook{}
			c := redis.NewClient(&redis.Options{Addr: srv.Addr})
			c.AddHook(hook)
			opts := tc.opts
			opts.Cluster = fmt.Sprintf("lone%d", namespaces.Add(1))
			opts.SweepInterval = NoSweep
			st, err := NewRedis(c, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Save(ctx, &Record{SessionID: "s1", Node: "A", Seq: 1, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if got := hook.caller.Load() > 0; got != tc.caller {
				t.Fatalf("lone Save written under the caller's context: %v, want %v (caller %d, other %d)", got, tc.caller, hook.caller.Load(), hook.other.Load())
			}
			// A burst: some Saves find others busy and queue.
			const n = 64
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = st.Save(ctx, &Record{SessionID: fmt.Sprintf("b%02d", i), Node: "A", Seq: 1, Data: []byte{byte(i)}})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("b%02d: %v", i, err)
				}
			}
			if b := st.busy.Load(); b != 0 {
				t.Fatalf("%d Saves still counted busy after all returned", b)
			}
			for i := range n {
				rec, err := st.Load(context.Background(), fmt.Sprintf("b%02d", i))
				if err != nil || len(rec.Data) != 1 || rec.Data[0] != byte(i) {
					t.Fatalf("b%02d: %v %v", i, rec, err)
				}
			}
			if s := st.Stats(); s.Saves != n+1 {
				t.Fatalf("stats %+v, want %d Saves", s, n+1)
			}
		})
	}
}
