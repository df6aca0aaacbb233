package server

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
)

// heldStore is a MemoryStore whose Saves of a checkpoint numbered from
// holdFrom on wait until the test releases them, with the error they
// return (nil: saved).
type heldStore struct {
	*persist.MemoryStore
	holdFrom atomic.Uint64 // 0: hold nothing
	entered  chan uint64   // the seq of each held Save, as it is held
	release  chan error
}

func (h *heldStore) Save(ctx context.Context, rec *persist.Record) error {
	if from := h.holdFrom.Load(); from != 0 && rec.Seq >= from {
		h.entered <- rec.Seq
		if err := <-h.release; err != nil {
			return err
		}
	}
	return h.MemoryStore.Save(ctx, rec)
}

// TestRequestAnsweredAfterItsCheckpoint: a request answered by a later
// macrostep (a delayed send falling due), with <ors:response> or a send
// to the request's origin, gets its answer only once that macrostep's
// checkpoint is written; when the checkpoint fails, the request answers
// 503 and no answer.
func TestRequestAnsweredAfterItsCheckpoint(t *testing.T) {
	for _, c := range []struct{ name, event string }{
		{"response", "later"},
		{"send to origin", "laterask"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &heldStore{MemoryStore: persist.NewMemory(persist.MemoryOptions{}), entered: make(chan uint64, 1), release: make(chan error)}
			s, hs := node(t, "n1", config.RolePrimary, st)
			s.opts.Node.RequestTimeout = 10 * time.Second
			id := start(t, hs, `{"src": "later"}`) // checkpoint 1
			ask := func() <-chan answer {
				got := make(chan answer, 1)
				go func() {
					got <- call(t, hs, "POST", "/scxml/session/"+id+"/request/"+c.event, js, `{"delay": 30}`)
				}()
				return got
			}
			// The request's event is checkpoint seq; the delayed send's
			// macrostep, which answers, seq+1: hold that one.
			for round, saveErr := range []error{nil, errors.New("store down")} {
				rec, err := st.Load(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				answering := rec.Seq + 2
				st.holdFrom.Store(answering)
				got := ask()
				select {
				case seq := <-st.entered:
					if seq != answering {
						t.Fatalf("round %d: held checkpoint %d, want %d", round, seq, answering)
					}
				case a := <-got:
					t.Fatalf("round %d: answered before the answering macrostep's checkpoint was even tried: %d %s", round, a.status, a.raw)
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: the answering macrostep did not checkpoint", round)
				}
				// The session has answered (the checkpoint follows the
				// macrostep); the client must not hear it yet.
				select {
				case a := <-got:
					t.Fatalf("round %d: answered while its checkpoint is not written: %d %s", round, a.status, a.raw)
				case <-time.After(300 * time.Millisecond):
				}
				st.holdFrom.Store(0)
				st.release <- saveErr
				var a answer
				select {
				case a = <-got:
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: no answer after the checkpoint", round)
				}
				rec, err = st.Load(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if saveErr == nil {
					r, _ := a.body["response"].(map[string]any)
					if a.status != 200 || r["answers"] != 1.0 || rec.Seq != answering {
						t.Fatalf("round %d: answer %d %s with the record at seq %d (want 200, answers 1, seq %d)", round, a.status, a.raw, rec.Seq, answering)
					}
					continue
				}
				if a.status != 503 || !strings.Contains(a.raw, "checkpoint of the macrostep that gave the answer was not written") || a.body["response"] != nil {
					t.Fatalf("round %d: answer %d %s after its checkpoint failed", round, a.status, a.raw)
				}
				if rec.Seq != answering-1 {
					t.Fatalf("round %d: record at seq %d, want %d", round, rec.Seq, answering-1)
				}
			}
			if n := s.reqs.nheld.Load(); n != 0 {
				t.Fatalf("%d answers still held", n)
			}
		})
	}
}
