package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
)

const doorDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel><data id="got" expr="null"/><data id="n" expr="0"/></datamodel>
  <state id="s">
    <onentry><send event="tick" delay="1s"/></onentry>
    <transition event="tick"><log label="tick" expr="1"/></transition>
    <transition event="bump"><assign location="n" expr="n + 1"/></transition>
    <transition event="data"><assign location="got" expr="_event.data"/></transition>
    <transition event="spin"><log label="spin" expr="1"/><script>for (;;) {}</script></transition>
  </state>
</scxml>`

func TestInputRefusedAtTheDoor(t *testing.T) {
	e, err := engine.New(engine.Options{NewID: func() string { return "bad id" }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	doc := mustParse(t, doorDoc)
	for _, c := range []struct {
		opts engine.StartOptions
		is   error
		want string
	}{
		{engine.StartOptions{ID: "a b"}, engine.ErrInvalidID, `StartOptions.ID "a b": character ' ' at offset 1`},
		{engine.StartOptions{ID: "x{y}"}, engine.ErrInvalidID, `'{'`},
		{engine.StartOptions{ID: strings.Repeat("x", 200)}, engine.ErrInvalidID, "longer than 128"},
		{engine.StartOptions{}, engine.ErrInvalidID, `Options.NewID returned "bad id"`},
		{engine.StartOptions{ID: "ok", Type: "VOICE"}, engine.ErrInvalidType, `did you mean "voice"`},
		{engine.StartOptions{ID: "ok", Type: "fax"}, engine.ErrInvalidType, `"fax": not a session type`},
	} {
		_, err := e.Start(ctx, doc, c.opts)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v) = %v; want %v mentioning %s", c.opts, err, c.is, c.want)
		}
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{ID: "call-1:a@b"})
	if err != nil {
		t.Fatal(err)
	}
	type order struct{ ID int }
	for _, c := range []struct {
		ev   engine.Event
		is   error
		want string
	}{
		{engine.Event{}, engine.ErrInvalidEvent, "no name"},
		{engine.Event{Name: "a..b"}, engine.ErrInvalidEvent, "empty token"},
		{engine.Event{Name: ".a"}, engine.ErrInvalidEvent, "empty token"},
		{engine.Event{Name: "has space"}, engine.ErrInvalidEvent, "' ' at offset 3"},
		{engine.Event{Name: "a.*"}, engine.ErrInvalidEvent, "'*'"},
		{engine.Event{Name: "data", Data: map[string]any{"orders": []any{order{1}}}}, engine.ErrInvalidData, `Event.Data["orders"][0]: Go type engine_test.order`},
		{engine.Event{Name: "data", Data: time.Now}, engine.ErrInvalidData, "func() time.Time"},
	} {
		for name, send := range map[string]func() error{
			"Session.Send": func() error { return s.Send(ctx, c.ev) },
			"Engine.Send":  func() error { return e.Send(ctx, s.ID(), c.ev) },
			"Post":         func() error { return e.Post(s.ID(), c.ev) },
		} {
			if err := send(); !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s(%+v) = %v; want %v mentioning %s", name, c.ev, err, c.is, c.want)
			}
		}
	}
	// Typed Go data is converted: the document sees arrays and objects.
	if err := s.Send(ctx, engine.Event{Name: "data", Data: map[string][]string{"skills": {"billing", "fr"}}}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Eval(ctx, "got.skills.length + ':' + got.skills[1]"); err != nil || v != "2:fr" {
		t.Fatalf("Eval = %v, %v", v, err)
	}
}

func TestNilMisuse(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustParse(t, doorDoc)
	//lint:ignore SA1012 nil contexts are the misuse under test
	var nilCtx context.Context
	s, err := e.Start(context.Background(), doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := e.Start(nilCtx, doc, engine.StartOptions{})
	_, err2 := e.Start(context.Background(), nil, engine.StartOptions{})
	_, err3 := e.Compile(nil)
	_, err4 := e.ResumeRecord(context.Background(), nil, doc)
	_, err5 := s.Eval(nilCtx, "1")
	_, err6 := e.CheckpointAll(nilCtx)
	for i, err := range []error{err1, err2, err3, err4, err5, e.Send(nilCtx, s.ID(), engine.Event{Name: "x"}),
		s.Send(nilCtx, engine.Event{Name: "x"}), s.Checkpoint(nilCtx), err6, e.Shutdown(nilCtx)} {
		if err == nil || !strings.Contains(err.Error(), "nil") {
			t.Errorf("misuse %d: %v, want an error naming the nil argument", i+1, err)
		}
	}
}

func TestClose(t *testing.T) {
	clock := engine.NewManualClock(t0)
	var mu sync.Mutex
	var logs []string
	store := persist.NewMemory(persist.MemoryOptions{})
	e, err := engine.New(engine.Options{Clock: clock, Store: store, Log: func(id, label string, v any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, label)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := mustParse(t, doorDoc)
	s, err := e.Start(ctx, doc, engine.StartOptions{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // its <send delay="1s"> must not fire
	mu.Lock()
	if len(logs) != 0 {
		t.Fatalf("a timer fired after Close: %v", logs)
	}
	mu.Unlock()
	ev := engine.Event{Name: "bump"}
	_, errStart := e.Start(ctx, doc, engine.StartOptions{})
	_, errResume := e.Resume(ctx, "c1", doc)
	_, errSession := e.Session("c1")
	_, errData := s.Data()
	_, errEval := s.Eval(ctx, "n")
	_, errAll := e.CheckpointAll(ctx)
	_, errBroadcast := e.Broadcast("x", ev)
	for i, err := range []error{errStart, errResume, errSession, errData, errEval, errAll, errBroadcast,
		s.Send(ctx, ev), e.Send(ctx, "c1", ev), e.Post("c1", ev), e.Publish("x", "c1", ev), e.PostInvoke("c1", "i", ev),
		s.Cancel(), s.Checkpoint(ctx)} {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i+1, err)
		}
	}
	if rec, err := store.Load(ctx, "c1"); err != nil || rec.Seq != 1 {
		t.Fatalf("record after Close: %+v, %v (the session must not have run)", rec, err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// spinObserver signals spinning when a session takes its "spin"
// transition, whose script then spins: during the macrostep (its <log>
// is an effect, carried out once the macrostep is over).
func spinObserver(spinning chan<- struct{}) *engine.Observer {
	return &engine.Observer{Transition: func(ti engine.TransitionInfo) {
		if ti.Event != nil && ti.Event.Name == "spin" {
			spinning <- struct{}{}
		}
	}}
}

// Shutdown drains: the macrostep in flight finishes (its runaway script
// interrupted by the watchdog) and a checkpoint whose write failed is
// written again.
func TestShutdownDrains(t *testing.T) {
	spinning := make(chan struct{}, 1)
	store := &hibStore{MemoryStore: persist.NewMemory(persist.MemoryOptions{})}
	e, err := engine.New(engine.Options{Store: store, ScriptBudget: 50 * time.Millisecond, Observer: spinObserver(spinning)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := mustParse(t, doorDoc)
	s, err := e.Start(ctx, doc, engine.StartOptions{ID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	store.failSave.Store(true)
	if err := s.Send(ctx, engine.Event{Name: "bump"}); !errors.Is(err, engine.ErrCheckpoint) {
		t.Fatalf("Send with the store down = %v", err)
	}
	store.failSave.Store(false)
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, engine.Event{Name: "spin"}) }()
	<-spinning
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the interrupted Send = %v", err)
	}
	// The record holds the last state: n was bumped once.
	b, err := engine.New(engine.Options{Node: "B", Store: store.MemoryStore})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.Resume(ctx, "d1", doc)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := r.Value("n"); err != nil || v != int64(1) {
		t.Fatalf("resumed n = %v, %v; want 1", v, err)
	}
}

// Shutdown's context bounds the drain: a script that the budget would let
// run for an hour is interrupted when it ends.
func TestShutdownDeadline(t *testing.T) {
	spinning := make(chan struct{}, 1)
	e, err := engine.New(engine.Options{ScriptBudget: time.Hour, Observer: spinObserver(spinning)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := e.Start(ctx, mustParse(t, doorDoc), engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, engine.Event{Name: "spin"}) }()
	<-spinning
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		t.Fatal("the script was not interrupted")
	}
}

// blockingStore's Save waits for its context: a store that does not
// answer.
type blockingStore struct{ *persist.MemoryStore }

func (b blockingStore) Save(ctx context.Context, rec *persist.Record) error {
	if rec.Seq == 1 {
		return b.MemoryStore.Save(ctx, rec)
	}
	<-ctx.Done()
	return ctx.Err()
}

// The caller's context bounds the wait for the checkpoint: the macrostep
// happened, the call returns DeadlineExceeded wrapped with ErrCheckpoint.
func TestCheckpointWaitBoundedByContext(t *testing.T) {
	e, err := engine.New(engine.Options{Store: blockingStore{persist.NewMemory(persist.MemoryOptions{})}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Its rewrite of the failed checkpoint waits for the store, until
		// Shutdown's deadline.
		sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := e.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
		}
	}()
	ctx := context.Background()
	s, err := e.Start(ctx, mustParse(t, doorDoc), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = s.Send(sctx, engine.Event{Name: "bump"})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, engine.ErrCheckpoint) {
		t.Fatalf("Send = %v, want DeadlineExceeded and ErrCheckpoint", err)
	}
	if v, _ := s.Value("n"); v != int64(1) {
		t.Fatalf("n = %v: the macrostep did not happen", v)
	}
}
