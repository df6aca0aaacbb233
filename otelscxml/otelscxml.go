// Package otelscxml publishes an engine's figures through OpenTelemetry:
// metrics (macrosteps, their latency, checkpoints with their latency,
// size and failures, writes refused as fenced, error events, session
// lifecycle, recoveries with their sessions and time; with Gauges, the
// sessions live, persisted and hibernated) and traces (a span
// per run of a session's macrosteps, with a child span for the
// checkpoint that followed it). It is a module of its own, as go-redis
// keeps redisotel apart, so that the engine's dependencies stay short.
//
//	obs, err := otelscxml.Observer(otelscxml.Options{
//		MeterProvider:  otel.GetMeterProvider(),
//		TracerProvider: otel.GetTracerProvider(),
//	})
//	e, err := engine.New(engine.Options{Observer: engine.JoinObservers(obs, myObserver)})
//	reg, err := otelscxml.Gauges(otelscxml.Options{}, e) // reg.Unregister() when done
package otelscxml

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/orsgo/engine/otelscxml"

// Options configure Observer.
type Options struct {
	// MeterProvider makes the meter of the instruments.
	// default: otel.GetMeterProvider()
	MeterProvider metric.MeterProvider
	// TracerProvider makes the tracer of the spans.
	// default: otel.GetTracerProvider()
	TracerProvider trace.TracerProvider
	// TimingSample is engine.Observer.TimingSample: only one run in
	// TimingSample of each session is timed, and only timed runs get a
	// latency measurement and a span.
	// default: 0, every run
	TimingSample int
}

// Observer returns an engine.Observer that records into opts' providers.
// Errors name the instrument that could not be created.
func Observer(opts Options) (*engine.Observer, error) {
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.TimingSample < 0 {
		return nil, fmt.Errorf("otelscxml: Options.TimingSample %d: negative", opts.TimingSample)
	}
	m := opts.MeterProvider.Meter(ScopeName)
	o := &observer{tracer: opts.TracerProvider.Tracer(ScopeName)}
	var err error
	mk := func(name string, f func() error) {
		if err == nil {
			if e := f(); e != nil {
				err = fmt.Errorf("otelscxml: instrument %s: %w", name, e)
			}
		}
	}
	mk("scxml.macrosteps", func() (e error) {
		o.runs, e = m.Int64Counter("scxml.macrosteps", metric.WithDescription("runs of a session's macrosteps (one Start, Send, timer or batch of posted events)"))
		return
	})
	mk("scxml.macrostep.duration", func() (e error) {
		o.runTime, e = m.Float64Histogram("scxml.macrostep.duration", metric.WithUnit("s"), metric.WithDescription("interpreter time of a run, without its checkpoint"))
		return
	})
	mk("scxml.checkpoints", func() (e error) {
		o.ckpts, e = m.Int64Counter("scxml.checkpoints", metric.WithDescription("records written or deleted, by op and result"))
		return
	})
	mk("scxml.checkpoint.duration", func() (e error) {
		o.ckptTime, e = m.Float64Histogram("scxml.checkpoint.duration", metric.WithUnit("s"), metric.WithDescription("encoding and the store's Save, or its Delete"))
		return
	})
	mk("scxml.checkpoint.size", func() (e error) {
		o.ckptSize, e = m.Int64Histogram("scxml.checkpoint.size", metric.WithUnit("By"), metric.WithDescription("encoded snapshot of a checkpoint"))
		return
	})
	mk("scxml.error_events", func() (e error) {
		o.errEvents, e = m.Int64Counter("scxml.error_events", metric.WithDescription("error.execution and error.communication events raised"))
		return
	})
	mk("scxml.session.events", func() (e error) {
		o.sessions, e = m.Int64Counter("scxml.session.events", metric.WithDescription("sessions started, ended, hibernated, woken, resumed, lost, fenced"))
		return
	})
	mk("scxml.fenced_writes", func() (e error) {
		o.fenced, e = m.Int64Counter("scxml.fenced_writes", metric.WithDescription("writes (saves, deletes, refreshes) the store refused because another node holds this node id (persist.ErrFenced)"))
		return
	})
	mk("scxml.recoveries", func() (e error) {
		o.recoveries, e = m.Int64Counter("scxml.recoveries", metric.WithDescription("recoveries of a failed node's sessions (recovery.Recover: lazy=false; Adopt: lazy=true)"))
		return
	})
	mk("scxml.recovery.sessions", func() (e error) {
		o.recovered, e = m.Int64Counter("scxml.recovery.sessions", metric.WithDescription("sessions of failed nodes resumed, failed or not recoverable (unpersisted), by result"))
		return
	})
	mk("scxml.recovery.duration", func() (e error) {
		o.recoveryTime, e = m.Float64Histogram("scxml.recovery.duration", metric.WithUnit("s"), metric.WithDescription("wall time of a recovery (of an adoption: the promotion)"))
		return
	})
	if err != nil {
		return nil, err
	}
	return &engine.Observer{
		TimingSample: opts.TimingSample,
		Macrostep:    o.macrostep,
		Checkpoint:   o.checkpoint,
		ErrorEvent:   o.errorEvent,
		Session:      o.session,
		Recovery:     o.recovery,
	}, nil
}

