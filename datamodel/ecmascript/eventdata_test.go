package ecmascript_test

import (
	"testing"

	"github.com/orsgo/engine/interp"
)

// TestEventDataNull: nil inside event data is null; no data at all leaves
// _event.data undefined.
func TestEventDataNull(t *testing.T) {
	check := `_event.data.e === null && _event.data.a[1] === null && _event.data.o.n === null && ("e" in _event.data)`
	m := compileDoc(t, checkDoc(``, check, `JSON.stringify(_event.data)`))
	h := &recHost{}
	s := startSession(t, m, "null", interp.Options{Host: h})
	s.Enqueue(interp.Event{Name: "check", Data: map[string]any{
		"e": nil, "a": []any{int64(1), nil}, "o": map[string]any{"n": nil},
	}})
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if s.Final() != "pass" {
		t.Errorf("final %q, logs %q", s.Final(), h.logs())
	}

	m = compileDoc(t, checkDoc(``, `_event.data === undefined`, `typeof _event.data`))
	h = &recHost{}
	s = startSession(t, m, "none", interp.Options{Host: h})
	runCheck(t, s, h, "no data")
}

// TestEventDataKeyOrder: objects made from Go maps list their keys in
// sorted order, the same on every run.
func TestEventDataKeyOrder(t *testing.T) {
	data := map[string]any{}
	for _, k := range []string{"m", "b", "z", "a", "k", "c", "y", "d", "x", "e", "w", "f", "v", "g", "u", "h"} {
		data[k] = map[string]any{"z": int64(1), "a": int64(2), "q": int64(3), "b": int64(4)}
	}
	want := `"a,b,c,d,e,f,g,h,k,m,u,v,w,x,y,z|a,b,q,z"`
	check := `Object.keys(_event.data).join() + "|" + Object.keys(_event.data.m).join() === ` + want
	m := compileDoc(t, checkDoc(``, check, `Object.keys(_event.data).join() + "|" + Object.keys(_event.data.m).join()`))
	for i := 0; i < 20; i++ {
		h := &recHost{}
		s := startSession(t, m, "order", interp.Options{Host: h})
		s.Enqueue(interp.Event{Name: "check", Data: data})
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		if s.Final() != "pass" {
			t.Fatalf("run %d: final %q, logs %q", i, s.Final(), h.logs())
		}
	}
}
