package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
)

func TestMaxRecordSize(t *testing.T) {
	doc := mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel><data id="blob" expr="''"/><data id="small" expr="1"/></datamodel>
  <state id="s"><transition event="keep"><assign location="blob" expr="_event.data"/></transition></state>
</scxml>`)
	ctx := context.Background()
	big := strings.Repeat("x", 100<<10)
	for _, limit := range []int{64 << 10, engine.NoRecordLimit} {
		store := persist.NewMemory(persist.MemoryOptions{})
		e, err := engine.New(engine.Options{Store: store, MaxRecordSize: limit})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		s, err := e.Start(ctx, doc, engine.StartOptions{ID: "big"})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(ctx, engine.Event{Name: "keep", Data: big})
		if limit == engine.NoRecordLimit {
			if err != nil {
				t.Fatalf("without a limit: %v", err)
			}
			continue
		}
		if !errors.Is(err, engine.ErrCheckpoint) || !errors.Is(err, engine.ErrRecordTooLarge) {
			t.Fatalf("Send = %v, want ErrCheckpoint and ErrRecordTooLarge", err)
		}
		for _, want := range []string{"session big", "exceeds MaxRecordSize 64.0 KiB", "variable blob 100.", "_event (keep) 100."} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if rec, err := store.Load(ctx, "big"); err != nil || rec.Seq != 1 {
			t.Fatalf("record %+v, %v: want the first checkpoint only", rec, err)
		}
		if v, _ := s.Value("small"); v != int64(1) {
			t.Fatal("the session did not go on in memory")
		}
	}
	if _, err := engine.New(engine.Options{MaxRecordSize: -5}); err == nil || !strings.Contains(err.Error(), "MaxRecordSize") {
		t.Fatalf("New(MaxRecordSize: -5) = %v", err)
	}
}

// An event's data is stored once in a checkpoint (as the event _event is
// bound to), not again as a variable of the datamodel: 1 MiB of event
// data makes a record of a little over 1 MiB.
func TestEventStoredOnce(t *testing.T) {
	doc := mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="s"><transition event="keep"><assign location="n" expr="_event.data.length"/></transition></state>
</scxml>`)
	ctx := context.Background()
	store := persist.NewMemory(persist.MemoryOptions{})
	e, err := engine.New(engine.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.Start(ctx, doc, engine.StartOptions{ID: "once"})
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	if err := s.Send(ctx, engine.Event{Name: "keep", Data: strings.Repeat("x", size)}); err != nil {
		t.Fatal(err)
	}
	rec, err := store.Load(ctx, "once")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Data) < size || len(rec.Data) > size+size/10 {
		t.Fatalf("record of %d bytes for %d bytes of event data", len(rec.Data), size)
	}
	if v, _ := s.Value("n"); v != int64(size) {
		t.Fatalf("n = %v", v)
	}
}