// Gauges registers observable gauges of engines' sessions with opts'
// MeterProvider: scxml.sessions.live (running, hibernated ones
// included), scxml.sessions.persisted (those checkpointed) and
// scxml.sessions.hibernated, summed over engines and read at each
// collection (engine.Engine.Len, Persisted, Hibernated). Unregister the
// returned Registration when the engines close.
func Gauges(opts Options, engines ...*engine.Engine) (metric.Registration, error) {
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	for i, e := range engines {
		if e == nil {
			return nil, fmt.Errorf("otelscxml: Gauges: engine %d is nil", i)
		}
	}
	m := opts.MeterProvider.Meter(ScopeName)
	live, err1 := m.Int64ObservableGauge("scxml.sessions.live", metric.WithDescription("running sessions, hibernated ones included"))
	persisted, err2 := m.Int64ObservableGauge("scxml.sessions.persisted", metric.WithDescription("running sessions that are checkpointed"))
	hib, err3 := m.Int64ObservableGauge("scxml.sessions.hibernated", metric.WithDescription("hibernated sessions"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("otelscxml: gauges: %w", err)
	}
	return m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		var l, p, h int64
		for _, e := range engines {
			l += int64(e.Len())
			p += int64(e.Persisted())
			h += int64(e.Hibernated())
		}
		ob.ObserveInt64(live, l)
		ob.ObserveInt64(persisted, p)
		ob.ObserveInt64(hib, h)
		return nil
	}, live, persisted, hib)
}

type observer struct {
	tracer    trace.Tracer
	runs      metric.Int64Counter
	runTime   metric.Float64Histogram
	ckpts     metric.Int64Counter
	ckptTime  metric.Float64Histogram
	ckptSize  metric.Int64Histogram
	errEvents metric.Int64Counter
	sessions  metric.Int64Counter
	fenced    metric.Int64Counter

	recoveries   metric.Int64Counter
	recovered    metric.Int64Counter
	recoveryTime metric.Float64Histogram

	// pending holds, by session id, the timed checkpoint of the run whose
	// Macrostep comes next: the engine reports a run's checkpoint before
	// the run itself (both under the session's lock), and the run's span
	// is the checkpoint span's parent.
	pending sync.Map // string -> engine.CheckpointInfo
}

var (
	resultOK    = metric.WithAttributes(attribute.String("result", "ok"))
	resultError = metric.WithAttributes(attribute.String("result", "error"))
)

