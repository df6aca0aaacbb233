package scxml_test

import (
	"errors"
	"fmt"

	"github.com/orsgo/engine/scxml"
)

func ExampleParse() {
	src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="light" initial="on">
  <state id="on">
    <state id="green"><transition event="timer" target="yellow"/></state>
    <state id="yellow"><transition event="timer" target="red"/></state>
    <state id="red"><transition event="timer" target="green"/></state>
    <transition event="power.off" target="off"/>
  </state>
  <final id="off"/>
</scxml>`
	doc, err := scxml.Parse([]byte(src), &scxml.Options{File: "light.scxml"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range doc.States {
		fmt.Printf("%d %-8s %-6s depth %d at %v\n", s.Index, s.Kind, s.ID, s.Depth, s.Pos)
	}
	on := doc.StateByID("on")
	fmt.Println("initial state of on:", on.Initial.Targets[0].ID)
	fmt.Println("events of on's transition:", on.Transitions[0].Events)
	// Output:
	// 0 scxml    light  depth 0 at 1:1
	// 1 state    on     depth 1 at 2:3
	// 2 state    green  depth 2 at 3:5
	// 3 state    yellow depth 2 at 4:5
	// 4 state    red    depth 2 at 5:5
	// 5 final    off    depth 1 at 8:3
	// initial state of on: green
	// events of on's transition: [power.off]
}

func ExampleErrorList() {
	src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
  <state id="idle">
    <transition event="start" conf="ready" target="idle"/>
    <onentry><send event="tick" delay="5 minutes"/></onentry>
  </state>
  <state id="idle"/>
</scxml>`
	_, err := scxml.Parse([]byte(src), &scxml.Options{File: "timer.scxml"})
	var list scxml.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Println(e)
		}
	}
	fmt.Println("invalid document:", errors.Is(err, scxml.ErrInvalid))
	fmt.Printf("first problem on line %d, column %d\n", list[0].Pos.Line, list[0].Pos.Col)
	// Output:
	// timer.scxml:3:5: <transition>: unknown attribute "conf"
	// timer.scxml:4:14: <send>: delay "5 minutes": not a CSS2 time (like "2s" or "500ms")
	// timer.scxml:6:3: <state>: duplicate id "idle" (first at 2:3)
	// invalid document: true
	// first problem on line 3, column 5
}
