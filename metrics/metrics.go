// Package metrics counts what engines do (macrosteps, events, error
// events, checkpoints, session lifecycle, recoveries), with latency and
// size histograms, and publishes the figures through expvar, so that any
// process serving net/http's DefaultServeMux shows them at /debug/vars.
//
//	m := metrics.New()
//	eng, err := engine.New(engine.Options{Observer: m.Observer(), ...})
//	m.Track(eng)               // live, persisted and hibernated sessions
//	m.Publish("orsgo")         // expvar: /debug/vars has "orsgo": {...}
//
// Recoveries (recovery.Recover, a Switchover, engine.Engine.Adopt and
// each adopted session loaded) reach the Observer on their own
// (engine.Observer.Recovery): nothing to pass on by hand.
//
// Counting is lock-free (atomic counters, fixed power-of-two histogram
// buckets) and allocation-free, so that it can stay on in production:
// BenchmarkMacrostepRoutingObserved in the engine package measures it.
// OpenTelemetry is not imported here, to keep the core's dependencies
// short; an integration can read Snapshot or wrap Observer the same way.
package metrics

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
)

// Metrics holds the counters and histograms of one or more engines. The
// zero value is not usable: call New.
type Metrics struct {
	macrosteps, macrostepErrors         atomic.Uint64
	events, errorEvents                 atomic.Uint64
	checkpoints, checkpointFailures     atomic.Uint64
	checkpointBytes                     atomic.Uint64
	deletes, deleteFailures             atomic.Uint64
	refreshFailures, fencedWrites       atomic.Uint64
	sessionEvents                       [7]atomic.Uint64 // by engine.SessionEventKind
	recoveries, recovered, recoveryFail atomic.Uint64
	adoptions, notRecovered             atomic.Uint64

	macrostepLatency  *Histogram
	checkpointLatency *Histogram
	checkpointSize    *Histogram
	recoveryTime      *Histogram

	mu      sync.Mutex
	engines []*engine.Engine
}

// TimingSample is the Observer.TimingSample of Observer: one run in 8
// of each session is timed for the latency histograms, so that reading
// the clock costs a few per cent of a macrostep at most.
const TimingSample = 8

// New returns metrics at zero.
func New() *Metrics {
	return &Metrics{
		macrostepLatency:  NewHistogram(time.Microsecond.Nanoseconds(), 26), // 1 µs .. ~33 s
		checkpointLatency: NewHistogram(time.Microsecond.Nanoseconds(), 26),
		checkpointSize:    NewHistogram(64, 18),                             // 64 B .. 8 MB
		recoveryTime:      NewHistogram(time.Millisecond.Nanoseconds(), 20), // 1 ms .. ~9 min
	}
}

// Observer returns the engine.Observer that feeds m. Give it to
// engine.Options.Observer (with engine.JoinObservers to add your own).
func (m *Metrics) Observer() *engine.Observer {
	return &engine.Observer{
		TimingSample: TimingSample,
		Macrostep: func(i engine.MacrostepInfo) {
			m.macrosteps.Add(1)
			if i.Err != nil {
				m.macrostepErrors.Add(1)
			}
			if i.Timed {
				m.macrostepLatency.Observe(i.Duration.Nanoseconds())
			}
		},
		Event:      func(string, string, *engine.Event) { m.events.Add(1) },
		ErrorEvent: func(string, *engine.Event, error) { m.errorEvents.Add(1) },
		Checkpoint: func(i engine.CheckpointInfo) {
			if i.Err != nil && errors.Is(i.Err, persist.ErrFenced) {
				m.fencedWrites.Add(1) // the store refused it: another node holds the node id
			}
			switch i.Op {
			case engine.CheckpointRefresh:
				m.refreshFailures.Add(1) // only failures are reported
				return
			case engine.CheckpointDelete:
				m.deletes.Add(1)
				if i.Err != nil {
					m.deleteFailures.Add(1)
				}
				return
			}
			m.checkpoints.Add(1)
			if i.Err != nil {
				m.checkpointFailures.Add(1)
				return
			}
			m.checkpointBytes.Add(uint64(i.Bytes))
			m.checkpointSize.Observe(int64(i.Bytes))
			if i.Timed {
				m.checkpointLatency.Observe(i.Duration.Nanoseconds())
			}
		},
		Session: func(i engine.SessionEvent) {
			if int(i.Kind) < len(m.sessionEvents) {
				m.sessionEvents[i.Kind].Add(1)
			}
		},
		Recovery: m.observeRecovery,
	}
}

// Track adds e's live, persisted and hibernated sessions to the gauges
// (engine.Engine.Len, Persisted, Hibernated, read when the figures are).
func (m *Metrics) Track(e *engine.Engine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.engines = append(m.engines, e)
}

