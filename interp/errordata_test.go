package interp_test

import (
	"fmt"
	"slices"
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
	doc, err := scxml.Parse([]byte(src), &scxml.Options{File: "errs.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatal(err)
	}
	h := &logHost{}
	s, err := m.NewSession("s", interp.Options{Host: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(time.Time{}); err != nil {
		t.Fatal(err)
	}
	h.take(s)
	want := []string{"before=1", "err=assign@3:44 errs true", "err=transition@7", "err=error.communication send@11"}
	if !slices.Equal(h.logs, want) {
		t.Fatalf("logs %q, want %q", h.logs, want)
	}
	if got := s.Configuration(); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("configuration %v", got)
	}
}
