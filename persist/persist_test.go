package persist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness is a Store under test and the back doors the conformance suite
// needs to damage and age its records.
type harness struct {
	store Store
	// expire makes a session's record expire, really (not by deleting it).
	expire func(t *testing.T, sessionID string)
	// raw stores value as the session's record, indexed under node,
	// without the store's encoding.
	raw func(t *testing.T, node, sessionID string, value []byte)
	// indexed returns the raw members of node's index, sorted.
	indexed func(t *testing.T, node string) []string
	// ttl is the store's record time to live; now and sleep read and
	// pass the time its expiry runs on (a manual clock, or the real one).
	ttl   time.Duration
	now   func() time.Time
	sleep func(time.Duration)
	// short returns an empty store of the same kind whose TTL can be
	// waited out: the same on a manual clock, some 300ms on the real one.
	short func(t *testing.T) *harness
}

// storeSuite is what every Store must do. newStore returns an empty store
// (its own namespace) for each subtest.
func storeSuite(t *testing.T, newStore func(t *testing.T) *harness) {
	ctx := context.Background()
	save := func(t *testing.T, st Store, rec *Record) {
		t.Helper()
		if err := st.Save(ctx, rec); err != nil {
			t.Fatalf("Save(%s seq %d): %v", rec.SessionID, rec.Seq, err)
		}
	}
	load := func(t *testing.T, st Store, id string) *Record {
		t.Helper()
		rec, err := st.Load(ctx, id)
		if err != nil {
			t.Fatalf("Load(%s): %v", id, err)
		}
		return rec
	}
	list := func(t *testing.T, st Store, node string) string {
		t.Helper()
		ids, err := st.ListNode(ctx, node)
		if err != nil {
			t.Fatalf("ListNode(%s): %v", node, err)
		}
		return strings.Join(ids, ",")
	}
	wantErr := func(t *testing.T, err, want error, id string) {
		t.Helper()
		if !errors.Is(err, want) || !strings.Contains(err.Error(), id) {
			t.Fatalf("got %v, want %v naming %s", err, want, id)
		}
	}

	t.Run("round trip", func(t *testing.T) {
		h := newStore(t)
		data := []byte("snapshot\x00\xff")
		rec := &Record{SessionID: "s1", Node: "A", Type: "voice", Seq: 3, Data: data}
		save(t, h.store, rec)
		data[0] = 'X' // the store keeps no reference to the caller's bytes
		got := load(t, h.store, "s1")
		if got.SessionID != "s1" || got.Node != "A" || got.Type != "voice" || got.Seq != 3 || string(got.Data) != "snapshot\x00\xff" {
			t.Fatalf("Load = %+v", got)
		}
		got.Data[0] = 'Y' // nor hands out its own
		if again := load(t, h.store, "s1"); again.Data[0] != 's' {
			t.Fatalf("Load shares bytes with an earlier Load: %q", again.Data)
		}
		save(t, h.store, &Record{SessionID: "s1", Node: "A", Type: "voice", Seq: 4, Data: []byte("later")})
		if got := load(t, h.store, "s1"); got.Seq != 4 || string(got.Data) != "later" {
			t.Fatalf("after the second Save: %+v", got)
		}
		save(t, h.store, &Record{SessionID: "empty", Node: "A"})
		if got := load(t, h.store, "empty"); len(got.Data) != 0 || got.Seq != 0 {
			t.Fatalf("empty record: %+v", got)
		}
	})

	t.Run("not found", func(t *testing.T) {
		h := newStore(t)
		_, err := h.store.Load(ctx, "nobody")
		wantErr(t, err, ErrNotFound, "nobody")
		if s := list(t, h.store, "A"); s != "" {
			t.Fatalf("ListNode of an unknown node = %q", s)
		}
	})

	t.Run("stale", func(t *testing.T) {
		h := newStore(t)
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 5, Data: []byte("5")})
		err := h.store.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 4, Data: []byte("4")})
		wantErr(t, err, ErrStale, "s")
		if got := load(t, h.store, "s"); got.Seq != 5 {
			t.Fatalf("a stale Save overwrote: %+v", got)
		}
		// The same Seq again is a retry, not stale; Seq 0 is unchecked;
		// a checked Save after an unchecked one compares with 0.
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 5, Data: []byte("5 again")})
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 0, Data: []byte("0")})
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 1, Data: []byte("1")})
		if got := load(t, h.store, "s"); got.Seq != 1 {
			t.Fatalf("%+v", got)
		}
		// Seqs compare as 64-bit numbers.
		save(t, h.store, &Record{SessionID: "big", Node: "A", Seq: 1 << 63})
		wantErr(t, h.store.Save(ctx, &Record{SessionID: "big", Node: "A", Seq: 1<<63 - 1}), ErrStale, "big")
		save(t, h.store, &Record{SessionID: "big", Node: "A", Seq: 1<<63 + 1})
		// A deleted session starts over.
		if err := h.store.Delete(ctx, Writer{Node: "A"}, "s"); err != nil {
			t.Fatal(err)
		}
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 1})
	})

	t.Run("delete", func(t *testing.T) {
		h := newStore(t)
		for _, id := range []string{"a1", "a2", "a3"} {
			save(t, h.store, &Record{SessionID: id, Node: "A", Type: "voice", Seq: 1, Data: []byte(id)})
		}
		if err := h.store.Delete(ctx, Writer{Node: "A"}, "a2"); err != nil {
			t.Fatal(err)
		}
		_, err := h.store.Load(ctx, "a2")
		wantErr(t, err, ErrNotFound, "a2")
		if s := list(t, h.store, "A"); s != "a1,a3" {
			t.Fatalf("ListNode after Delete = %s", s)
		}
		if got := h.indexed(t, "A"); !slices.Equal(got, []string{"a1", "a3"}) {
			t.Fatalf("index after Delete = %v", got)
		}
		if err := h.store.Delete(ctx, Writer{Node: "A"}, "a2"); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		if err := h.store.Delete(ctx, Writer{Node: "B"}, "never"); err != nil {
			t.Fatalf("Delete of an unknown session: %v", err)
		}
	})

	t.Run("list nodes", func(t *testing.T) {
		h := newStore(t)
		want := map[string][]string{}
		for i := range 60 {
			for _, node := range []string{"A", "B"} {
				id := fmt.Sprintf("%s-%03d", strings.ToLower(node), i)
				save(t, h.store, &Record{SessionID: id, Node: node, Type: "voice", Seq: 1})
				want[node] = append(want[node], id)
			}
		}
		for node, ids := range want {
			if s := list(t, h.store, node); s != strings.Join(ids, ",") {
				t.Fatalf("ListNode(%s) = %s", node, s)
			}
		}
	})

	t.Run("metadata", func(t *testing.T) {
		h := newStore(t)
		created := time.Date(2026, 11, 25, 9, 30, 0, 123e6, time.UTC)
		rec := &Record{
			SessionID: "m", Node: "A", Type: "voice", Seq: 2, Data: []byte("x"),
			Doc: "voice_routing", DocHash: [32]byte{1, 2, 3, 31: 0xff},
			Created: created, Updated: created.Add(90 * time.Second),
		}
		save(t, h.store, rec)
		got := load(t, h.store, "m")
		if got.Doc != rec.Doc || got.DocHash != rec.DocHash || !got.Created.Equal(rec.Created) || !got.Updated.Equal(rec.Updated) {
			t.Fatalf("metadata: got %+v, want %+v", got, rec)
		}
		save(t, h.store, &Record{SessionID: "nometa", Node: "A"})
		if got := load(t, h.store, "nometa"); !got.Created.IsZero() || !got.Updated.IsZero() || got.DocHash != [32]byte{} {
			t.Fatalf("zero metadata came back as %+v", got)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		h := newStore(t)
		nodes := func() string {
			t.Helper()
			ns, err := h.store.Nodes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(ns, ",")
		}
		if s := nodes(); s != "" {
			t.Fatalf("empty store lists nodes %q", s)
		}
		save(t, h.store, &Record{SessionID: "b1", Node: "B", Seq: 1})
		save(t, h.store, &Record{SessionID: "a1", Node: "A", Seq: 1})
		save(t, h.store, &Record{SessionID: "a2", Node: "A", Seq: 1})
		if s := nodes(); s != "A,B" {
			t.Fatalf("Nodes = %q, want A,B", s)
		}
	})

	t.Run("take over", func(t *testing.T) {
		// What Engine.Resume does: the new owner saves the session as its
		// own, which moves its index entry in the same atomic step.
		h := newStore(t)
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 7})
		rec := load(t, h.store, "s")
		save(t, h.store, &Record{SessionID: "s", Node: "B", Seq: rec.Seq + 1})
		if got := load(t, h.store, "s"); got.Node != "B" {
			t.Fatalf("record owned by %q after the take-over", got.Node)
		}
		if a, b := list(t, h.store, "A"), list(t, h.store, "B"); a != "" || b != "s" {
			t.Fatalf("A lists %q, B lists %q", a, b)
		}
		if got := h.indexed(t, "A"); len(got) != 0 {
			t.Fatalf("A's index still holds %v", got)
		}
		// The former owner may no longer keep it alive.
		err := h.store.(Expirer).Touch(ctx, Writer{Node: "A"}, []string{"s"})
		if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "session s") {
			t.Fatalf("Touch by the former owner: %v, want ErrFenced", err)
		}
		// Deleting it ends it wherever it is listed.
		if err := h.store.Delete(ctx, Writer{Node: "B"}, "s"); err != nil {
			t.Fatal(err)
		}
		if b := list(t, h.store, "B"); b != "" {
			t.Fatalf("B lists %q after Delete", b)
		}
	})

	t.Run("move", func(t *testing.T) {
		// What recovery's eager Recover does: records move to the new
		// owner in one call, each on condition that nobody took it or
		// wrote it since it was read.
		h := newStore(t)
		mv, ok := h.store.(Mover)
		if !ok {
			t.Fatalf("%T does not implement Mover", h.store)
		}
		f := h.store.(Fencer)
		t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		for _, id := range []string{"m1", "m2", "m3", "m4", "m5"} {
			save(t, h.store, &Record{SessionID: id, Node: "A", Seq: 4, Data: []byte("data of " + id)})
		}
		save(t, h.store, &Record{SessionID: "m4", Node: "C", Seq: 4}) // C took m4 meanwhile (same Seq)
		save(t, h.store, &Record{SessionID: "m5", Node: "A", Seq: 6}) // A wrote m5 again
		epoch, err := f.Promote(ctx, "B")
		if err != nil {
			t.Fatal(err)
		}
		move := func(id string, seq uint64, due time.Time) Move {
			rec := load(t, h.store, id)
			rec.Node, rec.Epoch, rec.Seq, rec.Due = "B", epoch, seq+1, due
			return Move{Record: rec, From: "A", Seq: seq}
		}
		moves := []Move{move("m1", 4, t0.Add(3*time.Second)), move("m2", 4, time.Time{}), move("m4", 4, time.Time{}), move("m5", 4, time.Time{}),
			{Record: &Record{SessionID: "gone", Node: "B", Epoch: epoch, Seq: 1}, From: "A", Seq: 0}}
		moves[2].Record.Data = []byte("data of m4") // as B read it before C's save
		errs := mv.MoveMany(ctx, moves)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("moves of m1, m2: %v, %v", errs[0], errs[1])
		}
		wantErr(t, errs[2], ErrMoved, "m4")
		wantErr(t, errs[3], ErrMoved, "m5")
		wantErr(t, errs[4], ErrNotFound, "gone")
		for _, id := range []string{"m1", "m2"} {
			if got := load(t, h.store, id); got.Node != "B" || got.Seq != 5 || string(got.Data) != "data of "+id {
				t.Fatalf("%s after the move: %+v", id, got)
			}
		}
		if got := load(t, h.store, "m4"); got.Node != "C" || got.Seq != 4 {
			t.Fatalf("m4, taken by C, was moved: %+v", got)
		}
		if a, b, c := list(t, h.store, "A"), list(t, h.store, "B"), list(t, h.store, "C"); a != "m3,m5" || b != "m1,m2" || c != "m4" {
			t.Fatalf("A lists %q, B %q, C %q", a, b, c)
		}
		if ds, err := h.store.(Scheduler).DueBefore(ctx, "B", t0.Add(time.Hour)); err != nil || len(ds) != 1 || ds[0].SessionID != "m1" || !ds[0].Due.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("B's due sessions: %v, %v", ds, err)
		}
		// A second move of the same records finds them moved; a fenced
		// writer moves nothing.
		if errs := mv.MoveMany(ctx, []Move{move("m1", 4, time.Time{})}); !errors.Is(errs[0], ErrMoved) {
			t.Fatalf("moving m1 again: %v", errs[0])
		}
		if _, err := f.Promote(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		if errs := mv.MoveMany(ctx, []Move{move("m3", 4, time.Time{})}); !errors.Is(errs[0], ErrFenced) {
			t.Fatalf("move by a fenced writer: %v", errs[0])
		}
		if got := load(t, h.store, "m3"); got.Node != "A" || got.Seq != 4 {
			t.Fatalf("m3 after a fenced move: %+v", got)
		}
	})

	t.Run("fencing", func(t *testing.T) {
		h := newStore(t)
		f, ok := h.store.(Fencer)
		if !ok {
			t.Fatalf("%T does not implement Fencer", h.store)
		}
		save(t, h.store, &Record{SessionID: "s", Node: "A", Seq: 1, Data: []byte("1")})
		save(t, h.store, &Record{SessionID: "t", Node: "A", Seq: 1})
		if e, err := f.Epoch(ctx, "A"); err != nil || e != 0 {
			t.Fatalf("Epoch(A) before any promotion = %d, %v", e, err)
		}
		e, err := f.Promote(ctx, "A")
		if err != nil || e != 1 {
			t.Fatalf("Promote(A) = %d, %v; want 1", e, err)
		}
		// The zombie (epoch 0) is refused whatever its Seq: Save, Delete
		// and Touch change nothing.
		zombie := Writer{Node: "A"}
		wantErr(t, h.store.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 9, Data: []byte("zombie")}), ErrFenced, "s")
		wantErr(t, h.store.Save(ctx, &Record{SessionID: "new", Node: "A", Seq: 1}), ErrFenced, "new")
		wantErr(t, h.store.Delete(ctx, zombie, "t"), ErrFenced, "t")
		if err := h.store.(Expirer).Touch(ctx, zombie, []string{"s"}); !errors.Is(err, ErrFenced) {
			t.Fatalf("Touch by the fenced writer: %v", err)
		}
		if got := load(t, h.store, "s"); got.Seq != 1 || string(got.Data) != "1" {
			t.Fatalf("the fenced writer changed the record: %+v", got)
		}
		load(t, h.store, "t")
		if _, err := h.store.Load(ctx, "new"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the fenced writer created a record: %v", err)
		}
		// The new holder of A (epoch 1) writes; B adopts A (epoch 2) and
		// takes s over; A at epoch 1 is then fenced in turn.
		save(t, h.store, &Record{SessionID: "s", Node: "A", Epoch: 1, Seq: 2})
		if e, err := f.Promote(ctx, "A"); err != nil || e != 2 {
			t.Fatalf("second Promote(A) = %d, %v", e, err)
		}
		save(t, h.store, &Record{SessionID: "s", Node: "B", Seq: 3})
		wantErr(t, h.store.Save(ctx, &Record{SessionID: "s", Node: "A", Epoch: 1, Seq: 4}), ErrFenced, "s")
		wantErr(t, h.store.Delete(ctx, Writer{Node: "A", Epoch: 1}, "s"), ErrFenced, "s")
		if a, b := list(t, h.store, "A"), list(t, h.store, "B"); a != "t" || b != "s" {
			t.Fatalf("A lists %q, B lists %q", a, b)
		}
		// Epochs are per node, and every promotion gets its own.
		var wg sync.WaitGroup
		got := make([]uint64, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if got[i], err = f.Promote(ctx, "C"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		slices.Sort(got)
		if !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("concurrent promotions of C returned %v", got)
		}
		if e, err := f.Epoch(ctx, "A"); err != nil || e != 2 {
			t.Fatalf("Epoch(A) = %d, %v", e, err)
		}
	})

	t.Run("lease", func(t *testing.T) {
		h := newStore(t)
		l, ok := h.store.(Leaser)
		if !ok {
			t.Fatalf("%T does not implement Leaser", h.store)
		}
		const ttl = 200 * time.Millisecond
		lease := func(holder string) (bool, string) {
			t.Helper()
			held, by, err := l.Lease(ctx, "pair", holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return held, by
		}
		if held, _ := lease("A"); !held {
			t.Fatal("A could not take a free lease")
		}
		if held, by := lease("B"); held || by != "A" {
			t.Fatalf("B took A's live lease: %v %q", held, by)
		}
		if held, _ := lease("A"); !held {
			t.Fatal("A could not renew its lease")
		}
		if err := l.Release(ctx, "pair", "B"); err != nil {
			t.Fatal(err)
		}
		if held, by := lease("B"); held || by != "A" {
			t.Fatalf("B's release freed A's lease: %v %q", held, by)
		}
		h.sleep(ttl + ttl/2) // A does not renew: it lapses
		if held, _ := lease("B"); !held {
			t.Fatal("B could not take the lapsed lease")
		}
		if held, by := lease("A"); held || by != "B" {
			t.Fatalf("A took B's lease back: %v %q", held, by)
		}
		if err := l.Release(ctx, "pair", "B"); err != nil {
			t.Fatal(err)
		}
		if held, _ := lease("A"); !held {
			t.Fatal("A could not take the released lease")
		}
		if _, _, err := l.Lease(ctx, "pair", "", ttl); err == nil {
			t.Fatal("a lease without a holder accepted")
		}
	})

	t.Run("volatile", func(t *testing.T) {
		h := newStore(t)
		v, ok := h.store.(Volatile)
		if !ok {
			t.Fatalf("%T does not implement Volatile", h.store)
		}
		for _, r := range [][3]string{{"A", "c1", "chat"}, {"A", "v1", "voice"}, {"A", "e1", "email"}, {"B", "c2", "chat"}} {
			if err := v.Register(ctx, r[0], r[1], r[2]); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.Unregister(ctx, "A", "e1"); err != nil {
			t.Fatal(err)
		}
		list := func(node string, clear bool) string {
			t.Helper()
			vs, err := v.Volatile(ctx, node, clear)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range vs {
				out = append(out, s.SessionID+":"+s.Type)
			}
			return strings.Join(out, ",")
		}
		if s := list("A", false); s != "c1:chat,v1:voice" {
			t.Fatalf("Volatile(A) = %s", s)
		}
		if s := list("A", true); s != "c1:chat,v1:voice" {
			t.Fatalf("Volatile(A, clear) = %s", s)
		}
		if s := list("A", false); s != "" {
			t.Fatalf("Volatile(A) after clearing = %s", s)
		}
		if s := list("B", false); s != "c2:chat" {
			t.Fatalf("Volatile(B) = %s", s)
		}
	})

	t.Run("due", func(t *testing.T) {
		h := newStore(t)
		sc, ok := h.store.(Scheduler)
		if !ok {
			t.Fatalf("%T does not implement Scheduler", h.store)
		}
		t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		for _, id := range []string{"d5", "d1", "d3", "d2", "d4"} {
			n := int(id[1] - '0')
			save(t, h.store, &Record{SessionID: id, Node: "A", Seq: 1, Due: t0.Add(time.Duration(n) * time.Second)})
		}
		save(t, h.store, &Record{SessionID: "never", Node: "A", Seq: 1})
		save(t, h.store, &Record{SessionID: "b1", Node: "B", Seq: 1, Due: t0})
		due := func(node string, before time.Time) string {
			t.Helper()
			ds, err := sc.DueBefore(ctx, node, before)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range ds {
				out = append(out, fmt.Sprintf("%s@%d", d.SessionID, d.Due.Sub(t0)/time.Second))
			}
			return strings.Join(out, ",")
		}
		if s := due("A", t0.Add(4*time.Second)); s != "d1@1,d2@2,d3@3" {
			t.Fatalf("DueBefore(A, t0+4s) = %s", s)
		}
		// A later checkpoint moves the due time; one without a delayed
		// send takes the session out; a session moving to B takes its
		// due time along; a deleted one is gone.
		save(t, h.store, &Record{SessionID: "d3", Node: "A", Seq: 2, Due: t0.Add(10 * time.Second)})
		save(t, h.store, &Record{SessionID: "d2", Node: "A", Seq: 2})
		save(t, h.store, &Record{SessionID: "d4", Node: "B", Seq: 2, Due: t0.Add(500 * time.Millisecond)})
		if err := h.store.Delete(ctx, Writer{Node: "A"}, "d5"); err != nil {
			t.Fatal(err)
		}
		if s := due("A", t0.Add(time.Hour)); s != "d1@1,d3@10" {
			t.Fatalf("DueBefore(A, t0+1h) = %s", s)
		}
		if s := due("B", t0.Add(time.Hour)); s != "b1@0,d4@0" {
			t.Fatalf("DueBefore(B, t0+1h) = %s", s)
		}
		if s := list(t, h.store, "A"); s != "d1,d2,d3,never" {
			t.Fatalf("ListNode(A) = %s", s)
		}
		// An expired record may be listed until ListNode drops it.
		h.expire(t, "d1")
		if s := list(t, h.store, "A"); s != "d2,d3,never" {
			t.Fatalf("ListNode(A) = %s", s)
		}
		if s := due("A", t0.Add(time.Hour)); s != "d3@10" {
			t.Fatalf("DueBefore lists a record ListNode dropped: %s", s)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		h := newStore(t)
		for _, id := range []string{"e1", "e2", "e3"} {
			save(t, h.store, &Record{SessionID: id, Node: "A", Seq: 1})
		}
		h.expire(t, "e2")
		_, err := h.store.Load(ctx, "e2")
		wantErr(t, err, ErrNotFound, "e2")
		h.expire(t, "e3")
		if s := list(t, h.store, "A"); s != "e1" {
			t.Fatalf("ListNode lists expired sessions: %s", s)
		}
		if got := h.indexed(t, "A"); !slices.Equal(got, []string{"e1"}) {
			t.Fatalf("index keeps expired sessions: %v", got)
		}
		// An expired session can be saved anew, whatever its Seq.
		save(t, h.store, &Record{SessionID: "e2", Node: "A", Seq: 1})
		if s := list(t, h.store, "A"); s != "e1,e2" {
			t.Fatalf("ListNode = %s", s)
		}
	})

	t.Run("touch", func(t *testing.T) {
		h := newStore(t)
		ex, ok := h.store.(Expirer)
		if !ok {
			t.Fatalf("%T does not implement Expirer", h.store)
		}
		if ex.TTL() != h.ttl {
			t.Fatalf("TTL() = %v, want %v", ex.TTL(), h.ttl)
		}
		if err := ex.Touch(ctx, Writer{Node: "A"}, nil); err != nil {
			t.Fatalf("Touch of no session: %v", err)
		}
		// Records that no longer exist are reported, each by name; the
		// others are refreshed all the same.
		save(t, h.store, &Record{SessionID: "here", Node: "A", Seq: 1})
		save(t, h.store, &Record{SessionID: "expired", Node: "A", Seq: 1})
		h.expire(t, "expired")
		err := ex.Touch(ctx, Writer{Node: "A"}, []string{"never", "here", "expired"})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Touch of missing records: %v, want ErrNotFound", err)
		}
		failed := sessionErrors(err)
		if len(failed) != 2 || failed["never"] == nil || failed["expired"] == nil {
			t.Fatalf("Touch reported %v, want never and expired", err)
		}
		for id, err := range failed {
			wantErr(t, err, ErrNotFound, "session "+id)
		}
		if s := list(t, h.store, "A"); s != "here" {
			t.Fatalf("ListNode after touching missing records = %q, want here", s)
		}
		if got := load(t, h.store, "here"); got.Seq != 1 {
			t.Fatalf("touched record: %+v", got)
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := ex.Touch(done, Writer{Node: "A"}, []string{"here"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Touch with a canceled context: %v", err)
		}
		// Touch keeps records, their index and the registry past the
		// expiry of their last Save. On the real clock a slow machine can
		// outsleep the TTL: such a run proves nothing and is done again.
		for attempt := 1; ; attempt++ {
			conclusive, err := touchKeepsAlive(h.short(t))
			if err == nil {
				break
			}
			if conclusive || attempt == 5 {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
			t.Logf("attempt %d inconclusive (the TTL ran out meanwhile): %v", attempt, err)
		}
		if err := h.store.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ex.Touch(ctx, Writer{Node: "A"}, []string{"here"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Touch after Close: %v", err)
		}
	})

	t.Run("damaged records", func(t *testing.T) {
		h := newStore(t)
		good, err := encodeRecord(&Record{SessionID: "trunc", Node: "A", Seq: 1, Data: []byte("0123456789")})
		if err != nil {
			t.Fatal(err)
		}
		h.raw(t, "A", "garbage", []byte("garbage"))
		h.raw(t, "A", "trunc", good[:len(good)-4])
		future := append([]byte(nil), good...)
		future[4] = formatVersion + 1
		h.raw(t, "A", "future", future)
		for id, want := range map[string]error{"garbage": ErrCorrupt, "trunc": ErrCorrupt, "future": ErrVersion} {
			_, err := h.store.Load(ctx, id)
			wantErr(t, err, want, "session "+id)
		}
		// A damaged record still exists: the node's sessions include it,
		// and a Save replaces it.
		if s := list(t, h.store, "A"); s != "future,garbage,trunc" {
			t.Fatalf("ListNode = %s", s)
		}
		save(t, h.store, &Record{SessionID: "garbage", Node: "A", Seq: 9})
		if got := load(t, h.store, "garbage"); got.Seq != 9 {
			t.Fatalf("%+v", got)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		h := newStore(t)
		if err := h.store.Save(ctx, nil); err == nil {
			t.Fatal("Save(nil) accepted")
		}
		if err := h.store.Save(ctx, &Record{Node: "A"}); err == nil {
			t.Fatal("record without a SessionID accepted")
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.store.Save(done, &Record{SessionID: "c", Node: "A"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Save with a canceled context: %v", err)
		}
		if _, err := h.store.Load(done, "c"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Load with a canceled context: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		h := newStore(t)
		const workers, steps = 50, 20
		var wg sync.WaitGroup
		errs := make(chan error, workers*steps*2)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := []string{"A", "B"}[w%2]
				own := fmt.Sprintf("w%02d", w)
				for i := 1; i <= steps; i++ {
					if err := h.store.Save(ctx, &Record{SessionID: own, Node: node, Type: "voice", Seq: uint64(i), Data: []byte(fmt.Sprint(i))}); err != nil {
						errs <- err
					}
					// Everyone also writes one shared session: some of
					// those Saves are stale, none is lost or an error of
					// another kind.
					err := h.store.Save(ctx, &Record{SessionID: "shared", Node: "A", Seq: uint64(i)})
					if err != nil && !errors.Is(err, ErrStale) {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for w := range workers {
			got := load(t, h.store, fmt.Sprintf("w%02d", w))
			if got.Seq != steps || string(got.Data) != fmt.Sprint(steps) {
				t.Fatalf("w%02d: %+v", w, got)
			}
		}
		if got := load(t, h.store, "shared"); got.Seq != steps {
			t.Fatalf("shared: seq %d, want %d", got.Seq, steps)
		}
		a, b := list(t, h.store, "A"), list(t, h.store, "B")
		if n, m := strings.Count(a, ",")+1, strings.Count(b, ",")+1; n != workers/2+1 || m != workers/2 {
			t.Fatalf("A lists %d, B lists %d", n, m)
		}
	})

	t.Run("closed", func(t *testing.T) {
		h := newStore(t)
		save(t, h.store, &Record{SessionID: "s", Node: "A"})
		if err := h.store.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.store.Save(ctx, &Record{SessionID: "s", Node: "A"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Save after Close: %v", err)
		}
		if _, err := h.store.Load(ctx, "s"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Load after Close: %v", err)
		}
		if _, err := h.store.ListNode(ctx, "A"); !errors.Is(err, ErrClosed) {
			t.Fatalf("ListNode after Close: %v", err)
		}
		if err := h.store.Delete(ctx, Writer{Node: "A"}, "s"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Delete after Close: %v", err)
		}
		if err := h.store.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// touchKeepsAlive saves records under nodes A and C, touches all but
// one of them halfway through their TTL, and checks that once the untouched
// one expired the others, their index entries and the registry are there.
// A failure is conclusive if the checks ran within the TTL of the Touch.
func touchKeepsAlive(h *harness) (conclusive bool, err error) {
	ctx := context.Background()
	ex := h.store.(Expirer)
	ttl := ex.TTL()
	start := h.now()
	for _, rec := range []*Record{
		{SessionID: "kept", Node: "A", Seq: 1, Data: []byte("kept")},
		{SessionID: "lapsed", Node: "A", Seq: 1},
		{SessionID: "unlisted", Node: "A", Seq: 2},
		{SessionID: "alone", Node: "C", Seq: 3},
	} {
		if err := h.store.Save(ctx, rec); err != nil {
			return true, err
		}
	}
	h.sleep(ttl / 2)
	touched := h.now()
	if err := errors.Join(ex.Touch(ctx, Writer{Node: "A"}, []string{"kept", "unlisted"}), ex.Touch(ctx, Writer{Node: "C"}, []string{"alone"})); err != nil {
		return true, fmt.Errorf("Touch: %w", err)
	}
	h.sleep(ttl/2 + ttl/10)
	for {
		_, err := h.store.Load(ctx, "lapsed")
		if errors.Is(err, ErrNotFound) {
			break
		}
		if h.now().Sub(start) > 3*ttl {
			return true, fmt.Errorf("the untouched record outlived its TTL %v: %v", ttl, err)
		}
		h.sleep(ttl / 20)
	}
	err = func() error {
		for id, seq := range map[string]uint64{"kept": 1, "unlisted": 2, "alone": 3} {
			rec, err := h.store.Load(ctx, id)
			if err != nil {
				return fmt.Errorf("touched record, after its first TTL ran out: %w", err)
			}
			if rec.Seq != seq || id == "kept" && string(rec.Data) != "kept" {
				return fmt.Errorf("touched record changed: %+v", rec)
			}
		}
		for node, want := range map[string]string{"A": "kept,unlisted", "C": "alone"} {
			ids, err := h.store.ListNode(ctx, node)
			if err != nil {
				return err
			}
			if got := strings.Join(ids, ","); got != want {
				return fmt.Errorf("ListNode(%s) = %q, want %q", node, got, want)
			}
		}
		nodes, err := h.store.Nodes(ctx)
		if err != nil {
			return err
		}
		if !slices.Contains(nodes, "A") || !slices.Contains(nodes, "C") {
			return fmt.Errorf("Nodes = %v, want A and C", nodes)
		}
		return nil
	}()
	return h.now().Sub(touched) < ttl, err
}

// sessionErrors returns the *SessionErrors in err, a tree of joined
// errors, by session.
func sessionErrors(err error) map[string]error {
	m := map[string]error{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var se *SessionError
		if errors.As(err, &se) {
			m[se.SessionID] = err
		}
	}
	walk(err)
	return m
}

// memoryHarness is a MemoryStore on a manual clock.
func memoryHarness(t *testing.T) (*harness, *MemoryStore, *manualClock) {
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(MemoryOptions{TTL: time.Hour, Now: clock.Now})
	t.Cleanup(func() { m.Close() })
	return &harness{
		store: m,
		expire: func(t *testing.T, id string) {
			m.mu.Lock()
			defer m.mu.Unlock()
			e, ok := m.records[id]
			if !ok {
				t.Fatalf("expire %s: no record", id)
			}
			e.expires = m.since(clock.Now())
		},
		raw: func(t *testing.T, node, id string, value []byte) { m.SaveRaw(node, id, value) },
		indexed: func(t *testing.T, node string) []string {
			m.mu.Lock()
			defer m.mu.Unlock()
			var ids []string
			for id, e := range m.records { // the records a scan finds, expired or not
				if e.meta.node == node {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			return ids
		},
		ttl:   time.Hour,
		now:   clock.Now,
		sleep: clock.Advance,
		short: func(t *testing.T) *harness {
			h, _, _ := memoryHarness(t)
			return h
		},
	}, m, clock
}

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryStore(t *testing.T) {
	storeSuite(t, func(t *testing.T) *harness {
		h, _, _ := memoryHarness(t)
		return h
	})
}

// TestMemoryTTL: the TTL runs from the last Save, on the injected clock.
func TestMemoryTTL(t *testing.T) {
	ctx := context.Background()
	h, m, clock := memoryHarness(t)
	st := h.store
	if err := st.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, &Record{SessionID: "idle", Node: "A", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Minute)
	if err := st.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 2}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Minute) // idle: 100 min since its Save; s: 50
	if _, err := st.Load(ctx, "s"); err != nil {
		t.Fatalf("refreshed record: %v", err)
	}
	if _, err := st.Load(ctx, "idle"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle record: %v", err)
	}
	clock.Advance(10 * time.Minute) // exactly 1h since s's last Save
	if ids, _ := st.ListNode(ctx, "A"); len(ids) != 0 {
		t.Fatalf("ListNode = %v", ids)
	}
	if m.Len() != 0 {
		t.Fatalf("%d records left", m.Len())
	}
}

// TestMemorySweep: records nobody reads again are dropped by later Saves.
func TestMemorySweep(t *testing.T) {
	ctx := context.Background()
	_, m, clock := memoryHarness(t)
	for i := range 10 {
		if err := m.Save(ctx, &Record{SessionID: fmt.Sprint("old", i), Node: "A"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	for i := range sweepEvery {
		if err := m.Save(ctx, &Record{SessionID: "new", Node: "B", Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 1 || len(m.metas) != 1 {
		t.Fatalf("%d records, %d shared metadata after the sweep", m.Len(), len(m.metas))
	}
}

func TestMemoryDefaults(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	if m.ttl != DefaultTTL || m.now == nil {
		t.Fatalf("ttl %v", m.ttl)
	}
	if !bytes.Equal([]byte(magic), []byte("ORSR")) {
		t.Fatal("magic changed: the Redis script matches it")
	}
}
