package engine_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
	"github.com/redis/go-redis/v9"
)

// Idle-session hibernation (Options.HibernateAfter), on a ManualClock:
// every sweep and timer fires from Advance, so each test is
// deterministic.

var hibStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

const hibAfter = 10 * time.Second

// hibDoc counts "bump"s in its datamodel (n) and logs each, arms a 60s
// delayed send on "arm", waits for a published hx.answer (running
// <hx:wait/> subscribes it to "hx.") and logs its exit on cancel.
const hibDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:hx="urn:test:hx" datamodel="ecmascript" initial="idle" name="hib">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="main" initial="idle">
    <onexit><log label="exit" expr="n"/></onexit>
    <transition event="bump"><assign location="n" expr="n + 1"/><log label="n" expr="n"/></transition>
    <state id="idle">
      <transition event="arm" target="armed"/>
      <transition event="wait" target="waiting"/>
    </state>
    <state id="armed">
      <onentry><send id="t" event="fire" delay="60s"/></onentry>
      <transition event="fire" target="fired"/>
    </state>
    <state id="fired"><onentry><log label="fired" expr="n"/></onentry></state>
    <state id="waiting">
      <onentry><hx:wait/></onentry>
      <transition event="hx.answer" target="answered"><log label="answer" expr="_event.data.agent"/></transition>
    </state>
    <state id="answered"/>
  </state>
</scxml>`

// hibChildDoc invokes an SCXML child "kid" that waits for "poke" and
// tells its parent; the parent counts what its child told it.
const hibChildDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="run" name="hibparent">
  <datamodel><data id="told" expr="0"/></datamodel>
  <state id="run">
    <invoke id="kid" type="scxml"><content>
      <scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="wait" name="hibkid">
        <datamodel><data id="pokes" expr="0"/></datamodel>
        <state id="wait">
          <transition event="poke"><assign location="pokes" expr="pokes + 1"/><send target="#_parent" event="kid.poked"><param name="pokes" expr="pokes"/></send></transition>
        </state>
      </scxml>
    </content></invoke>
    <transition event="kid.poked"><assign location="told" expr="_event.data.pokes"/><log label="told" expr="told"/></transition>
  </state>
</scxml>`

// hibStore is a MemoryStore that can be told to fail Saves, Loads or
// Touches, counts Loads and records Touches.
type hibStore struct {
	*persist.MemoryStore
	failSave, failLoad atomic.Bool
	loads              atomic.Int64
	// failTouch fails each session of a Touch (as a store that could not
	// be reached would); failTouchCall fails the Touch as a whole.
	failTouch, failTouchCall atomic.Bool

	mu      sync.Mutex
	touches [][]string // the sessions of each Touch, sorted
}

var (
	_          persist.Expirer = (*hibStore)(nil)
	errHibDown                 = errors.New("store unreachable")
)

func (h *hibStore) Save(ctx context.Context, rec *persist.Record) error {
	if h.failSave.Load() {
		return errHibDown
	}
	return h.MemoryStore.Save(ctx, rec)
}

func (h *hibStore) Load(ctx context.Context, id string) (*persist.Record, error) {
	h.loads.Add(1)
	if h.failLoad.Load() {
		return nil, errHibDown
	}
	return h.MemoryStore.Load(ctx, id)
}

func (h *hibStore) Touch(ctx context.Context, w persist.Writer, ids []string) error {
	h.mu.Lock()
	h.touches = append(h.touches, slices.Sorted(slices.Values(ids)))
	h.mu.Unlock()
	if h.failTouchCall.Load() {
		return errHibDown
	}
	if h.failTouch.Load() {
		var errs []error
		for _, id := range ids {
			errs = append(errs, &persist.SessionError{SessionID: id, Err: errHibDown})
		}
		return errors.Join(errs...)
	}
	return h.MemoryStore.Touch(ctx, w, ids)
}

// takeTouches returns the sessions of each Touch since the last call.
func (h *hibStore) takeTouches() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.touches
	h.touches = nil
	return t
}

// noExpirer is a store whose records cannot be refreshed: it hides the
// Expirer methods of the store it wraps.
type noExpirer struct{ persist.Store }

// hxExtension runs <hx:wait/>, which only subscribes the session to
// "hx." (as every action of an extension with an EventPrefix does).
func hxExtension() *engine.Extension {
	return &engine.Extension{
		Name: "hx", Namespace: "urn:test:hx", EventPrefix: "hx.",
		Actions: map[string]engine.Action{"wait": func(*engine.ActionContext) error { return nil }},
	}
}

