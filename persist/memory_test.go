package persist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestMemoryBufferReuse: the session's buffer is rewritten in place by
// the next Save (no allocation), and never shows through a Record that
// Load returned before.
func TestMemoryBufferReuse(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	first := bytes.Repeat([]byte("a"), 600)
	if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 1, Data: first}); err != nil {
		t.Fatal(err)
	}
	got, err := m.Load(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	buf := m.records["s"].data
	second := bytes.Repeat([]byte("b"), 590)
	if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 2, Data: second}); err != nil {
		t.Fatal(err)
	}
	if now := m.records["s"].data; &now[0] != &buf[0] {
		t.Fatal("a Save of about the same size did not reuse the session's buffer")
	}
	if !bytes.Equal(got.Data, first) || got.Seq != 1 {
		t.Fatalf("the Record of the first Load changed after the second Save: seq %d, data %.20q...", got.Seq, got.Data)
	}
	if again, err := m.Load(ctx, "s"); err != nil || !bytes.Equal(again.Data, second) {
		t.Fatalf("second Load: %v, %.20q...", err, again.Data)
	}
	// A much smaller record does not keep the large buffer alive; a
	// larger one gets a buffer of its own.
	if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 3, Data: []byte("small")}); err != nil {
		t.Fatal(err)
	}
	if c := cap(m.records["s"].data); c > 64 {
		t.Fatalf("a 5-byte record kept a buffer of %d bytes", c)
	}
	if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 4, Data: first}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Load(ctx, "s"); !bytes.Equal(got.Data, first) {
		t.Fatalf("after growing: %.20q...", got.Data)
	}
}

