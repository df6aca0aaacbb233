package persist

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisSealedSuite: a store that seals is still a Store.
func TestRedisSealedSuite(t *testing.T) {
	srv := redistest.Standalone(t)
	storeSuite(t, func(t *testing.T) *harness {
		// Clear records are accepted: the suite writes raw ones.
		h, _, _ := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{Sealer: mustSealer(t, SealerOptions{Key: testKey(9), AcceptPlaintext: true})})
		return h
	})
}

// TestRedisEncryption: records at rest in a real Redis, through key
// rotation, rekeying, migration into and out of encryption, and damage.
func TestRedisEncryption(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	cluster := fmt.Sprintf("enc%d", namespaces.Add(1))
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	open := func(o *SealerOptions) *RedisStore {
		t.Helper()
		var s *Sealer
		if o != nil {
			s = mustSealer(t, *o)
		}
		st, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}), RedisOptions{Cluster: cluster, TTL: time.Hour, Sealer: s, SweepInterval: NoSweep})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	keyOf := open(nil).SessionKey // the key layout does not depend on sealing
	ids := []string{"s1", "s2", "s3"}
	secret := []byte("caller +33 1 23 45 67 89")
	seq := uint64(0)
	save := func(st *RedisStore, id string) {
		t.Helper()
		seq++
		if err := st.Save(ctx, &Record{SessionID: id, Node: "n1", Seq: seq, Data: secret}); err != nil {
			t.Fatal(err)
		}
	}
	loadAll := func(st *RedisStore) error {
		t.Helper()
		var errs []error
		for _, id := range ids {
			rec, err := st.Load(ctx, id)
			if err != nil {
				errs = append(errs, err)
			} else if !bytes.Equal(rec.Data, secret) {
				t.Fatalf("Load(%s) data %q", id, rec.Data)
			}
		}
		return errors.Join(errs...)
	}
	stored := func(id string) []byte {
		b, err := raw.Get(ctx, keyOf(id)).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	state := func(id string) string {
		sealed, kid, ok := sealState(stored(id))
		switch {
		case !ok:
			return "unreadable"
		case !sealed:
			return Clear
		}
		return hex.EncodeToString(kid[:])
	}
	rekey := func(st *RedisStore, wantRewritten int) *RekeyReport {
		t.Helper()
		rep, err := st.Rekey(ctx, RekeyOptions{})
		if err != nil || len(rep.Errors) != 0 || rep.Rewritten != wantRewritten || rep.Records != len(ids) {
			t.Fatalf("Rekey = %+v, %v; want %d rewritten", rep, err, wantRewritten)
		}
		return rep
	}
	dry := func(st *RedisStore) *RekeyReport {
		rep, err := st.Rekey(ctx, RekeyOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	id1, id2 := hex.EncodeToString(keyIDOf(testKey(1))), hex.EncodeToString(keyIDOf(testKey(2)))

	// Before: in clear.
	plain := open(nil)
	for _, id := range ids {
		save(plain, id)
	}
	if !bytes.Contains(stored("s1"), secret) {
		t.Fatal("clear store does not store in clear")
	}

	// Encryption required, records in clear: an error naming the way in.
	strict1 := open(&SealerOptions{Key: testKey(1)})
	if err := loadAll(strict1); !errors.Is(err, ErrPlaintext) || !strings.Contains(err.Error(), "session s1") || !strings.Contains(err.Error(), "encryption-accept-plaintext") {
		t.Fatalf("clear records, encryption required: %v", err)
	}
	// The way in: accept clear records, checkpoints seal, rekey seals the rest.
	in := open(&SealerOptions{Key: testKey(1), AcceptPlaintext: true})
	if err := loadAll(in); err != nil {
		t.Fatal(err)
	}
	save(in, "s1")
	if state("s1") != id1 || bytes.Contains(stored("s1"), secret) || state("s2") != Clear {
		t.Fatalf("after a checkpoint: s1 %s, s2 %s", state("s1"), state("s2"))
	}
	ttlBefore := raw.PTTL(ctx, keyOf("s2")).Val()
	rekey(in, 2)
	if d := dry(in); d.Found(Clear) != 0 || d.Found(id1) != 3 {
		t.Fatalf("after rekey: %v", d.Before)
	}
	if ttl := raw.PTTL(ctx, keyOf("s2")).Val(); ttl <= 0 || ttl > ttlBefore {
		t.Errorf("rekey lost the TTL: %v (was %v)", ttl, ttlBefore)
	}
	if err := loadAll(strict1); err != nil {
		t.Fatalf("all sealed, encryption required: %v", err)
	}
	// Encrypted records, encryption off: an error naming the way out.
	if err := loadAll(plain); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "encryption-old-keys") {
		t.Fatalf("sealed records, no key: %v", err)
	}

	// Rotation: key 2 current, key 1 old. Checkpoints re-seal; rekey
	// does the rest; then no record remains under key 1.
	rot := open(&SealerOptions{Key: testKey(2), OldKeys: [][]byte{testKey(1)}})
	if err := loadAll(rot); err != nil {
		t.Fatal(err)
	}
	save(rot, "s2")
	if state("s2") != id2 || state("s1") != id1 {
		t.Fatalf("after a checkpoint under key 2: s1 %s s2 %s", state("s1"), state("s2"))
	}
	rekey(rot, 2)
	if d := dry(rot); d.Found(id1) != 0 || d.Found(id2) != 3 {
		t.Fatalf("key 1 not retired: %v", d.Before)
	}
	if err := loadAll(open(&SealerOptions{Key: testKey(2)})); err != nil {
		t.Fatalf("key 1 retired: %v", err)
	}
	// A key no longer configured.
	if err := loadAll(open(&SealerOptions{Key: testKey(3)})); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "key id "+id2) {
		t.Fatalf("unknown key: %v", err)
	}

	// Tampering: s1's record copied to s2's key; a bit of s3 flipped
	// with its checksum fixed. Those two are reported; s1 loads.
	s2key, s3key := keyOf("s2"), keyOf("s3")
	raw.Set(ctx, s2key, stored("s1"), time.Hour)
	b3 := stored("s3")
	b3[len(b3)-5] ^= 0x10
	raw.Set(ctx, s3key, recrc(b3), time.Hour)
	cur := open(&SealerOptions{Key: testKey(2)})
	if _, err := cur.Load(ctx, "s1"); err != nil {
		t.Fatalf("untouched record: %v", err)
	}
	for _, id := range []string{"s2", "s3"} {
		if _, err := cur.Load(ctx, id); !errors.Is(err, ErrTampered) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "session "+id) {
			t.Errorf("tampered %s: %v", id, err)
		}
	}
	rep, err := cur.Rekey(ctx, RekeyOptions{})
	if err != nil || len(rep.Errors) != 0 { // nothing to rewrite: all under the current key
		t.Fatalf("rekey over tampered records: %+v %v", rep, err)
	}
	out := open(&SealerOptions{OldKeys: [][]byte{testKey(2)}})
	rep, err = out.Rekey(ctx, RekeyOptions{})
	if err != nil || len(rep.Errors) != 2 || rep.Rewritten != 1 || !errors.Is(rep.Errors[s3key], ErrTampered) {
		t.Fatalf("rekey with tampered records: %+v, %v", rep, err)
	}
	if state("s2") != id2 || state("s1") != Clear {
		t.Fatalf("tampered record rewritten, or good one not: s1 %s s2 %s", state("s1"), state("s2"))
	}

	// The way out of encryption: old keys only; checkpoints and rekey
	// write in clear; then a store without encryption reads them.
	for _, id := range []string{"s2", "s3"} {
		save(out, id)
	}
	if d := dry(out); d.Found(Clear) != 3 {
		t.Fatalf("way out: %v", d.Before)
	}
	if err := loadAll(plain); err != nil {
		t.Fatal(err)
	}
}

func keyIDOf(key []byte) []byte { id := KeyID(key); return id[:] }