func (o *observer) macrostep(i engine.MacrostepInfo) {
	ctx := context.Background()
	if i.Err != nil {
		o.runs.Add(ctx, 1, resultError)
	} else {
		o.runs.Add(ctx, 1, resultOK)
	}
	ck, hasCk := o.pending.LoadAndDelete(i.SessionID)
	if !i.Timed {
		return
	}
	o.runTime.Record(ctx, i.Duration.Seconds())
	// The run ended just now; its checkpoint took the time after it.
	end := time.Now()
	var ckDur time.Duration
	var c engine.CheckpointInfo
	if hasCk {
		c = ck.(engine.CheckpointInfo)
		ckDur = c.Duration
	}
	start := end.Add(-i.Duration - ckDur)
	ctx, span := o.tracer.Start(ctx, "scxml.macrostep", trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("scxml.session.id", i.SessionID), attribute.Bool("scxml.session.running", i.Running)))
	if hasCk {
		_, cs := o.tracer.Start(ctx, "scxml.checkpoint", trace.WithTimestamp(start.Add(i.Duration)),
			trace.WithAttributes(attribute.Int64("scxml.checkpoint.seq", int64(c.Seq)), attribute.Int("scxml.checkpoint.bytes", c.Bytes),
				attribute.String("scxml.checkpoint.op", c.Op.String())))
		if c.Err != nil {
			cs.RecordError(c.Err)
			cs.SetStatus(codes.Error, c.Err.Error())
		}
		cs.End(trace.WithTimestamp(end))
	}
	if i.Err != nil {
		span.RecordError(i.Err)
		span.SetStatus(codes.Error, i.Err.Error())
	}
	span.End(trace.WithTimestamp(end))
}

func (o *observer) checkpoint(c engine.CheckpointInfo) {
	ctx := context.Background()
	op := attribute.String("op", c.Op.String())
	result := attribute.String("result", "ok")
	if c.Err != nil {
		result = attribute.String("result", "error")
	}
	o.ckpts.Add(ctx, 1, metric.WithAttributes(op, result))
	if c.Err != nil && errors.Is(c.Err, persist.ErrFenced) {
		o.fenced.Add(ctx, 1, metric.WithAttributes(op))
	}
	if c.Op == engine.CheckpointSave && c.Err == nil && c.Bytes > 0 {
		o.ckptSize.Record(ctx, int64(c.Bytes))
	}
	if c.Timed {
		o.ckptTime.Record(ctx, c.Duration.Seconds(), metric.WithAttributes(op))
		o.pending.Store(c.SessionID, c)
	}
}

func (o *observer) errorEvent(_ string, ev *engine.Event, _ error) {
	o.errEvents.Add(context.Background(), 1, metric.WithAttributes(attribute.String("event", ev.Name)))
}

func (o *observer) session(e engine.SessionEvent) {
	o.sessions.Add(context.Background(), 1, metric.WithAttributes(attribute.String("kind", e.Kind.String()), attribute.String("type", string(e.Type))))
}

var (
	resultResumed      = metric.WithAttributes(attribute.String("result", "resumed"))
	resultFailed       = metric.WithAttributes(attribute.String("result", "failed"))
	resultNotRecovered = metric.WithAttributes(attribute.String("result", "not_recovered"))
)

// recovery counts a recovery run (once, with its time) and the sessions
// it resumed, failed to or could not (an adopted node's sessions come
// one by one, SessionID set, as they are loaded).
func (o *observer) recovery(r engine.RecoveryInfo) {
	ctx := context.Background()
	if r.Resumed > 0 {
		o.recovered.Add(ctx, int64(r.Resumed), resultResumed)
	}
	if r.Failed > 0 {
		o.recovered.Add(ctx, int64(r.Failed), resultFailed)
	}
	if r.NotRecovered > 0 {
		o.recovered.Add(ctx, int64(r.NotRecovered), resultNotRecovered)
	}
	if r.SessionID != "" {
		return
	}
	lazy := metric.WithAttributes(attribute.Bool("lazy", r.Lazy))
	o.recoveries.Add(ctx, 1, lazy)
	o.recoveryTime.Record(ctx, r.Elapsed.Seconds(), lazy)
}
