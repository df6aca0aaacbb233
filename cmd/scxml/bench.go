package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// benchResult is what scxml bench measures; with --json it is printed as
// one object with exactly these fields. The checkpoint figures are 0
// without a store, the hibernated one without --hibernate-after.
type benchResult struct {
	MacrostepsPerS      float64 `json:"macrosteps_per_s"`
	SendP50us           float64 `json:"send_p50_us"`
	SendP99us           float64 `json:"send_p99_us"`
	AllocsPerMacrostep  float64 `json:"allocs_per_macrostep"`
	BytesPerMacrostep   float64 `json:"bytes_per_macrostep"`
	HeapBytesPerSession float64 `json:"heap_bytes_per_session"`
	CheckpointsPerS     float64 `json:"checkpoints_per_s"`
	CheckpointBytes     float64 `json:"checkpoint_bytes"`
	// HibernatedHeapBytesPerSession is the live heap (HeapAlloc) of
	// each hibernated session once the sessions went idle after the
	// send phase: with them hibernated, minus once the engine was
	// closed and dropped (the store's records count in neither).
	HibernatedHeapBytesPerSession float64 `json:"hibernated_heap_bytes_per_session"`
	Sessions                      int     `json:"sessions"`
	Events                        int     `json:"events"`
	ElapsedS                      float64 `json:"elapsed_s"`
}

// countingStore counts the checkpoints the engine writes and their size.
type countingStore struct {
	persist.Store
	saves atomic.Int64
	bytes atomic.Int64
}

func (c *countingStore) Save(ctx context.Context, rec *persist.Record) error {
	c.saves.Add(1)
	c.bytes.Add(int64(len(rec.Data)))
	return c.Store.Save(ctx, rec)
}

// TTL and Touch pass persist.Expirer through, so that the records of
// hibernated sessions are kept alive in a bench as in production.
func (c *countingStore) TTL() time.Duration {
	if x, ok := c.Store.(persist.Expirer); ok {
		return x.TTL()
	}
	return 0 // no refresh
}

func (c *countingStore) Touch(ctx context.Context, w persist.Writer, sessionIDs []string) error {
	if x, ok := c.Store.(persist.Expirer); ok {
		return x.Touch(ctx, w, sessionIDs)
	}
	return nil
}

var _ persist.Expirer = (*countingStore)(nil)

func (c *countingStore) reset() {
	c.saves.Store(0)
	c.bytes.Store(0)
}

func cmdBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var events, setup eventFlags
	fs.Var(&events, "event", "send event `NAME[=JSON]` (repeatable; each session gets them round robin)")
	fs.Var(&setup, "setup", "send event `NAME[=JSON]` to each session once, in order, before the measured sends (repeatable)")
	sessions := fs.Int("sessions", 1000, "sessions to start")
	perSession := fs.Int("events", 100, "events to send each session")
	storeKind := fs.String("store", "", "checkpoint into a store: memory or redis (default: none, or the --config file's [persistence] type)")
	configPath := fs.String("config", "", "ORS-style configuration `FILE` ([persistence], [orchestration]) for --store redis")
	hibernateAfter := fs.Duration("hibernate-after", 0, "after the sends, let the sessions idle this `DURATION` (engine.Options.HibernateAfter; needs a store) and measure the heap of a hibernated session")
	asJSON := fs.Bool("json", false, "print one JSON object")
	// Flags may follow the document.
	var docPath string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		if docPath != "" {
			fmt.Fprintf(stderr, "scxml bench: one document only (got %q and %q)\n", docPath, fs.Arg(0))
			return 2
		}
		docPath, args = fs.Arg(0), fs.Args()[1:]
	}
	switch {
	case docPath == "":
		fmt.Fprintln(stderr, "scxml bench: no document given")
		return 2
	case len(events) == 0:
		fmt.Fprintln(stderr, "scxml bench: no --event given")
		return 2
	case *sessions < 1:
		fmt.Fprintf(stderr, "scxml bench: --sessions %d: must be at least 1\n", *sessions)
		return 2
	case *perSession < 1:
		fmt.Fprintf(stderr, "scxml bench: --events %d: must be at least 1\n", *perSession)
		return 2
	case *hibernateAfter < 0:
		fmt.Fprintf(stderr, "scxml bench: --hibernate-after %v: must not be negative\n", *hibernateAfter)
		return 2
	}
	switch *storeKind {
	case "", "memory", "redis":
	default:
		fmt.Fprintf(stderr, "scxml bench: --store %q: not one of memory, redis\n", *storeKind)
		return 2
	}
	if *storeKind == "redis" && *configPath == "" {
		fmt.Fprintln(stderr, "scxml bench: --store redis needs --config FILE (redis-nodes, cluster-name, ...)")
		return 2
	}

	doc, err := scxml.ParseFile(docPath, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var cfg *config.Config
	if *configPath != "" {
		if cfg, err = config.ParseFile(*configPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *storeKind == "" {
			switch cfg.Persistence.Type {
			case config.TypeMemory, config.TypeRedis:
				*storeKind = string(cfg.Persistence.Type)
			}
		}
	}
	if *hibernateAfter > 0 && *storeKind == "" {
		fmt.Fprintln(stderr, "scxml bench: --hibernate-after needs --store (only sessions with a checkpoint are hibernated)")
		return 2
	}
	var store *countingStore
	switch *storeKind {
	case "memory":
		store = &countingStore{Store: persist.NewMemory(persist.MemoryOptions{})}
	case "redis":
		st, err := redisStore(cfg, *configPath)
		if err != nil {
			fmt.Fprintf(stderr, "scxml bench: %v\n", err)
			return 1
		}
		store = &countingStore{Store: st}
	}
	res, err := runBench(doc, benchOptions{
		sessions: *sessions, events: *perSession, send: events, setup: setup,
		store: store, cfg: cfg, warn: stderr, hibernateAfter: *hibernateAfter,
		progress: showProgress(stdout, *asJSON), progressTo: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "scxml bench: %s: %v\n", docPath, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "sessions               %d\n", res.Sessions)
	fmt.Fprintf(stdout, "events                 %d per session\n", res.Events)
	fmt.Fprintf(stdout, "elapsed                %.3f s\n", res.ElapsedS)
	fmt.Fprintf(stdout, "macrosteps/s           %.0f\n", res.MacrostepsPerS)
	fmt.Fprintf(stdout, "send p50               %.1f µs\n", res.SendP50us)
	fmt.Fprintf(stdout, "send p99               %.1f µs\n", res.SendP99us)
	fmt.Fprintf(stdout, "allocs/macrostep       %.1f\n", res.AllocsPerMacrostep)
	fmt.Fprintf(stdout, "bytes/macrostep        %.0f\n", res.BytesPerMacrostep)
	fmt.Fprintf(stdout, "heap bytes/session     %.0f\n", res.HeapBytesPerSession)
	if store != nil {
		fmt.Fprintf(stdout, "checkpoints/s          %.0f (%s)\n", res.CheckpointsPerS, *storeKind)
		fmt.Fprintf(stdout, "bytes/checkpoint       %.0f\n", res.CheckpointBytes)
	}
	if *hibernateAfter > 0 {
		fmt.Fprintf(stdout, "heap bytes/hibernated  %.0f (after %v idle)\n", res.HibernatedHeapBytesPerSession, *hibernateAfter)
	}
	return 0
}

// redisStore opens the Redis store that cfg's [persistence] and
// [orchestration] options describe (persist.Open), whatever its type says.
func redisStore(cfg *config.Config, path string) (persist.Store, error) {
	cfg.Persistence.Type = config.TypeRedis
	st, err := persist.Open(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

type benchOptions struct {
	sessions, events int
	send, setup      []engine.Event
	store            *countingStore // or nil
	cfg              *config.Config // or nil
	warn             io.Writer      // told when sessions end early, or nil
	// hibernateAfter, when set, lets the sessions idle after the send
	// phase until they are hibernated, to measure them then.
	hibernateAfter time.Duration
	// progress draws the starts and sends done, with an ETA, on
	// progressTo (a terminal's).
	progress   bool
	progressTo io.Writer
}

// workerCount is one worker's count of what it did, on a cache line of
// its own so that workers counting do not slow each other down.
type workerCount struct {
	n atomic.Int64
	_ [56]byte
}

func sumCounts(c []workerCount) func() int64 {
	return func() int64 {
		var n int64
		for i := range c {
			n += c[i].n.Load()
		}
		return n
	}
}

// runBench starts the sessions, sends the events from GOMAXPROCS
// goroutines and measures. The clock never moves during the send phase,
// so delayed sends never fire: every macrostep is caused by one Send.
// With hibernateAfter it moves afterwards, until the sessions idled long
// enough to be hibernated (delayed sends falling due meanwhile wake them).
func runBench(doc *scxml.Document, o benchOptions) (*benchResult, error) {
	var storeErrs atomic.Int64
	var firstStoreErr atomic.Value
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := engine.Options{
		// The default script budget: the watchdog is part of the cost.
		Clock: clock,
		OnStoreError: func(_ string, err error) {
			storeErrs.Add(1)
			firstStoreErr.CompareAndSwap(nil, err)
		},
		HibernateAfter: o.hibernateAfter,
	}
	// Records go to this node's index: the configured node-id, or
	// "bench", which no real node uses.
	opts.Node = "bench"
	if o.cfg != nil && o.cfg.Node != "" {
		opts.Node = string(o.cfg.Node)
	}
	if o.store != nil {
		opts.Store = o.store
	}
	eng, err := engine.New(opts)
	if err != nil {
		return nil, err
	}
	opts.Clock = nil // dropped with eng to measure hibernated sessions
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	if _, err := eng.Compile(doc); err != nil {
		return nil, err
	}
	ctx := context.Background()
	workers := min(runtime.GOMAXPROCS(0), o.sessions)
	// parallel runs f(w) for each worker w, which owns the sessions
	// w, w+workers, w+2*workers, ...; it returns the first error.
	parallel := func(f func(w int) error) error {
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = f(w)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}

	// Heap per session: HeapInuse with the sessions live (and set up)
	// minus before starting them.
	// Two collections: the first leaves sync.Pool victims behind.
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse
	ss := make([]*engine.Session, o.sessions)
	counts := make([]workerCount, workers)
	prog := startProgress(o.progressTo, o.progress, "bench: starting sessions", int64(o.sessions), sumCounts(counts))
	err = parallel(func(w int) error {
		for i := w; i < len(ss); i += workers {
			if o.progress {
				counts[w].n.Add(1)
			}
			s, err := eng.Start(ctx, doc, engine.StartOptions{})
			if err != nil {
				return fmt.Errorf("start session %d: %w", i, err)
			}
			ss[i] = s
			for _, ev := range o.setup {
				if err := s.Send(ctx, ev); err != nil {
					return fmt.Errorf("setup event %s: %w", ev.Name, err)
				}
			}
		}
		return nil
	})
	prog.Stop()
	if err != nil {
		return nil, err
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapPerSession := (float64(ms.HeapInuse) - float64(heapBefore)) / float64(o.sessions)

	// The send phase. Each worker goes round its sessions, one event each
	// per round, so that consecutive Sends touch different sessions.
	lat := make([][]time.Duration, workers)
	live := make([][]bool, workers)
	for w := range lat {
		lat[w] = make([]time.Duration, 0, (o.sessions/workers+1)*o.events)
		live[w] = make([]bool, len(ss))
		for i := range live[w] {
			live[w][i] = true
		}
	}
	var ended atomic.Int64
	if o.store != nil {
		o.store.reset()
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	mallocs, allocBytes := ms.Mallocs, ms.TotalAlloc
	counts = make([]workerCount, workers)
	prog = startProgress(o.progressTo, o.progress, "bench: sending", int64(o.sessions*o.events), sumCounts(counts))
	start := time.Now()
	err = parallel(func(w int) error {
		live := live[w]
		for k := 0; k < o.events; k++ {
			ev := o.send[k%len(o.send)]
			for i := w; i < len(ss); i += workers {
				if !live[i] {
					continue
				}
				t0 := time.Now()
				err := ss[i].Send(ctx, ev)
				d := time.Since(t0)
				if o.progress {
					counts[w].n.Add(1)
				}
				if err != nil {
					if errors.Is(err, engine.ErrNoSession) {
						ended.Add(1)
						live[i] = false
						continue
					}
					return fmt.Errorf("send %s: %w", ev.Name, err)
				}
				lat[w] = append(lat[w], d)
			}
		}
		return nil
	})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	prog.Stop()
	if err != nil {
		return nil, err
	}
	if n := storeErrs.Load(); n > 0 {
		return nil, fmt.Errorf("%d checkpoints failed, the first: %v", n, firstStoreErr.Load())
	}
	all := slices.Concat(lat...)
	n := len(all)
	if n == 0 {
		return nil, fmt.Errorf("every session ended before the first event (%d sessions)", ended.Load())
	}
	if e := ended.Load(); e > 0 && o.warn != nil {
		fmt.Fprintf(o.warn, "scxml bench: warning: %d of %d sessions ended before their last event; %d Sends measured instead of %d\n", e, o.sessions, n, o.sessions*o.events)
	}
	slices.Sort(all)
	var hibPerSession float64
	ids := make([]string, len(ss)) // for the store's cleanup below
	for i, s := range ss {
		ids[i] = s.ID()
	}
	if o.hibernateAfter > 0 {
		// Copies, so that the ids do not count as the engine's; and no
		// handle of an ended session, which holds its last state.
		for i := range ids {
			ids[i] = strings.Clone(ids[i])
		}
		for i, s := range ss {
			if !s.Running() {
				ss[i] = nil
			}
		}
		start := clock.Now()
		for round := 0; eng.Hibernated() < eng.Len() && round < 10; round++ {
			clock.Advance(o.hibernateAfter)
		}
		if n := storeErrs.Load(); n > 0 {
			return nil, fmt.Errorf("%d checkpoints or wakes failed, the first: %v", n, firstStoreErr.Load())
		}
		hibernated, running := eng.Hibernated(), eng.Len()
		if hibernated < running && o.warn != nil {
			fmt.Fprintf(o.warn, "scxml bench: warning: only %d of %d running sessions hibernated (the clock moved %v); the figure is per hibernated session\n", hibernated, running, clock.Now().Sub(start))
		}
		if hibernated > 0 {
			with := liveHeap()
			eng.Close()
			eng, ss, clock = nil, nil, nil
			hibPerSession = (float64(with) - float64(liveHeap())) / float64(hibernated)
		}
	}
	res := &benchResult{
		MacrostepsPerS:      float64(n) / elapsed.Seconds(),
		SendP50us:           micros(percentile(all, 50)),
		SendP99us:           micros(percentile(all, 99)),
		AllocsPerMacrostep:  float64(ms.Mallocs-mallocs) / float64(n),
		BytesPerMacrostep:   float64(ms.TotalAlloc-allocBytes) / float64(n),
		HeapBytesPerSession: heapPerSession,
		Sessions:            o.sessions,
		Events:              o.events,
		ElapsedS:            elapsed.Seconds(),

		HibernatedHeapBytesPerSession: hibPerSession,
	}
	if o.store != nil {
		saves := o.store.saves.Load()
		res.CheckpointsPerS = float64(saves) / elapsed.Seconds()
		if saves > 0 {
			res.CheckpointBytes = float64(o.store.bytes.Load()) / float64(saves)
		}
		// The bench's records must not outlive it in a shared Redis.
		for _, id := range ids {
			_ = o.store.Delete(ctx, persist.Writer{Node: opts.Node}, id)
		}
		if sw, ok := o.store.Store.(interface {
			Sweep(context.Context) (int, error)
		}); ok {
			_, _ = sw.Sweep(ctx) // and the node out of the registry
		}
		if err := o.store.Close(); err != nil {
			return nil, err
		}
	}
	runtime.KeepAlive(ss)
	return res, nil
}

// liveHeap returns the bytes of live heap objects.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // the first leaves sync.Pool victims behind
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// percentile returns the nearest-rank p-th percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