// TestMemorySaveAllocs: in the steady state a Save allocates nothing:
// no envelope, no copy of its metadata.
func TestMemorySaveAllocs(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	rec := &Record{SessionID: "s", Node: "A", Type: "voice", Doc: "voice_routing", DocHash: [32]byte{1, 2, 3},
		Data: bytes.Repeat([]byte("x"), 700), Created: time.Unix(1e9, 0), Due: time.Unix(2e9, 5)}
	allocs := testing.AllocsPerRun(100, func() {
		rec.Seq++
		rec.Updated = rec.Created.Add(time.Duration(rec.Seq) * time.Millisecond)
		if err := m.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Save of a session saved before: %v allocations, want 0", allocs)
	}
}

// TestMemoryAlternatingSizes: a session whose checkpoints alternate
// between two sizes keeps one buffer (no allocation per Save); once it is
// idle its buffer is cut to the size of its last record.
func TestMemoryAlternatingSizes(t *testing.T) {
	ctx := context.Background()
	_, m, clock := memoryHarness(t)
	big, small := bytes.Repeat([]byte("r"), 631), bytes.Repeat([]byte("t"), 446)
	rec := &Record{SessionID: "s", Node: "A", Type: "voice", Data: big}
	allocs := testing.AllocsPerRun(100, func() {
		rec.Seq++
		if rec.Seq%2 == 0 {
			rec.Data = small
		} else {
			rec.Data = big
		}
		if err := m.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Saves alternating between %d and %d bytes: %v allocations each, want 0", len(big), len(small), allocs)
	}
	rec.Seq++
	rec.Data = small
	if err := m.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	e := m.records["s"]
	if tight(len(e.data), cap(e.data)) {
		t.Fatalf("buffer of %d bytes for %d: the test needs an oversized one", cap(e.data), len(e.data))
	}
	// Saves of other sessions within compactAfter leave it; after, the
	// next Save (of any session) cuts it to size.
	clock.Advance(compactAfter / 2)
	if err := m.Save(ctx, &Record{SessionID: "other", Node: "A"}); err != nil {
		t.Fatal(err)
	}
	if tight(len(e.data), cap(e.data)) {
		t.Fatal("buffer cut while the session was active")
	}
	clock.Advance(compactAfter)
	if err := m.Save(ctx, &Record{SessionID: "other", Node: "A"}); err != nil {
		t.Fatal(err)
	}
	if !tight(len(e.data), cap(e.data)) || e.queued {
		t.Fatalf("idle session keeps a buffer of %d bytes for %d", cap(e.data), len(e.data))
	}
	if got, err := m.Load(ctx, "s"); err != nil || !bytes.Equal(got.Data, small) {
		t.Fatalf("after the buffer was cut: %v, %.20q...", err, got.Data)
	}
	if len(m.oversized)-m.oversizedHead != 0 {
		t.Fatalf("%d entries still queued", len(m.oversized)-m.oversizedHead)
	}
}

// TestMemorySharedMeta: records with the same Node, Type, Doc and
// DocHash share one copy of them, dropped with the last such record.
func TestMemorySharedMeta(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	node := []byte("node-1")
	for i := range 100 {
		// A fresh string each time: the store must not keep one per record.
		rec := &Record{SessionID: fmt.Sprint("s", i), Node: string(node), Type: "voice", Doc: "d", DocHash: [32]byte{9}, Seq: 1}
		if err := m.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Save(ctx, &Record{SessionID: "other", Node: "node-2", Type: "voice", Doc: "d", DocHash: [32]byte{9}}); err != nil {
		t.Fatal(err)
	}
	if len(m.metas) != 2 || m.records["s0"].meta != m.records["s99"].meta || m.records["s0"].meta.refs != 100 {
		t.Fatalf("%d shared metadata, s0 and s99 share: %v", len(m.metas), m.records["s0"].meta == m.records["s99"].meta)
	}
	// The last session of node-2 moving to node-1 drops node-2's.
	if err := m.Save(ctx, &Record{SessionID: "other", Node: "node-1", Type: "voice", Doc: "d", DocHash: [32]byte{9}}); err != nil {
		t.Fatal(err)
	}
	if len(m.metas) != 1 {
		t.Fatalf("%d shared metadata after the move, want 1", len(m.metas))
	}
	for i := range 100 {
		if err := m.Delete(ctx, Writer{Node: "node-1"}, fmt.Sprint("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Delete(ctx, Writer{Node: "node-1"}, "other"); err != nil {
		t.Fatal(err)
	}
	if len(m.metas) != 0 {
		t.Fatalf("%d shared metadata left with no record", len(m.metas))
	}
	if nodes, err := m.Nodes(ctx); err != nil || len(nodes) != 0 {
		t.Fatalf("Nodes = %v, %v", nodes, err)
	}
}

// TestMemoryParity: what Load returns from memory is what the envelope
// (RedisStore's format) returns for the same record: times at millisecond
// precision in UTC, empty Data as nil, Epoch and Due zero.
func TestMemoryParity(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	loc := time.FixedZone("X", 3600)
	for _, rec := range []*Record{
		{SessionID: "full", Node: "A", Type: "voice", Epoch: 0, Seq: 7, Doc: "doc", DocHash: [32]byte{1, 31: 2},
			Created: time.Date(2026, 3, 4, 5, 6, 7, 891234567, loc), Updated: time.Now(), Due: time.Now(), Data: []byte{0, 1, 2}},
		{SessionID: "empty", Node: "A", Data: []byte{}},
		{SessionID: "nil", Node: "B"},
		{SessionID: "before1970", Node: "B", Created: time.Date(1960, 1, 1, 0, 0, 0, 500, time.UTC), Data: make([]byte, 70000)},
	} {
		if err := m.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
		b, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := decodeRecord(rec.SessionID, b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Load(ctx, rec.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want); g != w {
			t.Errorf("%s: memory Load\n%s\nenvelope\n%s", rec.SessionID, g, w)
		}
	}
}

// TestMemoryDueExact: DueBefore returns Record.Due as saved, to the
// nanosecond, whatever the era.
func TestMemoryDueExact(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	dues := map[string]time.Time{
		"ns":    time.Date(2026, 1, 1, 0, 0, 1, 123456789, time.UTC),
		"year1": time.Time{}.Add(time.Hour + 1),
		"epoch": time.Unix(0, 0),
	}
	for id, due := range dues {
		if err := m.Save(ctx, &Record{SessionID: id, Node: "A", Due: due}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := m.DueBefore(ctx, "A", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(ds) != len(dues) {
		t.Fatalf("DueBefore = %v, %v", ds, err)
	}
	for _, d := range ds {
		if !d.Due.Equal(dues[d.SessionID]) {
			t.Errorf("%s: due %v, saved %v", d.SessionID, d.Due, dues[d.SessionID])
		}
	}
}

// TestMemoryRawEntry: a record SaveRaw stored is read as an envelope:
// Load of a valid one returns it, and its Seq is what Save's stale check
// and MoveMany compare with.
func TestMemoryRawEntry(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	b, err := encodeRecord(&Record{SessionID: "r", Node: "A", Type: "voice", Seq: 5, Data: []byte("raw")})
	if err != nil {
		t.Fatal(err)
	}
	m.SaveRaw("A", "r", b)
	got, err := m.Load(ctx, "r")
	if err != nil || got.Seq != 5 || string(got.Data) != "raw" || got.Type != "voice" {
		t.Fatalf("Load of a raw envelope: %+v, %v", got, err)
	}
	if err := m.Save(ctx, &Record{SessionID: "r", Node: "A", Seq: 4}); !errors.Is(err, ErrStale) {
		t.Fatalf("Save of seq 4 over a raw record of seq 5: %v", err)
	}
	if errs := m.MoveMany(ctx, []Move{{Record: &Record{SessionID: "r", Node: "B", Seq: 6}, From: "A", Seq: 5}}); errs[0] != nil {
		t.Fatalf("move of a raw record: %v", errs[0])
	}
	if got, err := m.Load(ctx, "r"); err != nil || got.Node != "B" || got.Seq != 6 {
		t.Fatalf("after the move: %+v, %v", got, err)
	}
	recs, errs := m.LoadMany(ctx, []string{"r", "none"})
	if errs[0] != nil || recs[0].Seq != 6 || !errors.Is(errs[1], ErrNotFound) {
		t.Fatalf("LoadMany = %v, %v", recs, errs)
	}
}

// TestMemoryConcurrentReuse: Loads racing Saves that rewrite the same
// buffer in place always see one whole record (run with -race).
func TestMemoryConcurrentReuse(t *testing.T) {
	ctx := context.Background()
	_, m, _ := memoryHarness(t)
	const steps = 2000
	fill := func(seq uint64) []byte { return bytes.Repeat([]byte{byte(seq)}, 512) }
	if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: 1, Data: fill(1)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		data := make([]byte, 512)
		for seq := uint64(2); seq <= steps; seq++ {
			copy(data, fill(seq)) // the caller's buffer is reused too
			if err := m.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: seq, Data: data}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 2 {
		go func() {
			defer wg.Done()
			var last []*Record
			for range steps {
				rec, err := m.Load(ctx, "s")
				if err != nil {
					t.Error(err)
					return
				}
				last = append(last, rec)
			}
			for _, rec := range last {
				if !bytes.Equal(rec.Data, fill(rec.Seq)) {
					t.Errorf("Load returned seq %d with data of another checkpoint (or changed since)", rec.Seq)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkMemorySave: a checkpoint of a session saved before, with a
// snapshot of the size of a routing session's.
func BenchmarkMemorySave(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	rec := &Record{SessionID: "s", Node: "A", Type: "voice", Doc: "voice_routing", DocHash: [32]byte{1},
		Data: bytes.Repeat([]byte("x"), 630), Created: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		rec.Seq++
		rec.Updated = time.Now()
		if err := m.Save(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryListNode: ListNode and DueBefore scan every record
// (there is no per-node index): their cost with 100,000 sessions, half of
// them the node's.
func BenchmarkMemoryListNode(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	for i := range 100_000 {
		node := []string{"A", "B"}[i%2]
		if err := m.Save(ctx, &Record{SessionID: fmt.Sprintf("s%06d", i), Node: node, Seq: 1, Due: time.Now().Add(time.Duration(i) * time.Millisecond)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ListNode", func(b *testing.B) {
		for b.Loop() {
			if ids, err := m.ListNode(ctx, "A"); err != nil || len(ids) != 50_000 {
				b.Fatal(len(ids), err)
			}
		}
	})
	b.Run("DueBefore", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.DueBefore(ctx, "A", time.Now().Add(time.Second)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
