package recovery_test

import (
	"context"
	"fmt"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
)

// An HA pair: node1 runs a call and fails; its backup, node2, switches
// over and resumes the call where it stood, datamodel included. In
// production the store is Redis (persist.Open); both nodes see the same
// records.
func ExampleNode_Switchover() {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" name="call" initial="routing">
  <datamodel><data id="agent" expr="''"/></datamodel>
  <state id="routing">
    <transition event="target.selected" target="connected"><assign location="agent" expr="_event.data.agent"/></transition>
  </state>
  <state id="connected"><transition event="hangup" target="done"><log label="agent" expr="agent"/></transition></state>
  <final id="done"/>
</scxml>`), nil)

	primary, _ := engine.New(engine.Options{Node: "node1", Clock: clock, Store: store})
	s, _ := primary.Start(ctx, doc, engine.StartOptions{Type: engine.Voice})
	_ = s.Send(ctx, engine.Event{Name: "target.selected", Data: map[string]any{"agent": "7001"}})
	// node1 fails here: nothing of it is used again.

	backup, _ := engine.New(engine.Options{Node: "node2", Clock: clock, Store: store,
		Log: func(_, label string, v any) { fmt.Println(label, v) }})
	defer backup.Close()
	n, _ := recovery.NewNode(backup, recovery.Backup, "node1", recovery.Options{Documents: recovery.NewLibrary(doc)})
	report, err := n.Switchover(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Role(), report.Resumed, "resumed")
	resumed, _ := backup.Session(s.ID())
	fmt.Println(resumed.Configuration())
	_ = resumed.Send(ctx, engine.Event{Name: "hangup"})
	// Output:
	// primary 1 resumed
	// [connected]
	// agent 7001
}
