package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
)

// boomInvoker panics in whichever of its methods it is told to.
type boomInvoker struct{ in string }

func (b *boomInvoker) Invoke(string, *engine.InvokeRequest) error {
	if b.in == "Invoke" {
		panic("invoker down")
	}
	return nil
}

func (b *boomInvoker) Event(string, string, engine.Event) error {
	if b.in == "Event" {
		panic("event lost")
	}
	return nil
}

func (b *boomInvoker) Cancel(string, string) {
	if b.in == "Cancel" {
		panic("cancel failed")
	}
}

// boomIO is an I/O processor whose Send panics.
type boomIO struct{}

func (boomIO) Name() string               { return "boom" }
func (boomIO) Types() []string            { return []string{"boom"} }
func (boomIO) Open(*engine.Engine) error  { return nil }
func (boomIO) Location(id string) string  { return "boom:" + id }
func (boomIO) Close() error               { return nil }
func (boomIO) CheckTarget(t string) error { return nil }
func (boomIO) Send(context.Context, string, string, engine.Event) error {
	panic("wire cut")
}

// panicRig runs panicDoc with an extension whose code panics, recording
// OnError causes and OnSessionError reports.
type panicRig struct {
	t     *testing.T
	e     *engine.Engine
	clock *engine.ManualClock

	mu       sync.Mutex
	causes   []string
	sessErrs []error
}

const panicDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:b="urn:test:boom" datamodel="ecmascript" initial="idle">
  <state id="idle">
    <transition event="action" target="acting"/>
    <transition event="later"><send event="action" delay="1s"/></transition>
    <transition event="host" target="hosting"/>
    <transition event="invoke" target="invoking"/>
    <transition event="io" target="io"/>
    <transition event="log"><log label="l" expr="1"/><raise event="logged"/></transition>
    <transition event="logged" target="logged"/>
  </state>
  <state id="acting">
    <onentry><b:boom/><raise event="not.reached"/></onentry>
    <transition event="error.execution" target="failed"/>
  </state>
  <state id="hosting">
    <onentry><script>_genesys.b.boom()</script></onentry>
    <transition event="error.execution" target="failed"/>
  </state>
  <state id="invoking">
    <invoke id="svc" type="boom"/>
    <transition event="error.execution" target="failed"/>
    <transition event="poke"><send target="#_svc" event="hello"/></transition>
    <transition event="error.communication" target="failed"/>
    <transition event="leave" target="idle"/>
  </state>
  <state id="io">
    <onentry><send type="boom" target="somewhere" event="x"/></onentry>
    <transition event="error.communication" target="failed"/>
  </state>
  <state id="failed"/>
  <state id="logged"/>