// observeRecovery counts a recovery (engine.Observer.Recovery): a run
// of recovery.Recover or an adoption counts as one recovery and its
// time; a session of an adopted node loaded on demand adds to the
// sessions recovered (or failed) only.
func (m *Metrics) observeRecovery(r engine.RecoveryInfo) {
	m.recovered.Add(uint64(r.Resumed))
	m.recoveryFail.Add(uint64(r.Failed))
	m.notRecovered.Add(uint64(r.NotRecovered))
	if r.SessionID != "" {
		return
	}
	m.recoveries.Add(1)
	if r.Lazy {
		m.adoptions.Add(1)
	}
	m.recoveryTime.Observe(r.Elapsed.Nanoseconds())
}

// Snapshot is the figures at one moment, as Publish shows them (JSON).
// Latencies are in nanoseconds, sizes in bytes.
type Snapshot struct {
	// SessionsLive are the running sessions, hibernated ones included;
	// SessionsPersisted those of them that are checkpointed;
	// SessionsHibernated those hibernated (gauges).
	SessionsLive       int `json:"sessions_live"`
	SessionsPersisted  int `json:"sessions_persisted"`
	SessionsHibernated int `json:"sessions_hibernated"`

	SessionsStarted uint64 `json:"sessions_started"`
	SessionsEnded   uint64 `json:"sessions_ended"`
	Hibernations    uint64 `json:"hibernations"`
	Wakes           uint64 `json:"wakes"`
	Resumes         uint64 `json:"resumes"`
	Lost            uint64 `json:"sessions_lost"`
	Fenced          uint64 `json:"sessions_fenced"`

	Macrosteps       uint64            `json:"macrosteps"`
	MacrostepErrors  uint64            `json:"macrostep_errors"`
	Events           uint64            `json:"events"`
	ErrorEvents      uint64            `json:"error_events"`
	MacrostepLatency HistogramSnapshot `json:"macrostep_latency_ns"`

	Checkpoints        uint64 `json:"checkpoints"`
	CheckpointFailures uint64 `json:"checkpoint_failures"`
	CheckpointBytes    uint64 `json:"checkpoint_bytes"`
	Deletes            uint64 `json:"deletes"`
	DeleteFailures     uint64 `json:"delete_failures"`
	// RefreshFailures are refreshes of hibernated sessions' records
	// that failed (engine.ErrRefresh, or fenced).
	RefreshFailures uint64 `json:"refresh_failures"`
	// FencedWrites are the writes (saves, deletions, refreshes) the
	// store refused because another node holds this node id at a higher
	// epoch (persist.ErrFenced); SessionsFenced the sessions that ended
	// here for it.
	FencedWrites      uint64            `json:"fenced_writes"`
	CheckpointLatency HistogramSnapshot `json:"checkpoint_latency_ns"`
	CheckpointSize    HistogramSnapshot `json:"checkpoint_size_bytes"`

	// Recoveries are runs of recovery.Recover (an eager Switchover
	// included) and adoptions (engine.Engine.Adopt, a lazy Switchover:
	// Adoptions of them; scxml serve adopts its node id when it starts as
	// primary and when a backup is promoted, whether or not anything was
	// left); RecoveredSessions the sessions they resumed,
	// an adopted node's counted as each is loaded on demand;
	// RecoveryFailures those that could not be; NotRecovered the
	// unpersisted sessions a failed node left (gone); RecoveryTime the
	// time of each run (of an adoption: the promotion).
	Recoveries        uint64            `json:"recoveries"`
	Adoptions         uint64            `json:"adoptions"`
	RecoveredSessions uint64            `json:"recovered_sessions"`
	RecoveryFailures  uint64            `json:"recovery_failures"`
	NotRecovered      uint64            `json:"not_recovered"`
	RecoveryTime      HistogramSnapshot `json:"recovery_time_ns"`
}

