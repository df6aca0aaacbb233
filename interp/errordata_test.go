package interp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

type logHost struct{ logs []string }

func (h *logHost) Route(_ *interp.Session, msg *interp.Message) (interp.RouteDecision, error) {
	return interp.RouteOutbox, fmt.Errorf("target %q: %w", msg.Target, interp.ErrUnreachable)
}

// startDoc compiles src (as file; the file itself when src is "") and starts a session of it with the
// given id and options.
func startDoc(t *testing.T, file, src, id string, opts interp.Options) *interp.Session {
	t.Helper()
	var doc *scxml.Document
	var err error
	if src == "" {
		doc, err = scxml.ParseFile(file, nil)
	} else {
		doc, err = scxml.Parse([]byte(src), &scxml.Options{File: file})
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(id, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(time.Time{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// take records the <log> output in s's outbox.
func (h *logHost) take(s *interp.Session) {
	for _, fx := range s.TakeOutbox(nil) {
		if fx.Kind == interp.EffectLog {
			h.logs = append(h.logs, fmt.Sprintf("%s=%v", fx.Label, fx.Value))
		}
	}
}

// Error events carry {tagname, line, column, document, reason}: a document
// can tell which element failed.
func TestErrorEventData(t *testing.T) {
	src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="a" name="errs">
  <state id="a">
    <onentry><log label="before" expr="1"/><assign location="nosuch.x" expr="1"/></onentry>
    <transition event="error.execution" target="b"><log label="err" expr="_event.data.tagname + '@' + _event.data.line + ':' + _event.data.column + ' ' + _event.data.document + ' ' + (_event.data.reason.length > 0)"/></transition>
  </state>
  <state id="b">
    <transition cond="nosuch.y" target="a"/>
    <transition event="error.execution" target="c"><log label="err" expr="_event.data.tagname + '@' + _event.data.line"/></transition>
  </state>
  <state id="c">
    <onentry><send target="http://example.invalid/" type="http://www.w3.org/TR/scxml/#SCXMLEventProcessor" event="x"/></onentry>
    <transition event="error.*" target="d"><log label="err" expr="_event.name + ' ' + _event.data.tagname + '@' + _event.data.line"/></transition>
  </state>
  <state id="d"/>
</scxml>`
	h := &logHost{}
	s := startDoc(t, "errs.scxml", src, "s", interp.Options{Host: h})
	h.take(s)
	want := []string{"before=1", "err=assign@3:44 errs true", "err=transition@7", "err=error.communication send@11"}
	if !slices.Equal(h.logs, want) {
		t.Fatalf("logs %q, want %q", h.logs, want)
	}
	if got := s.Configuration(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("configuration %v", got)
	}
}

// routeHost sends "#_scxml_other" out through the outbox, takes
// "loop:<event>" as an address of the sending session itself, and
// refuses anything else.
type routeHost struct{ routed []string }

func (h *routeHost) Route(from *interp.Session, msg *interp.Message) (interp.RouteDecision, error) {
	h.routed = append(h.routed, from.ID()+">"+msg.Target)
	switch {
	case msg.Target == "#_scxml_other":
		return interp.RouteOutbox, nil
	case strings.HasPrefix(msg.Target, "loop:"):
		msg.Event.Name = "looped"
		return interp.RouteSelf, nil
	}
	return interp.RouteOutbox, fmt.Errorf("target %q: %w", msg.Target, interp.ErrUnreachable)
}

func (h *routeHost) CheckInvoke(_ *interp.Session, typ string) error {
	if typ != "svc" {
		return fmt.Errorf("type %q: %w", typ, interp.ErrUnsupportedType)
	}
	return nil
}

// describe lists effects as "from kind detail".
func describe(fxs []interp.Effect) []string {
	var out []string
	for _, fx := range fxs {
		switch fx.Kind {
		case interp.EffectLog:
			out = append(out, fmt.Sprintf("%s log %s=%v", fx.From, fx.Label, fx.Value))
		case interp.EffectSend:
			out = append(out, fmt.Sprintf("%s send %s %s", fx.From, fx.Message.Target, fx.Message.Event.Name))
		case interp.EffectError:
			out = append(out, fmt.Sprintf("%s error %s", fx.From, fx.Event.Name))
		case interp.EffectInvoke:
			out = append(out, fmt.Sprintf("%s invoke %s %s", fx.From, fx.Invoke.Type, fx.Invoke.InvokeID))
		case interp.EffectCancelInvoke:
			out = append(out, fmt.Sprintf("%s cancel %s %s", fx.From, fx.InvokeType, fx.InvokeID))
		}
	}
	return out
}

// A macrostep's effects come out in the order they happened, those of an
// invoked child in its top-level session's outbox under the child's id;
// routing errors are raised at once (the transition on error.* is taken
// in the same macrostep) and a loopback enters the sender's queue during
// the <send>, ahead of what it queues after.
func TestOutboxOrder(t *testing.T) {
	s := startDoc(t, "testdata/order.scxml", "", "order", interp.Options{Host: &routeHost{}})
	check := func(when string, want ...string) {
		t.Helper()
		if got := describe(s.TakeOutbox(nil)); !slices.Equal(got, want) {
			t.Errorf("effects %s:\n%s\nwant:\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check("of the start",
		"order log one=1",
		"order send #_scxml_other e1",
		"order log two=2",
		// The invocations start at the end of the macrostep; the
		// child, inside the tree, runs its first macrostep at once.
		"order.kid log child=1",
		"order.kid send #_scxml_other fromkid",
		"order invoke svc svc1")
	s.Enqueue(interp.Event{Name: "go"})
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("configuration %v, want [e] (error raised at once, loopback ahead of the later self-send)", got)
	}
	check("after go",
		"order cancel svc svc1",
		"order error error.communication",
		"order log three=3")
	if out := s.TakeOutbox(nil); len(out) != 0 {
		t.Errorf("outbox not emptied: %v", describe(out))
	}
}
