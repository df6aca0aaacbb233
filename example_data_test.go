package engine_test

import (
	"context"
	"errors"
	"fmt"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// exampleCallDoc routes a call by the caller's tier, given at start.
const exampleCallDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="route" name="call">
  <datamodel>
    <data id="caller" expr="({tier: 'unknown'})"/>
    <data id="attempts" expr="0"/>
  </datamodel>
  <state id="route">
    <transition event="retry"><assign location="attempts" expr="attempts + 1"/></transition>
    <transition cond="caller.tier == 'gold'" target="vip"/>
  </state>
  <state id="vip"/>
</scxml>`

// Start-up data: StartOptions.Data gives top-level <data> items their
// initial values, as an invoking parent's <param>s would.
func ExampleStartOptions_data() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	s, err := e.Start(ctx, doc, engine.StartOptions{Data: map[string]any{
		"caller": map[string]any{"tier": "gold", "ani": "+33123456789"},
	}})
	fmt.Println(s.Configuration(), err)

	// A name the document does not declare at top level is refused.
	_, err = e.Start(ctx, doc, engine.StartOptions{Data: map[string]any{"calller": 1}})
	fmt.Println(errors.Is(err, engine.ErrInvalidData))
	// Output:
	// [vip] <nil>
	// true
}

// Reading a session's datamodel: all of it, one variable, or a read-only
// expression.
func ExampleSession_Data() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	s, _ := e.Start(ctx, doc, engine.StartOptions{})
	_ = s.Send(ctx, engine.Event{Name: "retry"})

	data, _ := s.Data()
	fmt.Println(data)
	// Output:
	// map[attempts:1 caller:map[tier:unknown]]
}

func ExampleSession_Value() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	s, _ := e.Start(ctx, doc, engine.StartOptions{})

	v, err := s.Value("attempts")
	fmt.Println(v, err)
	_, err = s.Value("nosuch")
	fmt.Println(errors.Is(err, engine.ErrNoVariable))
	// Output:
	// 0 <nil>
	// true
}

func ExampleSession_Eval() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	s, _ := e.Start(ctx, doc, engine.StartOptions{Data: map[string]any{"caller": map[string]any{"tier": "silver"}}})

	v, err := s.Eval(ctx, "caller.tier + ' after ' + attempts")
	fmt.Println(v, err)
	// Anything that could change the datamodel is refused, unrun.
	_, err = s.Eval(ctx, "attempts = 10")
	fmt.Println(errors.Is(err, engine.ErrNotReadOnly))
	// Output:
	// silver after 0 <nil>
	// true
}

// Listing the engine's sessions.
func ExampleEngine_Sessions() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{Store: persist.NewMemory(persist.MemoryOptions{})})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	_, _ = e.Start(ctx, doc, engine.StartOptions{ID: "call-1"})
	_, _ = e.Start(ctx, doc, engine.StartOptions{ID: "chat-1", Type: engine.Chat})

	for _, info := range e.Sessions() {
		fmt.Println(info.ID, info.Type, info.Persisted, info.Hibernated, info.Configuration)
	}
	// Output:
	// call-1 voice true false [route]
	// chat-1 chat false false [route]
}

// Writing every checkpoint again, after the store lost its data.
func ExampleEngine_CheckpointAll() {
	ctx := context.Background()
	store := persist.NewMemory(persist.MemoryOptions{})
	e, _ := engine.New(engine.Options{Node: "A", Store: store})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(exampleCallDoc), &scxml.Options{File: "call.scxml"})
	_, _ = e.Start(ctx, doc, engine.StartOptions{ID: "call-1"})
	_ = store.Delete(ctx, persist.Writer{Node: "A"}, "call-1") // lost

	res, err := e.CheckpointAll(ctx)
	fmt.Println(res, err)
	_, err = store.Load(ctx, "call-1")
	fmt.Println(err)
	// Output:
	// [{call-1 <nil>}] <nil>
	// <nil>
}
