package persist

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnvelope(t *testing.T) {
	rec := &Record{SessionID: "s1", Node: "n1", Type: "voice", Seq: 7, Data: []byte("snapshot")}
	b, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord("s1", b)
	if err != nil || got.Seq != 7 || string(got.Data) != "snapshot" || got.Node != "n1" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	flip := append([]byte(nil), b...)
	flip[len(flip)-1] ^= 0xFF
	future := append([]byte(nil), b...)
	future[4] = 99
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"truncated":       {b[:len(b)-3], ErrCorrupt},
		"header only":     {b[:5], ErrCorrupt},
		"empty":           {nil, ErrCorrupt},
		"bit flip":        {flip, ErrCorrupt},
		"unknown version": {future, ErrVersion},
		"not a record":    {[]byte("hello world, this is not a record"), ErrCorrupt},
	} {
		_, err := decodeRecord("s1", tc.b)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "session s1") {
			t.Errorf("%s: got %v, want %v naming the session", name, err, tc.want)
		}
	}
	if _, err := decodeRecord("other", b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("record of another session accepted: %v", err)
	}
}

// storeSuite is what every Store must do.
func storeSuite(t *testing.T, st Store, advance func(time.Duration)) {
	ctx := context.Background()
	for i, id := range []string{"a1", "a2", "a3"} {
		if err := st.Save(ctx, &Record{SessionID: id, Node: "A", Type: "voice", Seq: uint64(i), Data: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, &Record{SessionID: "b1", Node: "B", Data: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	ids, err := st.ListNode(ctx, "A")
	if err != nil || strings.Join(ids, ",") != "a1,a2,a3" {
		t.Fatalf("ListNode(A) = %v, %v", ids, err)
	}
	rec, err := st.Load(ctx, "a2")
	if err != nil || string(rec.Data) != "a2" || rec.Seq != 1 {
		t.Fatalf("Load(a2) = %+v, %v", rec, err)
	}
	if err := st.Delete(ctx, "A", "a2"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, "a2"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "a2") {
		t.Fatalf("deleted record: %v", err)
	}
	if ids, _ := st.ListNode(ctx, "A"); strings.Join(ids, ",") != "a1,a3" {
		t.Fatalf("index after delete: %v", ids)
	}
	if advance != nil {
		advance(2 * time.Hour) // TTL is 1h in the suite
		if _, err := st.Load(ctx, "a1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired record: %v", err)
		}
		if ids, _ := st.ListNode(ctx, "A"); len(ids) != 0 {
			t.Fatalf("index lists expired sessions: %v", ids)
		}
	}
}

func TestMemoryStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := NewMemory(MemoryOptions{TTL: time.Hour, Now: func() time.Time { return now }})
	storeSuite(t, st, func(d time.Duration) { now = now.Add(d) })
	st.SaveRaw("A", "bad", []byte("garbage"))
	if _, err := st.Load(context.Background(), "bad"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record: %v", err)
	}
}
