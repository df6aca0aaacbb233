package persist

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// IndexMembers and RecordTTLs read without writing: a stale index entry
// is reported, not dropped (ListNode drops it); due times come from the
// index.
func TestRedisInspectViews(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	h, st, raw := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{TTL: time.Hour})
	due := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	if err := st.Save(ctx, &Record{SessionID: "b", Node: "n1", Seq: 1, Due: due}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, &Record{SessionID: "a", Node: "n1", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := raw.Persist(ctx, st.SessionKey("b")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.ZAdd(ctx, st.IndexKey("n1", "gone"), redis.Z{Score: 0, Member: "gone"}).Err(); err != nil {
		t.Fatal(err)
	}
	live, gone, err := st.IndexMembers(ctx, "n1")
	want := []DueSession{{SessionID: "a"}, {SessionID: "b", Due: due}}
	if err != nil || !slices.Equal(live, want) || !slices.Equal(gone, []string{"gone"}) {
		t.Fatalf("IndexMembers: %v %v %v", live, gone, err)
	}
	if got := h.indexed(t, "n1"); !slices.Equal(got, []string{"a", "b", "gone"}) {
		t.Errorf("IndexMembers changed the index: %v", got)
	}
	ttls, err := st.RecordTTLs(ctx, []string{"a", "b"})
	if err != nil || ttls[0] <= 59*time.Minute || ttls[0] > time.Hour || ttls[1] != -1 {
		t.Errorf("RecordTTLs: %v %v", ttls, err)
	}
	if _, err := st.RecordTTLs(ctx, []string{"a", "gone"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("RecordTTLs of a missing record: %v", err)
	}
	st.Close()
	if _, _, err := st.IndexMembers(ctx, "n1"); !errors.Is(err, ErrClosed) {
		t.Errorf("IndexMembers after Close: %v", err)
	}
	if _, err := st.RecordTTLs(ctx, []string{"a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("RecordTTLs after Close: %v", err)
	}
}

// With hashed key names, IndexMembers gives the ids back from the
// records, and a damaged record as UnreadablePrefix+member, which Load
// reads again.
func TestRedisInspectViewsHashed(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	_, st, raw := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{TTL: time.Hour, KeyHash: testKey(7)})
	for _, id := range []string{"n1-a", "n1-b"} {
		if err := st.Save(ctx, &Record{SessionID: id, Node: "n1", Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Set(ctx, st.SessionKey("n1-b"), "garbage", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	live, gone, err := st.IndexMembers(ctx, "n1")
	if err != nil || len(live) != 2 || len(gone) != 0 {
		t.Fatalf("IndexMembers: %v %v %v", live, gone, err)
	}
	ids := []string{live[0].SessionID, live[1].SessionID}
	if !slices.Contains(ids, "n1-a") || slices.Contains(ids, "n1-b") {
		t.Errorf("ids %v: want n1-a, and n1-b's record as unreadable", ids)
	}
	for _, id := range ids {
		if id == "n1-a" {
			continue
		}
		if _, err := st.Load(ctx, id); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Load(%s): %v, want ErrCorrupt", id, err)
		}
	}
	if ttls, err := st.RecordTTLs(ctx, ids); err != nil || ttls[0] <= 0 || ttls[1] <= 0 {
		t.Errorf("RecordTTLs(%v): %v %v", ids, ttls, err)
	}
}
