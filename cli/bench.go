package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
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
	// HibernatedTotalHeapBytes is the whole process's live heap with
	// every session hibernated (the memory store's records included).
	HibernatedTotalHeapBytes float64 `json:"hibernated_total_heap_bytes"`
	// WakeP50us and WakeP99us time the Send of the next event to a
	// hibernated session (its wake from the store, the macrostep and its
	// checkpoint), one at a time, on a sample of them.
	WakeP50us float64 `json:"wake_p50_us"`
	WakeP99us float64 `json:"wake_p99_us"`
	// CPUusPerMacrostep is this process's CPU time (getrusage: user and
	// system, every thread) during the send phase, per macrostep: with a
	// store, the engine's cost of a checkpointed macrostep, client side
	// included.
	CPUusPerMacrostep float64 `json:"cpu_us_per_macrostep"`
	// RedisCPUusPerMacrostep is the CPU the Redis servers used (INFO
	// cpu, every master and replica) meanwhile, per macrostep, when they
	// run on this machine (loopback addresses); 0 otherwise.
	RedisCPUusPerMacrostep float64 `json:"redis_cpu_us_per_macrostep"`
	// CheckpointP50us and CheckpointP99us time the store's Save of a
	// checkpoint (with Redis: queued in the group committer, sent,
	// acknowledged).
	CheckpointP50us float64 `json:"checkpoint_p50_us"`
	CheckpointP99us float64 `json:"checkpoint_p99_us"`
	Sessions        int     `json:"sessions"`
	Events          int     `json:"events"`
	// Concurrency is how many goroutines sent events at once.
	Concurrency int     `json:"concurrency"`
	ElapsedS    float64 `json:"elapsed_s"`
}

// countingStore counts the checkpoints the engine writes and their size,
// and times them while timing is on.
type countingStore struct {
	persist.Store
	saves atomic.Int64
	bytes atomic.Int64
	// lat holds the Save durations (ns) while timing, up to its length;
	// n counts them.
	timing atomic.Bool
	lat    []int64
	n      atomic.Int64
}

func (c *countingStore) Save(ctx context.Context, rec *persist.Record) error {
	c.saves.Add(1)
	c.bytes.Add(int64(len(rec.Data)))
	if !c.timing.Load() {
		return c.Store.Save(ctx, rec)
	}
	t0 := time.Now()
	err := c.Store.Save(ctx, rec)
	if i := c.n.Add(1) - 1; i < int64(len(c.lat)) {
		c.lat[i] = int64(time.Since(t0))
	}
	return err
}

// latencies returns the Save durations timed so far, sorted.
func (c *countingStore) latencies() []time.Duration {
	n := min(int(c.n.Load()), len(c.lat))
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = time.Duration(c.lat[i])
	}
	slices.Sort(d)
	return d
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

