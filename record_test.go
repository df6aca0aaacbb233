package engine_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
)

// A record's datamodel reads as the running session's does.
func TestRecordData(t *testing.T) {
	store := persist.NewMemory(persist.MemoryOptions{})
	e, err := engine.New(engine.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel>
    <data id="n" expr="42"/><data id="f" expr="1.5"/><data id="str" expr="'x'"/><data id="none"/>
    <data id="obj" expr="({a: [1, 'b', null, {c: true}], d: {}})"/>
  </datamodel>
  <script>var shared = obj.a; let lex = 'L'; function fn() {} var when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));</script>
  <state id="s"/>
</scxml>`)
	s, err := e.Start(context.Background(), doc, engine.StartOptions{ID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Load(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.RecordData(rec)
	if err != nil {
		t.Fatal(err)
	}
	wantWhen := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for _, m := range []map[string]any{live, got} {
		if w, ok := m["when"].(time.Time); !ok || !w.Equal(wantWhen) {
			t.Fatalf("when = %v, want %v", m["when"], wantWhen)
		}
		delete(m, "when")
	}
	if !reflect.DeepEqual(got, live) {
		t.Fatalf("RecordData = %#v\nSession.Data = %#v", got, live)
	}
	if _, ok := got["fn"]; ok {
		t.Fatal("a function in the data")
	}
	if got["lex"] != "L" || got["n"] != int64(42) {
		t.Fatalf("lex %v, n %v", got["lex"], got["n"])
	}
}
