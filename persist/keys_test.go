package persist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisHashedKeys: with KeyHash no session id is readable in the key
// space or the indexes (and, sealed, not in the records), and every
// operation recovery, hibernation and TTL refresh rely on still works.
func TestRedisHashedKeys(t *testing.T) {
	srv := redistest.Standalone(t)
	testHashedKeys(t, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr}) })
}

func testHashedKeys(t *testing.T, newClient func() redis.UniversalClient) {
	ctx := context.Background()
	cluster := fmt.Sprintf("hash%d", namespaces.Add(1))
	raw := newClient()
	defer raw.Close()
	open := func(hashKey []byte, s *Sealer) *RedisStore {
		cluster := cluster
		if s == nil {
			cluster += "plain" // a namespace of its own
		}
		st, err := NewRedis(newClient(), RedisOptions{Cluster: cluster, TTL: time.Hour, KeyHash: hashKey, Sealer: s, SweepInterval: NoSweep})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	sealer := mustSealer(t, SealerOptions{Key: testKey(1)})
	st := open(testKey(7), sealer)
	ids := []string{"n1~0612345678-call-a", "n1~0612345678-call-b", "n1~0698765432-call-c"}
	for i, id := range ids {
		if err := st.Save(ctx, &Record{SessionID: id, Node: "n1", Seq: uint64(i + 1), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Save(ctx, &Record{SessionID: "n2~0611111111", Node: "n2", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	// Nothing in Redis shows an id (or the caller numbers in them).
	var keys []string
	scan := func(c redis.UniversalClient) {
		iter := c.Scan(ctx, 0, "ORS:"+cluster+":*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
	}
	if cc, ok := raw.(*redis.ClusterClient); ok {
		cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { scan(c); return nil })
	} else {
		scan(raw)
	}
	records := 0
	for _, k := range keys {
		var content string
		switch raw.Type(ctx, k).Val() {
		case "zset": // a shard's index of a node
			content = strings.Join(raw.ZRange(ctx, k, 0, -1).Val(), " ")
		case "set": // a shard's registry of nodes
			content = strings.Join(raw.SMembers(ctx, k).Val(), " ")
		case "hash": // a shard's epochs
			content = fmt.Sprint(raw.HGetAll(ctx, k).Val())
		case "string":
			content = raw.Get(ctx, k).Val()
		}
		if strings.Contains(k, ":session:") {
			records++
		}
		for _, secret := range []string{"0612345678", "0698765432", "0611111111", "call-"} {
			if strings.Contains(k, secret) || strings.Contains(content, secret) {
				t.Errorf("%s shows %q (%q)", k, secret, content)
			}
		}
	}
	if records != 4 {
		t.Fatalf("%d records in %v", records, keys)
	}
	if k := st.SessionKey(ids[0]); !strings.HasPrefix(k, "ORS:"+cluster+":session:{") || !strings.HasSuffix(k, "}:"+st.member(ids[0])) || len(st.member(ids[0])) != hashedIDLen {
		t.Errorf("SessionKey = %s", k)
	}

	// Recovery by node: ListNode gives the ids back; Load reads them.
	got, err := st.ListNode(ctx, "n1")
	if err != nil || strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("ListNode = %v, %v", got, err)
	}
	for _, id := range ids {
		if rec, err := st.Load(ctx, id); err != nil || rec.SessionID != id {
			t.Fatalf("Load(%s) = %+v, %v", id, rec, err)
		}
	}
	// TTL refresh (hibernated sessions): Touch reaches the hashed keys.
	raw.PExpire(ctx, st.SessionKey(ids[0]), time.Minute)
	if err := st.Touch(ctx, Writer{Node: "n1"}, ids[:1]); err != nil {
		t.Fatal(err)
	}
	if ttl := raw.PTTL(ctx, st.SessionKey(ids[0])).Val(); ttl < 30*time.Minute {
		t.Errorf("TTL after Touch: %v", ttl)
	}
	if err := st.Touch(ctx, Writer{Node: "n1"}, []string{"n1~never-saved"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Touch of a missing record: %v", err)
	}
	// A save by another node and Delete address the hashed index entries.
	if err := st.Save(ctx, &Record{SessionID: ids[2], Node: "n2", Seq: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ListNode(ctx, "n1"); len(got) != 2 {
		t.Fatalf("after n2 took %s: %v", ids[2], got)
	}
	if got, _ := st.ListNode(ctx, "n2"); len(got) != 2 {
		t.Fatalf("n2 after it took %s: %v", ids[2], got)
	}
	if err := st.Delete(ctx, Writer{Node: "n1"}, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if got, _ := st.ListNode(ctx, "n1"); strings.Join(got, ",") != ids[0] {
		t.Fatalf("after Delete: %v", got)
	}

	// A record copied onto another session's key: that session is listed
	// as unreadable, and loading it reports the damage; the others load.
	if err := st.Save(ctx, &Record{SessionID: ids[1], Node: "n1", Seq: 10}); err != nil {
		t.Fatal(err)
	}
	raw.Set(ctx, st.SessionKey(ids[1]), raw.Get(ctx, st.SessionKey(ids[0])).Val(), time.Hour)
	got, err = st.ListNode(ctx, "n1")
	if err != nil || len(got) != 2 || got[0] != ids[0] || got[1] != UnreadablePrefix+st.member(ids[1]) {
		t.Fatalf("ListNode with a tampered record = %v, %v", got, err)
	}
	if _, err := st.Load(ctx, got[1]); !errors.Is(err, ErrTampered) {
		t.Fatalf("Load(%s) = %v, want ErrTampered", got[1], err)
	}
	// Without a Sealer the copy is caught by its session id.
	plain := open(testKey(8), nil)
	for _, id := range []string{"p1", "p2"} {
		if err := plain.Save(ctx, &Record{SessionID: id, Node: "n3", Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	raw.Set(ctx, plain.SessionKey("p2"), raw.Get(ctx, plain.SessionKey("p1")).Val(), time.Hour)
	if got, _ := plain.ListNode(ctx, "n3"); len(got) != 2 || got[0] != "p1" || !strings.HasPrefix(got[1], UnreadablePrefix) {
		t.Fatalf("ListNode with a copied clear record = %v", got)
	}
	if _, err := plain.Load(ctx, "p2"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of a copied clear record: %v", err)
	}

	// Rekey works on hashed keys: rotate the encryption key.
	rot := open(testKey(7), mustSealer(t, SealerOptions{Key: testKey(2), OldKeys: [][]byte{testKey(1)}}))
	rep, err := rot.Rekey(ctx, RekeyOptions{})
	if err != nil || rep.Rewritten != 3 || len(rep.Errors) != 1 { // ids[0], ids[2] (unlisted, kept), n2's; ids[1] is the tampered copy
		t.Fatalf("Rekey = %+v, %v", rep, err)
	}
	if rec, err := rot.Load(ctx, ids[0]); err != nil || rec.SessionID != ids[0] {
		t.Fatalf("after rekey: %v", err)
	}
	if _, err := NewRedis(newClient(), RedisOptions{Cluster: "x", KeyHash: []byte("short")}); err == nil || !strings.Contains(err.Error(), "KeyHash") {
		t.Errorf("short KeyHash: %v", err)
	}
}