// hibRig is an engine hibernating after hibAfter, with the hx extension.
type hibRig struct {
	t     *testing.T
	ctx   context.Context
	clock *engine.ManualClock
	store *hibStore
	e     *engine.Engine
	doc   *scxml.Document

	mu        sync.Mutex
	logs      []string
	storeErrs []error
}

func newHibRig(t *testing.T, opts engine.Options) *hibRig {
	t.Helper()
	return newHibRigTTL(t, opts, 0, nil)
}

// newHibRigTTL is newHibRig on a store whose records live ttl (0: the
// default), and whose engine uses wrap(r.store) if wrap is not nil.
func newHibRigTTL(t *testing.T, opts engine.Options, ttl time.Duration, wrap func(*hibStore) persist.Store) *hibRig {
	t.Helper()
	r := &hibRig{t: t, ctx: context.Background(), clock: engine.NewManualClock(hibStart)}
	r.store = &hibStore{MemoryStore: persist.NewMemory(persist.MemoryOptions{Now: r.clock.Now, TTL: ttl})}
	if opts.Node == "" {
		opts.Node = "A"
	}
	opts.Clock = r.clock
	if opts.Store == nil {
		opts.Store = r.store
		if wrap != nil {
			opts.Store = wrap(r.store)
		}
	}
	if opts.HibernateAfter == 0 {
		opts.HibernateAfter = hibAfter
	}
	opts.Log = func(id, label string, v any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.logs = append(r.logs, fmt.Sprintf("%s=%v@%v", label, v, r.clock.Now().Sub(hibStart)))
	}
	opts.OnStoreError = func(id string, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.storeErrs = append(r.storeErrs, err)
	}
	opts.Extensions = []*engine.Extension{hxExtension()}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	r.e = e
	if r.doc, err = scxml.Parse([]byte(hibDoc), e.ParseOptions("hib.scxml")); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *hibRig) start(typ engine.SessionType) *engine.Session {
	r.t.Helper()
	s, err := r.e.Start(r.ctx, r.doc, engine.StartOptions{Type: typ})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *hibRig) send(s *engine.Session, name string) {
	r.t.Helper()
	if err := s.Send(r.ctx, engine.Event{Name: name}); err != nil {
		r.t.Fatalf("send %s: %v", name, err)
	}
}

// takeLogs returns the <log> output since the last call.
func (r *hibRig) takeLogs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.logs
	r.logs = nil
	return l
}

func (r *hibRig) logged(want ...string) {
	r.t.Helper()
	if got := r.takeLogs(); !slices.Equal(got, want) {
		r.t.Fatalf("logs %q, want %q", got, want)
	}
}

func (r *hibRig) hibernated(s *engine.Session, want bool, when string) {
	r.t.Helper()
	if s.Hibernated() != want {
		r.t.Fatalf("%s: Hibernated() = %v, want %v", when, s.Hibernated(), want)
	}
}

// config reads the configuration (which wakes a hibernated session).
func (r *hibRig) config(s *engine.Session, want ...string) {
	r.t.Helper()
	if got := s.Configuration(); !slices.Equal(got, want) {
		r.t.Fatalf("configuration %v, want %v (Err %v)", got, want, s.Err())
	}
}

func (r *hibRig) settle() {
	r.t.Helper()
	if err := r.e.Quiesce(r.ctx); err != nil {
		r.t.Fatal(err)
	}
}

// A persisted session is hibernated once it waited HibernateAfter for an
// event, and not a moment before; each event starts the wait again.
// Digital sessions, never persisted, are never hibernated.
func TestHibernateAfterIdle(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	voice := r.start(engine.Voice)
	chat := r.start(engine.Chat)
	r.clock.Advance(4 * time.Second)
	r.send(voice, "bump") // idle from 4s on
	r.clock.Advance(hibAfter - time.Millisecond)
	r.hibernated(voice, false, "1ms before its idle time")
	r.clock.Advance(time.Millisecond)
	r.hibernated(voice, true, "at its idle time")
	if r.e.Hibernated() != 1 || r.e.Len() != 2 {
		t.Fatalf("Hibernated() = %d, Len() = %d; want 1, 2", r.e.Hibernated(), r.e.Len())
	}
	if !voice.Running() || voice.Final() != "" || voice.Err() != nil {
		t.Fatalf("hibernated session: Running %v, Final %q, Err %v", voice.Running(), voice.Final(), voice.Err())
	}
	if got, err := r.e.Session(voice.ID()); err != nil || got != voice {
		t.Fatalf("Session(%s) = %p, %v; want the same handle", voice.ID(), got, err)
	}
	r.clock.Advance(time.Hour)
	r.hibernated(chat, false, "a chat session, after an hour")
	if !chat.Running() {
		t.Fatal("chat session ended")
	}
	r.logged("n=1@4s")
}