</scxml>`

func newPanicRig(t *testing.T, invokerPanics string, opts engine.Options) *panicRig {
	t.Helper()
	r := &panicRig{t: t, clock: engine.NewManualClock(t0)}
	opts.Clock = r.clock
	opts.OnError = func(id string, ev *engine.Event, cause error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.causes = append(r.causes, ev.Name+": "+cause.Error())
	}
	opts.OnSessionError = func(id string, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sessErrs = append(r.sessErrs, err)
	}
	opts.IOProcessors = []engine.IOProcessor{boomIO{}}
	opts.Extensions = []*engine.Extension{{
		Name: "b", Namespace: "urn:test:boom",
		Actions: map[string]engine.Action{"boom": func(*engine.ActionContext) error { panic("action blew up") }},
		Object: func(string) map[string]any {
			return map[string]any{"boom": func() { panic("host function blew up") }}
		},
		Invokers: map[string]engine.Invoker{"boom": &boomInvoker{in: invokerPanics}},
	}}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	r.e = e
	return r
}

func (r *panicRig) start() *engine.Session {
	r.t.Helper()
	doc := mustParseHib(r.t, panicDoc, r.e)
	s, err := r.e.Start(context.Background(), doc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// wantCause checks that OnError heard of a panic that mentions every
// part of want.
func (r *panicRig) wantCause(want ...string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.causes {
		if !strings.Contains(c, "panic") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(c, w)
		}
		if ok {
			return
		}
	}
	r.t.Fatalf("no OnError cause mentions a panic and %q; causes:\n%s", want, strings.Join(r.causes, "\n"))
}

func send(t *testing.T, s *engine.Session, name string) {
	t.Helper()
	if err := s.Send(context.Background(), engine.Event{Name: name}); err != nil {
		t.Fatalf("send %s: %v", name, err)
	}
}

func wantConfig(t *testing.T, s *engine.Session, want ...string) {
	t.Helper()
	if got := s.Configuration(); !slices.Equal(got, want) {
		t.Fatalf("configuration %v, want %v", got, want)
	}
}

// A custom action that panics raises error.execution naming the element
// and its position, whether Send or a timer ran it.
func TestPanicInAction(t *testing.T) {
	r := newPanicRig(t, "", engine.Options{})
	s := r.start()
	send(t, s, "action")
	wantConfig(t, s, "failed")
	r.wantCause("error.execution", "hib.scxml:", "<boom>", "action blew up")

	s2 := r.start()
	send(t, s2, "later")
	r.clock.Advance(time.Second) // the timer's goroutine runs it: no crash
	wantConfig(t, s2, "failed")
}

// A Go function of a host object that panics fails its script.
func TestPanicInHostFunction(t *testing.T) {
	r := newPanicRig(t, "", engine.Options{})
	s := r.start()
	send(t, s, "host")
	wantConfig(t, s, "failed")
	r.mu.Lock()
	causes := strings.Join(r.causes, "\n")
	r.mu.Unlock()
	// goja recovers it as a runtime failure of the script, with its position.
	if !strings.Contains(causes, "error.execution: hib.scxml:16:14: <script>") || !strings.Contains(causes, "host function blew up") {
		t.Fatalf("causes:\n%s", causes)
	}
	// The runtime is still usable.
	if v, err := s.Eval(context.Background(), "1 + 1"); err != nil || v != int64(2) {
		t.Fatalf("Eval after the panic = %v, %v", v, err)
	}
}

func TestPanicInInvoker(t *testing.T) {
	t.Run("Invoke", func(t *testing.T) {
		r := newPanicRig(t, "Invoke", engine.Options{})
		s := r.start()
		send(t, s, "invoke")
		wantConfig(t, s, "failed")
		r.wantCause("error.execution", "<invoke id=\"svc\">", "invoker down")
	})
	t.Run("Event", func(t *testing.T) {
		r := newPanicRig(t, "Event", engine.Options{})
		s := r.start()
		send(t, s, "invoke")
		send(t, s, "poke")
		wantConfig(t, s, "failed")
		r.wantCause("error.communication", "event lost")
	})
	t.Run("Cancel", func(t *testing.T) {
		r := newPanicRig(t, "Cancel", engine.Options{})
		s := r.start()
		send(t, s, "invoke")
		send(t, s, "leave")
		wantConfig(t, s, "idle")
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.sessErrs) != 1 || !errors.Is(r.sessErrs[0], engine.ErrPanic) || !strings.Contains(r.sessErrs[0].Error(), "cancel failed") {
			t.Fatalf("OnSessionError heard %v", r.sessErrs)
		}
	})
}

// An I/O processor's Send runs on a goroutine of its own: its panic comes
// back as error.communication.
func TestPanicInIOProcessor(t *testing.T) {
	r := newPanicRig(t, "", engine.Options{})
	s := r.start()
	send(t, s, "io")
	if err := r.e.Quiesce(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, s, "failed")
	r.wantCause("error.communication", "wire cut")
}

// Callbacks that panic are reported and the macrostep goes on.
func TestPanicInCallbacks(t *testing.T) {
	r := newPanicRig(t, "", engine.Options{Log: func(string, string, any) { panic("log full") }})
	s := r.start()
	send(t, s, "log")
	wantConfig(t, s, "logged")
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessErrs) != 1 || !strings.Contains(r.sessErrs[0].Error(), "log full") {
		t.Fatalf("OnSessionError heard %v", r.sessErrs)
	}
}

func TestPanicInOpen(t *testing.T) {
	_, err := engine.New(engine.Options{Extensions: []*engine.Extension{{
		Name: "x", Open: func(*engine.Engine) error { panic("no config") },
	}}})
	if !errors.Is(err, engine.ErrPanic) || !strings.Contains(err.Error(), "no config") {
		t.Fatalf("New = %v, want ErrPanic", err)
	}
}