// Snapshot returns the current figures.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		SessionsStarted: m.sessionEvents[engine.SessionStarted].Load(),
		SessionsEnded:   m.sessionEvents[engine.SessionEnded].Load(),
		Hibernations:    m.sessionEvents[engine.SessionHibernated].Load(),
		Wakes:           m.sessionEvents[engine.SessionWoken].Load(),
		Resumes:         m.sessionEvents[engine.SessionResumed].Load(),
		Lost:            m.sessionEvents[engine.SessionLost].Load(),
		Fenced:          m.sessionEvents[engine.SessionFenced].Load(),

		Macrosteps:       m.macrosteps.Load(),
		MacrostepErrors:  m.macrostepErrors.Load(),
		Events:           m.events.Load(),
		ErrorEvents:      m.errorEvents.Load(),
		MacrostepLatency: m.macrostepLatency.Snapshot(),

		Checkpoints:        m.checkpoints.Load(),
		CheckpointFailures: m.checkpointFailures.Load(),
		CheckpointBytes:    m.checkpointBytes.Load(),
		Deletes:            m.deletes.Load(),
		DeleteFailures:     m.deleteFailures.Load(),
		RefreshFailures:    m.refreshFailures.Load(),
		FencedWrites:       m.fencedWrites.Load(),
		CheckpointLatency:  m.checkpointLatency.Snapshot(),
		CheckpointSize:     m.checkpointSize.Snapshot(),

		Recoveries:        m.recoveries.Load(),
		Adoptions:         m.adoptions.Load(),
		RecoveredSessions: m.recovered.Load(),
		RecoveryFailures:  m.recoveryFail.Load(),
		NotRecovered:      m.notRecovered.Load(),
		RecoveryTime:      m.recoveryTime.Snapshot(),
	}
	m.mu.Lock()
	for _, e := range m.engines {
		s.SessionsLive += e.Len()
		s.SessionsPersisted += e.Persisted()
		s.SessionsHibernated += e.Hibernated()
	}
	m.mu.Unlock()
	return s
}

// ErrPublished is returned by Publish for a name expvar already has.
var ErrPublished = errors.New("metrics: expvar name already published")

// Publish makes the figures an expvar variable under name (JSON of
// Snapshot, computed when read), shown at /debug/vars by a process that
// serves expvar's handler (importing expvar registers it on
// http.DefaultServeMux). expvar names are process-wide and cannot be
// removed: publishing a name twice is an error wrapping ErrPublished.
func (m *Metrics) Publish(name string) error {
	if expvar.Get(name) != nil {
		return fmt.Errorf("metrics: publish %q: %w", name, ErrPublished)
	}
	expvar.Publish(name, expvar.Func(func() any { return m.Snapshot() }))
	return nil
}

// Histogram counts values in power-of-two buckets: bucket 0 holds values
// up to Base, bucket i those in (Base·2^(i-1), Base·2^i], and the last
// everything above. Observing is two atomic additions and no allocation.
type Histogram struct {
	shift  uint // Base == 1 << shift
	counts []atomic.Uint64
	sum    atomic.Int64
	n      atomic.Uint64
}

// NewHistogram returns a histogram of buckets buckets whose first upper
// bound is base, rounded up to a power of two.
func NewHistogram(base int64, buckets int) *Histogram {
	if base < 1 {
		base = 1
	}
	if buckets < 2 {
		buckets = 2
	}
	return &Histogram{shift: uint(bits.Len64(uint64(base - 1))), counts: make([]atomic.Uint64, buckets)}
}

// Observe counts v.
func (h *Histogram) Observe(v int64) {
	i := 0
	if v > 0 {
		i = bits.Len64(uint64(v-1) >> h.shift)
	}
	if i >= len(h.counts) {
		i = len(h.counts) - 1
	}
	h.counts[i].Add(1)
	h.sum.Add(v)
	h.n.Add(1)
}

// HistogramSnapshot is a histogram at one moment: the count, the sum,
// quantiles estimated as the upper bound of their bucket, and the
// non-empty buckets.
type HistogramSnapshot struct {
	Count   uint64   `json:"count"`
	Sum     int64    `json:"sum"`
	P50     int64    `json:"p50"`
	P90     int64    `json:"p90"`
	P99     int64    `json:"p99"`
	Buckets []Bucket `json:"buckets,omitempty"`
}

// Bucket is one bucket of a histogram: the values up to LE (the last
// bucket: above the one before, LE is -1) and how many there were.
type Bucket struct {
	LE    int64  `json:"le"`
	Count uint64 `json:"count"`
}

// Snapshot returns the histogram's figures.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Sum: h.sum.Load()}
	counts := make([]uint64, len(h.counts))
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		s.Count += counts[i]
	}
	q := func(p float64) int64 {
		if s.Count == 0 {
			return 0
		}
		rank := uint64(p*float64(s.Count) + 0.999999)
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return h.bound(i)
			}
		}
		return h.bound(len(counts) - 1)
	}
	s.P50, s.P90, s.P99 = q(0.50), q(0.90), q(0.99)
	for i, c := range counts {
		if c > 0 {
			s.Buckets = append(s.Buckets, Bucket{LE: h.bound(i), Count: c})
		}
	}
	return s
}

// bound is the upper bound of bucket i, -1 for the last (unbounded).
func (h *Histogram) bound(i int) int64 {
	if i == len(h.counts)-1 {
		return -1
	}
	return int64(1) << (h.shift + uint(i))
}

// String returns the Snapshot as JSON, so that a *Metrics is an
// expvar.Var itself.
func (m *Metrics) String() string {
	b, err := json.Marshal(m.Snapshot())
	if err != nil {
		return "{}"
	}
	return string(b)
}
