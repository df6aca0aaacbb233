package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

const routing = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="queued">
  <datamodel><data id="tries" expr="0"/></datamodel>
  <state id="queued">
    <onentry><send id="qt" event="queue.timeout" delay="30s"/></onentry>
    <transition event="target.failed" target="queued"><assign location="tries" expr="tries + 1"/></transition>
    <transition event="queue.timeout" cond="tries == 2" target="voicemail"/>
  </state>
  <state id="voicemail"><transition event="hangup" target="done"/></state>
  <final id="done"/>
</scxml>`

// A voice session checkpointed on node A is resumed on node B from the
// shared store, with its datamodel and its pending delayed send.
func TestResumeOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	a, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	voice, err := a.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chat, err := a.Start(ctx, doc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := voice.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := store.ListNode(ctx, "A")
	if len(ids) != 1 || ids[0] != voice.ID() {
		t.Fatalf("node A's index = %v, want only the voice session %s (never the chat %s)", ids, voice.ID(), chat.ID())
	}
	a.Close() // node A fails: its timers die with it

	clock.Advance(10 * time.Second)
	b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.Resume(ctx, voice.ID(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); len(got) != 1 || got[0] != "queued" {
		t.Fatalf("resumed in %v", got)
	}
	clock.Advance(19 * time.Second)
	if got := s.Configuration(); got[0] != "queued" {
		t.Fatalf("timeout fired early: %v", got)
	}
	clock.Advance(1 * time.Second) // 30s after the last entry into queued
	if got := s.Configuration(); got[0] != "voicemail" {
		t.Fatalf("after the queue timeout: %v (the datamodel's tries must have survived)", got)
	}
	if ids, _ := store.ListNode(ctx, "A"); len(ids) != 0 {
		t.Fatalf("node A still lists %v after B took over", ids)
	}
	if ids, _ := store.ListNode(ctx, "B"); len(ids) != 1 || ids[0] != voice.ID() {
		t.Fatalf("node B lists %v, want the resumed session", ids)
	}
	if err := s.Send(ctx, engine.Event{Name: "hangup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx, voice.ID()); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record of an ended session: %v", err)
	}
	if _, err := b.Resume(ctx, chat.ID(), doc); !errors.Is(err, engine.ErrNotPersisted) {
		t.Fatalf("chat session resumed: %v", err)
	}
}
