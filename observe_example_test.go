package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/scxml"
)

// An Observer sees each transition a session takes and each run of
// macrosteps, without wrapping the engine's callbacks.
func ExampleObserver() {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">
  <datamodel><data id="tries" expr="0"/></datamodel>
  <state id="ringing">
    <transition event="answer" target="talking"/>
    <transition event="noanswer" cond="tries &lt; 2" type="internal"><assign location="tries" expr="tries + 1"/></transition>
  </state>
  <state id="talking"><transition event="hangup" target="done"/></state>
  <final id="done"/>
</scxml>`), &scxml.Options{File: "call.scxml"})
	if err != nil {
		panic(err)
	}
	eng, err := engine.New(engine.Options{Observer: &engine.Observer{
		Transition: func(t engine.TransitionInfo) {
			to := "(stays)"
			if len(t.Transition.Targets) > 0 {
				to = t.Transition.Targets[0].ID
			}
			fmt.Printf("  %s: %s -> %s\n", t.Event.Name, t.Transition.Source.ID, to)
		},
		Macrostep: func(m engine.MacrostepInfo) {
			fmt.Printf("now in %s (running: %v)\n", strings.Join(m.Configuration(), " "), m.Running)
		},
	}})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ctx := context.Background()
	s, err := eng.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"noanswer", "answer", "hangup"} {
		if err := s.Send(ctx, engine.Event{Name: name}); err != nil {
			panic(err)
		}
	}
	// Output:
	// now in ringing (running: true)
	//   noanswer: ringing -> (stays)
	// now in ringing (running: true)
	//   answer: ringing -> talking
	// now in talking (running: true)
	//   hangup: talking -> done
	// now in done (running: false)
}

// With a Logger, <log> output and error events become log records naming
// the session and the node.
func ExampleOptions_logger() {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" name="greeter">
  <state id="s">
    <onentry><log label="greeting" expr="'hello'"/></onentry>
    <transition event="go"><assign location="nowhere.at.all" expr="1"/></transition>
  </state>
</scxml>`), &scxml.Options{File: "log.scxml"})
	if err != nil {
		panic(err)
	}
	// No time in the records, so that the output is always the same.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	eng, err := engine.New(engine.Options{
		Node:   "node7",
		Logger: slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})),
	})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ctx := context.Background()
	s, err := eng.Start(ctx, doc, engine.StartOptions{ID: "s1"})
	if err != nil {
		panic(err)
	}
	if err := s.Send(ctx, engine.Event{Name: "go"}); err != nil {
		panic(err)
	}
	// Output:
	// level=INFO msg=log node=node7 session=s1 doc=greeter label=greeting value=hello
	// level=WARN msg="error event" node=node7 session=s1 event=error.execution err="log.scxml:4:28: location \"nowhere.at.all\": ReferenceError: nowhere is not defined"
}