// A session whose last checkpoint failed is not hibernated (its record is
// older than its state) until a checkpoint is written again.
func TestHibernateNotAfterFailedCheckpoint(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.store.failSave.Store(true)
	if err := s.Send(r.ctx, engine.Event{Name: "bump"}); !errors.Is(err, engine.ErrCheckpoint) {
		t.Fatalf("Send with the store refusing: %v, want ErrCheckpoint", err)
	}
	r.clock.Advance(10 * hibAfter)
	r.hibernated(s, false, "after a failed checkpoint")
	r.store.failSave.Store(false)
	if err := s.Checkpoint(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.hibernated(s, false, "right after Checkpoint")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle, with its checkpoint written")
	// What it wakes from holds the bump whose checkpoint had failed.
	r.send(s, "bump")
	r.logged("n=1@0s", "n=2@1m50s")
}

// Send wakes a hibernated session, which goes on with its datamodel and
// configuration, from its record: the interpreter session is gone.
func TestHibernateWakeOnSend(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.send(s, "bump")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	loads := r.store.loads.Load()
	r.send(s, "bump")
	r.hibernated(s, false, "after Send")
	if n := r.store.loads.Load() - loads; n != 1 {
		t.Fatalf("waking read the store %d times, want once", n)
	}
	r.send(s, "wait")
	r.config(s, "waiting")
	r.logged("n=1@0s", "n=2@0s", "n=3@10s")
	// Idle again: hibernated again, and Configuration wakes it.
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle again")
	r.config(s, "waiting")
	r.hibernated(s, false, "after Configuration")
	if rec, err := r.store.Load(r.ctx, s.ID()); err != nil || rec.Seq != 5 {
		t.Fatalf("record: %v, %v; want checkpoint 5 (start, 4 events)", rec, err)
	}
}

// A delayed send that falls due while its session is hibernated wakes it
// at its due time, not before, and the session processes it.
func TestHibernateTimerWakes(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.send(s, "arm") // fire is due at 60s
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle with a delayed send pending")
	r.clock.AdvanceTo(hibStart.Add(60*time.Second - time.Millisecond))
	r.hibernated(s, true, "1ms before the delayed send")
	r.clock.AdvanceTo(hibStart.Add(60 * time.Second))
	r.logged("n=1@0s", "fired=1@1m0s")
	r.config(s, "fired")
}

// Publish and Broadcast reach a hibernated session through the
// subscriptions its handle keeps, and wake it.
func TestHibernatePublishWakes(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	other := r.start(engine.Voice)
	r.send(s, "wait")
	r.send(other, "wait")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "waiting for hx.answer")
	if subs := s.Subscriptions(); !slices.Equal(subs, []string{"hx."}) {
		t.Fatalf("hibernated session's subscriptions %v, want [hx.]", subs)
	}
	if err := r.e.Publish("hx", s.ID(), engine.Event{Name: "hx.answer", Data: map[string]any{"agent": "7001"}}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	r.hibernated(s, false, "after Publish")
	r.logged("answer=7001@10s")
	r.config(s, "answered")
	if n, err := r.e.Broadcast("hx", engine.Event{Name: "hx.answer", Data: map[string]any{"agent": "7002"}}); err != nil || n != 2 {
		t.Fatalf("Broadcast reached %d sessions (%v), want 2 (one hibernated)", n, err)
	}
	r.settle()
	r.logged("answer=7002@10s")
	r.config(other, "answered")
}

// Cancel wakes a hibernated session, runs its onexit handlers and
// deletes its record like any end.
func TestHibernateCancel(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	if err := s.Cancel(); err != nil {
		t.Fatal(err)
	}
	r.logged("n=1@0s", "exit=1@10s")
	if _, err := r.store.Load(r.ctx, s.ID()); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record of the cancelled session: %v, want ErrNotFound", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
	if s.Running() || s.Hibernated() || r.e.Len() != 0 || r.e.Hibernated() != 0 {
		t.Fatalf("Running %v, Hibernated %v, engine Len %d, Hibernated %d; want false, false, 0, 0",
			s.Running(), s.Hibernated(), r.e.Len(), r.e.Hibernated())
	}
}

// An invoked SCXML child of a hibernated session is still addressed by
// its id: Send to it wakes its top-level session, and the child goes on
// with its own datamodel.
func TestHibernateChild(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	doc, err := scxml.Parse([]byte(hibChildDoc), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.e.Start(r.ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kid := s.ID() + ".kid"
	if err := r.e.Send(r.ctx, kid, engine.Event{Name: "poke"}); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle, with a child")
	if err := r.e.Send(r.ctx, kid, engine.Event{Name: "poke"}); err != nil {
		t.Fatalf("Send to the child of a hibernated session: %v", err)
	}
	r.hibernated(s, false, "after a Send to its child")
	r.logged("told=1@0s", "told=2@10s")
	// Post (asynchronous) reaches it as well.
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle again")
	if err := r.e.Post(kid, engine.Event{Name: "poke"}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	r.logged("told=3@20s")
}

// Waking fails cleanly, with an error naming the session and wrapping
// ErrWake and the cause, when the record was deleted or damaged behind
// the engine's back or another node took the session over: the session
// ends, leaving the record alone.
func TestHibernateWakeFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(r *hibRig, s *engine.Session)
		cause error  // wrapped, if not nil
		msg   string // in the message
	}{
		{"deleted", func(r *hibRig, s *engine.Session) {
			if err := r.store.Delete(r.ctx, persist.Writer{Node: "A"}, s.ID()); err != nil {
				t.Fatal(err)
			}
		}, persist.ErrNotFound, "not found"},
		{"damaged", func(r *hibRig, s *engine.Session) {
			rec, err := r.store.Load(r.ctx, s.ID())
			if err != nil {
				t.Fatal(err)
			}
			rec.Data = []byte("not a snapshot")
			if err := r.store.MemoryStore.Save(r.ctx, rec); err != nil {
				t.Fatal(err)
			}
		}, nil, "snapshot"},
		{"taken over", func(r *hibRig, s *engine.Session) {
			// Node B resumes it (node A was thought dead): B's first
			// macrostep writes the next checkpoint, under B.
			b, err := engine.New(engine.Options{Node: "B", Clock: r.clock, Store: r.store.MemoryStore, Extensions: []*engine.Extension{hxExtension()}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := b.Resume(r.ctx, s.ID(), r.doc); err != nil {
				t.Fatal(err)
			}
		}, nil, "another node may have taken it over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHibRig(t, engine.Options{})
			s := r.start(engine.Voice)
			r.send(s, "arm")
			r.clock.Advance(hibAfter)
			r.hibernated(s, true, "idle")
			tc.spoil(r, s)
			before, _ := r.store.MemoryStore.Load(r.ctx, s.ID())
			err := s.Send(r.ctx, engine.Event{Name: "bump"})
			if !errors.Is(err, engine.ErrWake) || !strings.Contains(err.Error(), s.ID()) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Send: %v; want ErrWake naming %s and saying %q", err, s.ID(), tc.msg)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("Send: %v; want it to wrap %v", err, tc.cause)
			}
			select {
			case <-s.Done():
			default:
				t.Fatal("a session that cannot be woken did not end")
			}
			if s.Running() || s.Hibernated() || !errors.Is(s.Err(), engine.ErrWake) || s.Configuration() != nil {
				t.Fatalf("Running %v, Hibernated %v, Err %v, Configuration %v", s.Running(), s.Hibernated(), s.Err(), s.Configuration())
			}
			if r.e.Len() != 0 || r.e.Hibernated() != 0 {
				t.Fatalf("engine Len %d, Hibernated %d; want 0, 0", r.e.Len(), r.e.Hibernated())
			}
			if err := s.Send(r.ctx, engine.Event{Name: "bump"}); !errors.Is(err, engine.ErrNoSession) {
				t.Fatalf("Send after: %v, want ErrNoSession", err)
			}
			if err := s.Cancel(); err != nil {
				t.Fatalf("Cancel after: %v", err)
			}
			// Its timer is gone, and the record is left to its holder.
			r.clock.Advance(time.Hour)
			after, _ := r.store.MemoryStore.Load(r.ctx, s.ID())
			if (before == nil) != (after == nil) || before != nil && after.Seq != before.Seq {
				t.Fatalf("record %+v became %+v", before, after)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.storeErrs) != 1 || !errors.Is(r.storeErrs[0], engine.ErrWake) {
				t.Fatalf("OnStoreError heard %v, want the wake failure", r.storeErrs)
			}
		})
	}
}

// While the store cannot be reached, a hibernated session stays
// hibernated: a Send fails (and delivers nothing), and a delayed send
// that fell due is retried until the store answers.
func TestHibernateStoreDown(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "arm")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	r.store.failLoad.Store(true)
	err := s.Send(r.ctx, engine.Event{Name: "bump"})
	if !errors.Is(err, engine.ErrWake) || !errors.Is(err, errHibDown) {
		t.Fatalf("Send with the store down: %v, want ErrWake wrapping the store's error", err)
	}
	r.hibernated(s, true, "after a failed wake")
	r.clock.AdvanceTo(hibStart.Add(60 * time.Second)) // fire falls due
	r.hibernated(s, true, "store still down when fire fell due")
	r.store.failLoad.Store(false)
	r.clock.Advance(5 * time.Second) // the retry
	r.hibernated(s, false, "after the retry")
	r.config(s, "fired")
	r.logged("fired=0@1m5s") // the failed Send's bump was not delivered
	if r.e.Len() != 1 {
		t.Fatalf("Len() = %d", r.e.Len())
	}
}

// Resume of a session that runs here hibernated is refused, as for any
// running session; Close leaves the records of hibernated sessions, from
// which another node resumes them.
func TestHibernateResumeAndClose(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	if _, err := r.e.Resume(r.ctx, s.ID(), r.doc); !errors.Is(err, engine.ErrSessionExists) {
		t.Fatalf("Resume of a hibernated session: %v, want ErrSessionExists", err)
	}
	r.hibernated(s, true, "after the refused Resume")
	if err := r.e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Load(r.ctx, s.ID()); err != nil {
		t.Fatalf("record after Close: %v", err)
	}
	b, err := engine.New(engine.Options{Node: "B", Clock: r.clock, Store: r.store, Log: func(_, label string, v any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.logs = append(r.logs, fmt.Sprintf("B %s=%v", label, v))
	}, Extensions: []*engine.Extension{hxExtension()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sb, err := b.Resume(r.ctx, s.ID(), r.doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Send(r.ctx, engine.Event{Name: "bump"}); err != nil {
		t.Fatal(err)
	}
	r.logged("n=1@0s", "B n=2")
}

func TestHibernateOption(t *testing.T) {
	_, err := engine.New(engine.Options{HibernateAfter: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "HibernateAfter") {
		t.Fatalf("negative HibernateAfter: %v, want an error naming the option", err)
	}
	// Without a Store nothing is hibernated.
	clock := engine.NewManualClock(hibStart)
	e, err := engine.New(engine.Options{Clock: clock, HibernateAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.Start(context.Background(), mustParseHib(t, hibDoc, e), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if s.Hibernated() {
		t.Fatal("hibernated without a store")
	}
	if _, ok := clock.Next(); ok {
		t.Fatal("a sweep is armed without a store")
	}
}

func mustParseHib(t *testing.T, src string, e *engine.Engine) *scxml.Document {
	t.Helper()
	opts := e.ParseOptions("hib.scxml")
	opts.IgnoreUnknown = true
	doc, err := scxml.Parse([]byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// Many sessions receive events, publications and timers while sweeps
// hibernate them (run with -race): no event is lost or applied twice.
func TestHibernateConcurrent(t *testing.T) {
	r := newHibRig(t, engine.Options{HibernateAfter: time.Millisecond})
	const sessions, events = 8, 40
	ss := make([]*engine.Session, sessions)
	for i := range ss {
		ss[i] = r.start(engine.Voice)
	}
	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Add(1)
	go func() { // time passes: sweeps run
		defer ticker.Done()
		for {
			select {
			case <-stop:
				return
			default:
				r.clock.Advance(time.Millisecond)
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	var hib atomic.Int64
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range events {
				var err error
				if k%2 == 0 || i%2 == 0 {
					err = s.Send(r.ctx, engine.Event{Name: "bump"})
				} else {
					err = r.e.Post(s.ID(), engine.Event{Name: "bump"})
				}
				if err != nil {
					t.Error(err)
					return
				}
				if s.Hibernated() {
					hib.Add(1)
				}
				if k%8 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	r.settle()
	close(stop)
	ticker.Wait()
	r.clock.Advance(time.Second)
	if r.e.Hibernated() != sessions {
		t.Errorf("Hibernated() = %d after the sessions went idle, want %d", r.e.Hibernated(), sessions)
	}
	// Each session's last logged count is its number of events.
	last := map[int]int{}
	for _, l := range r.takeLogs() {
		var n int
		var at string
		if _, err := fmt.Sscanf(l, "n=%d@%s", &n, &at); err != nil {
			t.Fatalf("log %q", l)
		}
		last[n]++
	}
	for n := 1; n <= events; n++ {
		if last[n] != sessions {
			t.Fatalf("%d sessions logged n=%d, want %d (lost or repeated events)", last[n], n, sessions)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.storeErrs) > 0 {
		t.Fatalf("store errors: %v", r.storeErrs)
	}
	t.Logf("%d of %d sends found their session hibernated", hib.Load(), sessions*events)
}

// The heap a hibernated session holds: live bytes with the sessions
// hibernated, minus live bytes once the engine was closed and dropped
// (the store's records, kept in both, cancel out).
func TestHibernateHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of 2,000 sessions")
	}
	const n = 2000
	doc, err := scxml.ParseFile("fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := persist.NewMemory(persist.MemoryOptions{})
	ctx := context.Background()
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var awake, hibernated uint64
	func() {
		clock := engine.NewManualClock(hibStart)
		e, err := engine.New(engine.Options{Clock: clock, Store: store, HibernateAfter: hibAfter})
		if err != nil {
			t.Fatal(err)
		}
		ss := make([]*engine.Session, n)
		for i := range ss {
			if ss[i], err = e.Start(ctx, doc, engine.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, ev := range []engine.Event{
				{Name: "call.arrived", Data: map[string]any{"ani": "+33142000000", "dnis": "8000", "language": "fr"}},
				{Name: "lookup.done", Data: map[string]any{"segment": "gold"}},
			} {
				if err := ss[i].Send(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		awake = live()
		clock.Advance(hibAfter) // the queue timeout (30s) stays pending
		if e.Hibernated() != n {
			t.Fatalf("Hibernated() = %d, want %d", e.Hibernated(), n)
		}
		hibernated = live()
		e.Close()
		runtime.KeepAlive(ss)
	}()
	base := live()
	runtime.KeepAlive(store)
	per := float64(int64(hibernated)-int64(base)) / n
	t.Logf("heap per session: %.0f bytes awake, %.0f bytes hibernated (routing document, queue timeout pending)",
		float64(int64(awake)-int64(base))/n, per)
	// ~370 bytes here on amd64: the Session (256), its id, its entry in
	// the engine's map and in its timer heap (the queue timeout); 559
	// when each session had a timer of the clock, and 668 before that
	// (issue 15's target is 400).
	if per > 400 {
		t.Fatalf("a hibernated session holds %.0f bytes, want at most 400", per)
	}
}

// Against a real redis-server: a session hibernates, its record in Redis,
// and wakes from it.
func TestHibernateRedis(t *testing.T) {
	srv := redistest.Standalone(t)
	st, err := persist.NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}), persist.RedisOptions{Cluster: "hib"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newHibRig(t, engine.Options{Store: st})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.send(s, "arm")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	r.send(s, "bump")
	r.hibernated(s, false, "after Send")
	r.config(s, "armed")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle again")
	r.clock.AdvanceTo(hibStart.Add(60 * time.Second))
	r.logged("n=1@0s", "n=2@10s", "fired=2@1m0s")
	if err := s.Cancel(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(r.ctx, s.ID()); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record after Cancel: %v", err)
	}
}

// Records of hibernated sessions are kept alive. hibTTL is the records'
// time to live in these tests: each record is refreshed by the first
// sweep at which it is hibTTL/2 old or more, and sweeps run every
// hibAfter (under hibTTL/4) while sessions are hibernated.
const hibTTL = time.Minute

// A session hibernated for three times the store's TTL wakes on Send
// with its state, and one whose 60s delayed send falls due when its
// record, saved at 0s, would have expired fires it: the sweep refreshed
// their records. On a store that does not implement persist.Expirer, the
// same sessions are lost, as they were before records were refreshed.
func TestHibernateRefresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*hibStore) persist.Store
	}{
		{"Expirer", nil},
		{"no Expirer", func(h *hibStore) persist.Store { return noExpirer{h} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refreshed := tc.wrap == nil
			r := newHibRigTTL(t, engine.Options{}, hibTTL, tc.wrap)
			s := r.start(engine.Voice)
			timed := r.start(engine.Voice)
			r.send(s, "bump")
			r.send(s, "bump")
			r.send(timed, "arm") // fire is due at 60s: when its record would expire
			r.clock.Advance(hibAfter)
			r.hibernated(s, true, "idle")
			r.hibernated(timed, true, "idle with a delayed send pending")
			r.logged("n=1@0s", "n=2@0s")

			r.clock.AdvanceTo(hibStart.Add(60 * time.Second))
			if refreshed {
				r.logged("fired=0@1m0s")
				r.config(timed, "fired")
			} else {
				r.logged()
				if err := timed.Err(); !errors.Is(err, engine.ErrWake) || !errors.Is(err, persist.ErrNotFound) {
					t.Fatalf("timed session without refresh: Err %v, want ErrWake wrapping persist.ErrNotFound", err)
				}
			}

			r.clock.AdvanceTo(hibStart.Add(3*hibTTL + hibAfter))
			r.hibernated(s, true, "after three TTLs")
			err := s.Send(r.ctx, engine.Event{Name: "bump"})
			if refreshed {
				if err != nil {
					t.Fatalf("Send after three TTLs hibernated: %v", err)
				}
				r.logged("n=3@3m10s")
				r.config(s, "idle")
				r.mu.Lock()
				defer r.mu.Unlock()
				if len(r.storeErrs) > 0 {
					t.Fatalf("store errors: %v", r.storeErrs)
				}
				return
			}
			if !errors.Is(err, engine.ErrWake) || !errors.Is(err, persist.ErrNotFound) || !strings.Contains(err.Error(), s.ID()) {
				t.Fatalf("Send without refresh: %v, want ErrWake wrapping persist.ErrNotFound, naming %s", err, s.ID())
			}
			if r.e.Len() != 0 {
				t.Fatalf("Len() = %d, want 0", r.e.Len())
			}
			if _, ok := r.clock.Next(); ok {
				t.Fatal("a timer is armed with no session left")
			}
		})
	}
}

// The sweep refreshes the records of all the hibernated sessions that
// need it in one Touch, and none of those that do not; it stays armed
// while sessions are hibernated, and disarms once none is left.
func TestHibernateRefreshBatched(t *testing.T) {
	r := newHibRigTTL(t, engine.Options{}, hibTTL, nil)
	a, b := r.start(engine.Voice), r.start(engine.Voice)
	r.clock.Advance(5 * time.Second)
	late := r.start(engine.Voice) // written 5s after a and b
	all := slices.Sorted(slices.Values([]string{a.ID(), b.ID(), late.ID()}))
	r.clock.Advance(hibAfter)
	r.hibernated(a, true, "idle")
	r.hibernated(late, true, "idle")
	if got := r.store.takeTouches(); len(got) != 0 {
		t.Fatalf("records refreshed before any was TTL/2 old: %v", got)
	}
	// Sweeps at 15s (late hibernates), 25s, 35s, ...: at 35s a and b
	// (35s old) are due, and late (30s old); from then on the three are
	// refreshed together, every 30s.
	r.clock.AdvanceTo(hibStart.Add(3 * hibTTL))
	got := r.store.takeTouches()
	want := [][]string{all, all, all, all, all} // at 35s, 1m5s, ..., 2m35s
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Touches %v, want %v", got, want)
	}
	// a woke and was saved at 3m: at 3m5s b and late are refreshed
	// without it.
	r.send(a, "bump")
	r.clock.AdvanceTo(hibStart.Add(3*hibTTL + 5*time.Second))
	want = [][]string{slices.Sorted(slices.Values([]string{b.ID(), late.ID()}))}
	if got := r.store.takeTouches(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Touches %v, want %v", got, want)
	}
	for _, s := range []*engine.Session{a, b, late} {
		if err := s.Cancel(); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(hibTTL)
	if _, ok := r.clock.Next(); ok {
		t.Fatal("the sweep is still armed with no session left")
	}
	if got := r.store.takeTouches(); len(got) != 0 {
		t.Fatalf("Touches with no session left: %v", got)
	}
}

// A Touch that fails, for each session or as a whole, is reported to
// OnStoreError (ErrRefresh, naming the session, wrapping the store's
// error) and retried at the next sweep; the session stays hibernated
// and, refreshed by the retry, outlives its first TTL.
func TestHibernateRefreshFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(h *hibStore) *atomic.Bool
	}{
		{"each session", func(h *hibStore) *atomic.Bool { return &h.failTouch }},
		{"whole call", func(h *hibStore) *atomic.Bool { return &h.failTouchCall }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHibRigTTL(t, engine.Options{}, hibTTL, nil)
			s := r.start(engine.Voice)
			r.send(s, "bump")
			r.clock.Advance(hibAfter)
			r.hibernated(s, true, "idle")
			fail := tc.fail(r.store)
			fail.Store(true)
			r.clock.AdvanceTo(hibStart.Add(hibTTL / 2)) // the sweep at 30s
			if got := r.store.takeTouches(); len(got) != 1 {
				t.Fatalf("Touches %v, want one", got)
			}
			r.hibernated(s, true, "after a failed refresh")
			r.mu.Lock()
			errs := slices.Clone(r.storeErrs)
			r.mu.Unlock()
			if len(errs) != 1 || !errors.Is(errs[0], engine.ErrRefresh) || !errors.Is(errs[0], errHibDown) || !strings.Contains(errs[0].Error(), s.ID()) {
				t.Fatalf("OnStoreError heard %v, want ErrRefresh wrapping %v, naming %s", errs, errHibDown, s.ID())
			}
			fail.Store(false)
			r.clock.AdvanceTo(hibStart.Add(hibTTL/2 + hibAfter)) // the next sweep
			if got := r.store.takeTouches(); !slices.EqualFunc(got, [][]string{{s.ID()}}, slices.Equal) {
				t.Fatalf("Touches %v, want the retry of %s", got, s.ID())
			}
			r.clock.AdvanceTo(hibStart.Add(3 * hibTTL))
			r.send(s, "bump")
			r.logged("n=1@0s", "n=2@3m0s")
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.storeErrs) != 1 {
				t.Fatalf("OnStoreError heard %v after the retry", r.storeErrs)
			}
		})
	}
}

// A hibernated session whose record Touch finds gone (deleted behind the
// engine's back) ends then, as a wake that found it gone would; the
// other sessions of the same Touch are refreshed.
func TestHibernateRefreshLost(t *testing.T) {
	r := newHibRigTTL(t, engine.Options{}, hibTTL, nil)
	s, kept := r.start(engine.Voice), r.start(engine.Voice)
	r.send(kept, "bump")
	r.clock.Advance(hibAfter)
	r.hibernated(s, true, "idle")
	if err := r.store.MemoryStore.Delete(r.ctx, persist.Writer{Node: "A"}, s.ID()); err != nil {
		t.Fatal(err)
	}
	r.clock.AdvanceTo(hibStart.Add(hibTTL / 2)) // the sweep at 30s
	select {
	case <-s.Done():
	default:
		t.Fatal("a session whose record is gone did not end")
	}
	err := s.Err()
	if !errors.Is(err, engine.ErrWake) || !errors.Is(err, persist.ErrNotFound) || !strings.Contains(err.Error(), s.ID()) {
		t.Fatalf("Err %v, want ErrWake wrapping persist.ErrNotFound, naming %s", err, s.ID())
	}
	if s.Running() || s.Hibernated() || r.e.Len() != 1 || r.e.Hibernated() != 1 {
		t.Fatalf("Running %v, Hibernated %v, engine Len %d, Hibernated %d; want false, false, 1, 1",
			s.Running(), s.Hibernated(), r.e.Len(), r.e.Hibernated())
	}
	if err := s.Send(r.ctx, engine.Event{Name: "bump"}); !errors.Is(err, engine.ErrNoSession) {
		t.Fatalf("Send to the lost session: %v, want ErrNoSession", err)
	}
	r.mu.Lock()
	errs := slices.Clone(r.storeErrs)
	r.mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], engine.ErrWake) {
		t.Fatalf("OnStoreError heard %v, want the loss", errs)
	}
	r.clock.AdvanceTo(hibStart.Add(3 * hibTTL))
	r.send(kept, "bump")
	r.logged("n=1@0s", "n=2@3m0s")
	if got := r.store.takeTouches(); len(got) < 2 || slices.ContainsFunc(got[1:], func(ids []string) bool { return slices.Contains(ids, s.ID()) }) {
		t.Fatalf("Touches %v: want the lost session in the first only", got)
	}
}

// With HibernateAfter over half the TTL, a session's record is due for a
// refresh when it hibernates: the sweep that hibernates it refreshes it,
// and then runs every TTL/4 (not every HibernateAfter), so that records
// are refreshed well before they expire.
func TestHibernateRefreshLongIdle(t *testing.T) {
	const after = 40 * time.Second
	r := newHibRigTTL(t, engine.Options{HibernateAfter: after}, hibTTL, nil)
	s := r.start(engine.Voice)
	r.clock.Advance(after)
	r.hibernated(s, true, "idle")
	if got := r.store.takeTouches(); !slices.EqualFunc(got, [][]string{{s.ID()}}, slices.Equal) {
		t.Fatalf("Touches %v when it hibernated, want %s", got, s.ID())
	}
	if next, ok := r.clock.Next(); !ok || next.Sub(r.clock.Now()) > hibTTL/4 {
		t.Fatalf("next sweep at %v (armed %v), want within TTL/4 = %v", next.Sub(hibStart), ok, hibTTL/4)
	}
	r.clock.AdvanceTo(hibStart.Add(3 * hibTTL))
	r.send(s, "bump")
	r.logged("n=1@3m0s")
}
