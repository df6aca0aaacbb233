package interp_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// A state whose eventless transition has a cond that throws, entered by
// an event: the error.execution the cond raises enables nothing, and the
// macrostep must end there (section 3.13) instead of selecting the
// eventless transitions again for ever. Variants that do loop (an error
// handler that takes a microstep each time, a cond on every event that
// throws) end with ErrLivelock: no loop of the algorithm is unbounded.
func TestEventlessCondThrows(t *testing.T) {
	const head = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="a">
  <state id="a"><transition event="go" target="b"/></state>`
	for _, c := range []struct {
		name, states string
		config       []string
		errors       int  // error.execution raised
		livelock     bool // the document loops: ErrLivelock
	}{
		{"plain", `<state id="b"><transition cond="nosuch.v &lt; 1" target="a"/></state>`, []string{"b"}, 1, false},
		{"In guard", `<state id="b"><transition cond="In('b') &amp;&amp; nosuch.v &lt; 1" target="a"/></state>`, []string{"b"}, 1, false},
		{"parallel", `<parallel id="b">
    <state id="r1"><transition cond="nosuch.v" target="a"/></state>
    <state id="r2"><transition cond="nosuch.w" target="a"/></state>
  </parallel>`, []string{"r1", "r2"}, 2, false},
		{"handled by leaving", `<state id="b"><transition cond="nosuch.v" target="a"/><transition event="error.execution" target="c"/></state>
  <state id="c"/>`, []string{"c"}, 1, false},
		{"raise in the error handler", `<state id="b"><transition cond="nosuch.v" target="a"/><transition event="error.execution"><raise event="oops"/></transition></state>`, nil, 0, true},
		{"cond on every event throws", `<state id="b"><transition event="*" cond="nosuch.v" target="a"/><transition cond="nosuch.w" target="a"/></state>`, nil, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := scxml.Parse([]byte(head+"\n  "+c.states+"\n</scxml>"), &scxml.Options{File: "livelock.scxml"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := interp.Compile(doc, datamodel.Standard())
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.NewSession("s", interp.Options{MaxMicrosteps: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(time.Time{}); err != nil {
				t.Fatal(err)
			}
			s.Enqueue(interp.Event{Name: "go"})
			done := make(chan error, 1)
			go func() { done <- s.Run() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return: the session spins")
			}
			if c.livelock {
				if !errors.Is(err, interp.ErrLivelock) {
					t.Fatalf("Run = %v, want ErrLivelock", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if got := s.Configuration(); !slices.Equal(got, c.config) {
				t.Fatalf("configuration %v, want %v", got, c.config)
			}
			var raised []string
			for _, fx := range s.TakeOutbox(nil) {
				if fx.Kind == interp.EffectError {
					raised = append(raised, fx.Event.Name+": "+fx.Cause.Error())
				}
			}
			if len(raised) != c.errors {
				t.Fatalf("%d errors raised, want %d:\n%s", len(raised), c.errors, strings.Join(raised, "\n"))
			}
			// The session still takes events.
			s.Enqueue(interp.Event{Name: "go"})
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Appendix D selects eventless transitions again after each internal
// event, even one that enables nothing: a cond reading _event sees it.
// Only an eventless selection that raised errors waits for a microstep
// (TestEventlessCondThrows); this one raised none.
func TestEventlessSeesInternalEvents(t *testing.T) {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="a">
  <state id="a">
    <onentry><raise event="ping"/><raise event="pong"/></onentry>
    <transition cond="typeof _event == 'object' &amp;&amp; _event.name == 'ping'" target="pinged"/>
  </state>
  <state id="pinged"><transition cond="_event.name == 'pong'" target="ponged"/></state>
  <state id="ponged"/>
</scxml>`), &scxml.Options{File: "eventless.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession("s", interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); !slices.Equal(got, []string{"ponged"}) {
		t.Fatalf("configuration %v, want [ponged]", got)
	}
}