const benchUsage = "scxml bench DOC --event NAME[=JSON]... [--setup NAME[=JSON]]... [--sessions N] [--events M] [--store memory|redis] [--config FILE] [--hibernate-after D] [--memprofile FILE] [--concurrency N] [--wave N] [--ext NAME]... [--queue GROUP=AGENTS]... [--ignore-unknown-actions] [--json]"

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
	hibernateAfter := fs.Duration("hibernate-after", 0, "after the sends, let the sessions idle this `DURATION` (engine.Options.HibernateAfter; needs a store) and measure the heap of a hibernated session and its wake")
	concurrency := fs.Int("concurrency", 0, "`N` goroutines send events at once, each to its own sessions (default: one per session, as calls do, up to 10000 at once)")
	wave := fs.Int("wave", defaultWave, "with --hibernate-after, start and drive the sessions `N` at a time, each wave hibernated before the next starts, so that a million sessions need not be awake at once")
	memProfile := fs.String("memprofile", "", "with --hibernate-after, write a heap profile (pprof) to `FILE` once every session is hibernated")
	asJSON := fs.Bool("json", false, "print one JSON object")
	var x extFlags
	x.register(fs)
	docPath, status, done := parseDocFlags(fs, args, stdout, benchUsage)
	if done {
		return status
	}
	switch {
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
	case *concurrency < 0:
		fmt.Fprintf(stderr, "scxml bench: --concurrency %d: must not be negative\n", *concurrency)
		return 2
	case *wave < 1:
		fmt.Fprintf(stderr, "scxml bench: --wave %d: must be at least 1\n", *wave)
		return 2
	case *memProfile != "" && *hibernateAfter == 0:
		fmt.Fprintln(stderr, "scxml bench: --memprofile needs --hibernate-after (it profiles the hibernated sessions)")
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
	var rcpu *redisCPU
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
		var why string
		if rcpu, why = newRedisCPU(cfg); rcpu == nil {
			fmt.Fprintf(stderr, "scxml bench: Redis CPU not measured: %s\n", why)
		} else {
			defer rcpu.Close()
		}
	}
	if store != nil {
		store.lat = make([]int64, min(*sessions**perSession, maxTimedSaves))
	}
	res, err := runBench(doc, benchOptions{
		sessions: *sessions, events: *perSession, send: events, setup: setup,
		store: store, cfg: cfg, warn: stderr, hibernateAfter: *hibernateAfter,
		concurrency: *concurrency, wave: *wave, redisCPU: rcpu, memProfile: *memProfile,
		ext: &x, progress: showProgress(stdout, *asJSON), progressTo: stderr,
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
	fmt.Fprintf(stdout, "concurrency            %d senders\n", res.Concurrency)
	fmt.Fprintf(stdout, "elapsed                %.3f s\n", res.ElapsedS)
	fmt.Fprintf(stdout, "macrosteps/s           %.0f\n", res.MacrostepsPerS)
	fmt.Fprintf(stdout, "send p50               %.1f µs\n", res.SendP50us)
	fmt.Fprintf(stdout, "send p99               %.1f µs\n", res.SendP99us)
	fmt.Fprintf(stdout, "cpu/macrostep          %.1f µs (this process)\n", res.CPUusPerMacrostep)
	fmt.Fprintf(stdout, "allocs/macrostep       %.1f\n", res.AllocsPerMacrostep)
	fmt.Fprintf(stdout, "bytes/macrostep        %.0f\n", res.BytesPerMacrostep)
	fmt.Fprintf(stdout, "heap bytes/session     %.0f\n", res.HeapBytesPerSession)
	if store != nil {
		fmt.Fprintf(stdout, "checkpoints/s          %.0f (%s)\n", res.CheckpointsPerS, *storeKind)
		fmt.Fprintf(stdout, "bytes/checkpoint       %.0f\n", res.CheckpointBytes)
		fmt.Fprintf(stdout, "checkpoint p50         %.1f µs\n", res.CheckpointP50us)
		fmt.Fprintf(stdout, "checkpoint p99         %.1f µs\n", res.CheckpointP99us)
	}
	if rcpu != nil {
		fmt.Fprintf(stdout, "redis cpu/macrostep    %.1f µs (every server, INFO cpu)\n", res.RedisCPUusPerMacrostep)
	}
	if *hibernateAfter > 0 {
		fmt.Fprintf(stdout, "heap bytes/hibernated  %.0f (after %v idle)\n", res.HibernatedHeapBytesPerSession, *hibernateAfter)
		fmt.Fprintf(stdout, "heap, all hibernated   %.1f MB (whole process)\n", res.HibernatedTotalHeapBytes/1e6)
		fmt.Fprintf(stdout, "wake p50               %.1f µs\n", res.WakeP50us)
		fmt.Fprintf(stdout, "wake p99               %.1f µs\n", res.WakeP99us)
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

// Limits of scxml bench.
const (
	// defaultWave is --wave's default.
	defaultWave = 10000
	// maxSenders bounds the default --concurrency: a goroutine per
	// session up to it.
	maxSenders = 10000
	// maxTimedSaves bounds how many checkpoints are timed (the first).
	maxTimedSaves = 1 << 20
	// wakeSample is how many hibernated sessions the wake is timed on.
	wakeSample = 1000
)

type benchOptions struct {
	sessions, events int
	send, setup      []engine.Event
	store            *countingStore // or nil
	cfg              *config.Config // or nil
	warn             io.Writer      // told when sessions end early, or nil
	// hibernateAfter, when set, lets the sessions idle after the send
	// phase until they are hibernated, to measure them then.
	hibernateAfter time.Duration
	// concurrency is how many goroutines send at once; 0: one per
	// session, up to maxSenders.
	concurrency int
	// wave, with hibernateAfter, is how many sessions are started and
	// driven at once, each wave hibernated before the next; 0: all.
	wave     int
	redisCPU *redisCPU // or nil
	// memProfile, when set, is the file the heap profile is written to
	// with every session hibernated.
	memProfile string
	ext        *extFlags // extensions to load, or nil
	// progress draws the starts and sends done, with an ETA, on
	// progressTo (a terminal's).
	progress   bool
	progressTo io.Writer
}

// runBench starts the sessions, sends the events from the senders and
// measures. The clock never moves during a send phase, so delayed sends
// never fire: every macrostep is caused by one Send. With hibernateAfter
// it moves afterwards, until the sessions idled long enough to be
// hibernated (delayed sends falling due meanwhile wake them); the
// sessions then go through in waves of o.wave: started, driven and
// hibernated before the next wave starts, so that the heap holds one
// wave of awake sessions at most. The figures of the send phases add up
// over the waves.
func runBench(doc *scxml.Document, o benchOptions) (*benchResult, error) {
	var storeErrs atomic.Int64
	var firstStoreErr atomic.Value
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var opts engine.Options
	if o.ext != nil {
		var err error
		if opts, err = o.ext.engineOptions(); err != nil {
			return nil, err
		}
	}
	// The default script budget: the watchdog is part of the cost.
	opts.Clock = clock
	opts.OnStoreError = func(_ string, err error) {
		storeErrs.Add(1)
		firstStoreErr.CompareAndSwap(nil, err)
	}
	opts.HibernateAfter = o.hibernateAfter
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
	senders := o.concurrency
	if senders == 0 {
		senders = min(o.sessions, maxSenders)
	}
	waveSize := o.sessions
	if o.hibernateAfter > 0 && o.wave > 0 {
		waveSize = min(o.wave, o.sessions)
	}
	senders = min(senders, waveSize)
	// parallel runs f(w) for each sender w, which owns the sessions w,
	// w+senders, w+2*senders, ... of a wave; it returns the first error.
	parallel := func(f func(w int) error) error {
		errs := make([]error, senders)
		var wg sync.WaitGroup
		for w := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[w] = f(w)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	storeFailed := func(what string) error {
		if n := storeErrs.Load(); n > 0 {
			return fmt.Errorf("%d %s failed, the first: %v", n, what, firstStoreErr.Load())
		}
		return nil
	}
	// hibernate moves the clock until every running session is
	// hibernated, or ten times hibernateAfter passed.
	hibernate := func() {
		for round := 0; eng.Hibernated() < eng.Len() && round < 10; round++ {
			clock.Advance(o.hibernateAfter)
		}
	}

	// Heap per session: HeapInuse with the sessions of the first wave
	// live (and set up) minus before starting them.
	// Two collections: the first leaves sync.Pool victims behind.
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse
	var heapPerSession float64
	ss := make([]*engine.Session, o.sessions)
	var (
		all                 []time.Duration // Send latencies
		elapsed, cpu, rcpu  time.Duration
		mallocs, allocBytes uint64
		saves, savedBytes   int64
		ended               atomic.Int64
		rcpuServers         int
		rcpuErr             error
		redisCPUOf          = func() time.Duration { return 0 }
		perSender           = (waveSize/senders + 1) * o.events
		lat                 = make([][]time.Duration, senders)
		live                = make([]bool, waveSize)
	)
	if o.redisCPU != nil {
		redisCPUOf = func() time.Duration {
			d, n, err := o.redisCPU.total(ctx)
			if err != nil && rcpuErr == nil {
				rcpuErr = err
			}
			rcpuServers = n
			return d
		}
	}
	// Progress counts starts and sends together; counting costs one
	// atomic addition per operation, and only on a terminal.
	var done atomic.Int64
	prog := startProgress(o.progressTo, o.progress, "bench", int64(o.sessions)*int64(1+o.events), done.Load)
	defer prog.Stop()
	for off := 0; off < len(ss); off += waveSize {
		wave := ss[off:min(off+waveSize, len(ss))]
		err = parallel(func(w int) error {
			for i := w; i < len(wave); i += senders {
				s, err := eng.Start(ctx, doc, engine.StartOptions{})
				if o.progress {
					done.Add(1)
				}
				if err != nil {
					return fmt.Errorf("start session %d: %w", off+i, err)
				}
				wave[i] = s
				for _, ev := range o.setup {
					if err := s.Send(ctx, ev); err != nil {
						return fmt.Errorf("setup event %s: %w", ev.Name, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if off == 0 {
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heapPerSession = (float64(ms.HeapInuse) - float64(heapBefore)) / float64(len(wave))
		}

		// The send phase. Each sender goes round its sessions, one event
		// each per round, so that consecutive Sends touch different
		// sessions.
		for w := range lat {
			if lat[w] == nil {
				lat[w] = make([]time.Duration, 0, perSender)
			}
			lat[w] = lat[w][:0]
		}
		for i := range wave {
			live[i] = true
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		m0, b0 := ms.Mallocs, ms.TotalAlloc
		var s0, sb0 int64
		if o.store != nil {
			s0, sb0 = o.store.saves.Load(), o.store.bytes.Load()
			o.store.timing.Store(true)
		}
		r0 := redisCPUOf()
		c0 := processCPU()
		start := time.Now()
		err = parallel(func(w int) error {
			for k := 0; k < o.events; k++ {
				ev := o.send[k%len(o.send)]
				for i := w; i < len(wave); i += senders {
					if !live[i] {
						continue
					}
					t0 := time.Now()
					err := wave[i].Send(ctx, ev)
					d := time.Since(t0)
					if o.progress {
						done.Add(1)
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
		elapsed += time.Since(start)
		cpu += processCPU() - c0
		rcpu += redisCPUOf() - r0
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - m0
		allocBytes += ms.TotalAlloc - b0
		if o.store != nil {
			o.store.timing.Store(false)
			saves += o.store.saves.Load() - s0
			savedBytes += o.store.bytes.Load() - sb0
		}
		if err != nil {
			return nil, err
		}
		if err := storeFailed("checkpoints"); err != nil {
			return nil, err
		}
		for _, l := range lat {
			all = append(all, l...)
		}
		if waveSize < len(ss) {
			// No handle of an ended session, which holds its last state.
			for i, s := range wave {
				if !s.Running() {
					wave[i] = nil
				}
			}
			hibernate()
		}
	}
	n := len(all)
	if n == 0 {
		return nil, fmt.Errorf("every session ended before the first event (%d sessions)", ended.Load())
	}
	if e := ended.Load(); e > 0 && o.warn != nil {
		fmt.Fprintf(o.warn, "scxml bench: warning: %d of %d sessions ended before their last event; %d Sends measured instead of %d\n", e, o.sessions, n, o.sessions*o.events)
	}
	if rcpuErr != nil && o.warn != nil {
		fmt.Fprintf(o.warn, "scxml bench: warning: Redis CPU: %v\n", rcpuErr)
	}
	slices.Sort(all)
	res := &benchResult{
		MacrostepsPerS:      float64(n) / elapsed.Seconds(),
		SendP50us:           micros(percentile(all, 50)),
		SendP99us:           micros(percentile(all, 99)),
		AllocsPerMacrostep:  float64(mallocs) / float64(n),
		BytesPerMacrostep:   float64(allocBytes) / float64(n),
		HeapBytesPerSession: heapPerSession,
		CPUusPerMacrostep:   micros(cpu) / float64(n),
		Sessions:            o.sessions,
		Events:              o.events,
		Concurrency:         senders,
		ElapsedS:            elapsed.Seconds(),
	}
	if rcpuServers > 0 {
		res.RedisCPUusPerMacrostep = micros(rcpu) / float64(n)
	}
	// The ids of the bench's records, for the store's cleanup below; a
	// memory store's records go with it when it is closed, and keeping
	// no ids keeps the whole-heap figure the engine's and the store's
	// (a million ids are 64 MB).
	var ids []string
	if o.store != nil && !isMemoryStore(o.store.Store) {
		ids = make([]string, len(ss))
		for i, s := range ss {
			if s != nil {
				ids[i] = s.ID()
			}
		}
	}
	if o.hibernateAfter > 0 {
		// Copies, so that the ids do not count as the engine's; and no
		// handle of an ended session, which holds its last state.
		for i := range ids {
			ids[i] = strings.Clone(ids[i])
		}
		for i, s := range ss {
			if s != nil && !s.Running() {
				ss[i] = nil
			}
		}
		start := clock.Now()
		hibernate()
		if err := storeFailed("checkpoints or wakes"); err != nil {
			return nil, err
		}
		hibernated, running := eng.Hibernated(), eng.Len()
		if hibernated < running && o.warn != nil {
			fmt.Fprintf(o.warn, "scxml bench: warning: only %d of %d running sessions hibernated (the clock moved %v); the figure is per hibernated session\n", hibernated, running, clock.Now().Sub(start))
		}
		if hibernated > 0 {
			with := liveHeap()
			res.HibernatedTotalHeapBytes = float64(with)
			if o.memProfile != "" {
				if err := writeHeapProfile(o.memProfile); err != nil {
					return nil, err
				}
			}
			// The wake: the next event to a sample of hibernated
			// sessions, spread over them, one at a time.
			var sample []*engine.Session
			step := max(1, len(ss)/wakeSample)
			for i := 0; i < len(ss) && len(sample) < wakeSample; i += step {
				if s := ss[i]; s != nil && s.Hibernated() {
					sample = append(sample, s)
				}
			}
			ev := o.send[o.events%len(o.send)]
			wakes := make([]time.Duration, 0, len(sample))
			for _, s := range sample {
				t0 := time.Now()
				err := s.Send(ctx, ev)
				d := time.Since(t0)
				if err != nil && !errors.Is(err, engine.ErrNoSession) {
					return nil, fmt.Errorf("wake %s with %s: %w", s.ID(), ev.Name, err)
				}
				wakes = append(wakes, d)
			}
			sample = nil
			if len(wakes) > 0 {
				slices.Sort(wakes)
				res.WakeP50us = micros(percentile(wakes, 50))
				res.WakeP99us = micros(percentile(wakes, 99))
			}
			eng.Close()
			eng, clock = nil, nil
			clear(ss) // the slice itself is the bench's, in both figures
			res.HibernatedHeapBytesPerSession = (float64(with) - float64(liveHeap())) / float64(hibernated)
		}
	}
	if o.store != nil {
		res.CheckpointsPerS = float64(saves) / elapsed.Seconds()
		if saves > 0 {
			res.CheckpointBytes = float64(savedBytes) / float64(saves)
		}
		if l := o.store.latencies(); len(l) > 0 {
			res.CheckpointP50us = micros(percentile(l, 50))
			res.CheckpointP99us = micros(percentile(l, 99))
		}
		// The bench's records must not outlive it in a shared Redis.
		_ = parallel(func(w int) error {
			for i := w; i < len(ids); i += senders {
				if ids[i] != "" {
					_ = o.store.Delete(ctx, persist.Writer{Node: opts.Node}, ids[i])
				}
			}
			return nil
		})
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

// isMemoryStore reports whether st is the embedded memory store.
func isMemoryStore(st persist.Store) bool {
	_, ok := st.(*persist.MemoryStore)
	return ok
}

// writeHeapProfile writes the heap profile (pprof's "heap", as of the
// last collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("--memprofile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
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
