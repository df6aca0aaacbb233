package persist

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var namespaces atomic.Int64

// redisHarness returns a RedisStore in a namespace of its own
// (ORS:<unique cluster name>) on a client made by newClient, and a second
// client for the back doors.
func redisHarness(t *testing.T, newClient func() redis.UniversalClient, opts RedisOptions) (*harness, *RedisStore, redis.UniversalClient) {
	t.Helper()
	if opts.Cluster == "" {
		opts.Cluster = fmt.Sprintf("t%d", namespaces.Add(1))
	}
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	st, err := NewRedis(newClient(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw := newClient()
	t.Cleanup(func() { raw.Close() })
	ctx := context.Background()
	return &harness{
		store: st,
		expire: func(t *testing.T, id string) {
			key := st.SessionKey(id)
			if ok, err := raw.PExpire(ctx, key, time.Millisecond).Result(); err != nil || !ok {
				t.Fatalf("PEXPIRE %s: %v %v", key, ok, err)
			}
			// Redis expires the key on the next access after 1ms.
			waitFor(t, "expiry of "+key, func() bool { return raw.Exists(ctx, key).Val() == 0 })
		},
		raw: func(t *testing.T, node, id string, value []byte) {
			if err := raw.Set(ctx, st.SessionKey(id), value, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			sh := st.shardOf(id)
			if err := raw.ZAdd(ctx, sh.index(node), redis.Z{Score: math.Inf(1), Member: id}).Err(); err != nil {
				t.Fatal(err)
			}
			if err := raw.SAdd(ctx, sh.nodes(), node).Err(); err != nil {
				t.Fatal(err)
			}
		},
		indexed: func(t *testing.T, node string) []string {
			// Every shard's raw members, without ListNode's checks.
			shards := st.shards()
			cmds := make([]*redis.StringSliceCmd, len(shards))
			pipe := raw.Pipeline()
			for i, sh := range shards {
				cmds[i] = pipe.ZRange(ctx, sh.index(node), 0, -1)
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cmds {
				ids = append(ids, c.Val()...)
			}
			slices.Sort(ids)
			return ids
		},
		ttl:   opts.TTL,
		now:   time.Now,
		sleep: time.Sleep,
		short: func(t *testing.T) *harness {
			o := opts
			o.Cluster, o.TTL = "", 300*time.Millisecond
			h, _, _ := redisHarness(t, newClient, o)
			return h
		},
	}, st, raw
}

// waitFor polls cond for up to a minute: no timing assumptions.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func standaloneClient(addr string) func() redis.UniversalClient {
	return func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: addr}) }
}

func TestRedisStandalone(t *testing.T) {
	srv := redistest.Standalone(t)
	for name, opts := range map[string]RedisOptions{
		"group commit":    {},
		"no group commit": {MaxBatch: NoGroupCommit},
		"linger":          {MaxBatch: 8, Linger: time.Millisecond, Committers: 2},
		// Every listing and move a page of two at a time.
		"small pages": {PageSize: 2},
	} {
		t.Run(name, func(t *testing.T) {
			storeSuite(t, func(t *testing.T) *harness {
				h, _, _ := redisHarness(t, standaloneClient(srv.Addr), opts)
				return h
			})
		})
	}
	t.Run("keys and TTL", func(t *testing.T) { testKeysAndTTL(t, standaloneClient(srv.Addr)) })
	t.Run("sweep", func(t *testing.T) { testSweep(t, standaloneClient(srv.Addr)) })
	t.Run("group commit batches", func(t *testing.T) { testGroupCommit(t, standaloneClient(srv.Addr)) })
	t.Run("NOSCRIPT", func(t *testing.T) {
		ctx := context.Background()
		h, _, raw := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{})
		for i := range 3 {
			// A restarted server has lost the script: Save loads it again.
			if err := raw.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := h.store.Save(ctx, &Record{SessionID: "s", Node: "A", Seq: uint64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// testKeysAndTTL: the key layout, a TTL on every key, refreshed by Save;
// Delete removes the record key and the index membership.
func testKeysAndTTL(t *testing.T, newClient func() redis.UniversalClient) {
	ctx := context.Background()
	h, st, raw := redisHarness(t, newClient, RedisOptions{Cluster: "keys-" + fmt.Sprint(namespaces.Add(1)), TTL: time.Hour})
	root := "ORS:" + st.opts.Cluster
	if k := st.SessionKey("id-1"); !strings.HasPrefix(k, root+":session:{") || !strings.HasSuffix(k, "}:id-1") {
		t.Fatalf("SessionKey = %s", k)
	}
	if k := st.EpochKey("A"); k != root+":node:{A}:epoch" {
		t.Fatalf("EpochKey = %s", k)
	}
	// The index entry of a session is in its record's slot.
	if k := st.IndexKey("A", "id-1"); !strings.HasPrefix(k, root+":shard:{") || !strings.HasSuffix(k, "}:node:A") || redistest.Slot(k) != redistest.Slot(st.SessionKey("id-1")) {
		t.Fatalf("IndexKey = %s", k)
	}
	for _, id := range []string{"s1", "s2"} {
		if err := h.store.Save(ctx, &Record{SessionID: id, Node: "A", Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := raw.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	keys := []string{st.SessionKey("s1"), st.SessionKey("s2"), st.IndexKey("A", "s1"), st.IndexKey("A", "s2")}
	for _, k := range keys {
		if d := pttl(k); d <= 0 || d > time.Hour {
			t.Errorf("PTTL %s = %v, want in (0, 1h]", k, d)
		}
		if !strings.HasPrefix(k, root+":") {
			t.Errorf("key %s outside %s", k, root)
		}
	}
	// Age the keys, then Save again: the TTLs are back near an hour.
	for _, k := range keys {
		raw.PExpire(ctx, k, time.Minute)
	}
	if err := h.store.Save(ctx, &Record{SessionID: "s1", Node: "A", Seq: 2}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{st.SessionKey("s1"), st.IndexKey("A", "s1")} {
		if d := pttl(k); d <= time.Minute {
			t.Errorf("PTTL %s = %v after Save, want refreshed to about 1h", k, d)
		}
	}
	if d := pttl(st.SessionKey("s2")); d > time.Minute {
		t.Errorf("PTTL of s2, not saved again: %v", d)
	}
	// A stale Save changes nothing, TTL included.
	raw.PExpire(ctx, st.SessionKey("s1"), time.Minute)
	if err := h.store.Save(ctx, &Record{SessionID: "s1", Node: "A", Seq: 1}); !errors.Is(err, ErrStale) {
		t.Fatalf("stale Save: %v", err)
	}
	if d := pttl(st.SessionKey("s1")); d > time.Minute {
		t.Errorf("a stale Save refreshed the TTL: %v", d)
	}
	// Touch refreshes the TTLs of the record, the index and the registry,
	// and rewrites nothing.
	touched := []string{st.SessionKey("s2"), st.IndexKey("A", "s2"), st.shardOf("s2").nodes()}
	for _, k := range touched {
		raw.PExpire(ctx, k, time.Minute)
	}
	before := raw.Get(ctx, st.SessionKey("s2")).Val()
	if err := st.Touch(ctx, Writer{Node: "A"}, []string{"s2"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range touched {
		if d := pttl(k); d <= time.Minute || d > time.Hour {
			t.Errorf("PTTL %s = %v after Touch, want refreshed to about 1h", k, d)
		}
	}
	if after := raw.Get(ctx, st.SessionKey("s2")).Val(); after != before {
		t.Errorf("Touch rewrote the record: %q became %q", before, after)
	}
	if d := pttl(st.SessionKey("s1")); d > time.Minute {
		t.Errorf("PTTL of s1, not touched: %v", d)
	}
	if err := h.store.Delete(ctx, Writer{Node: "A"}, "s1"); err != nil {
		t.Fatal(err)
	}
	if n := raw.Exists(ctx, st.SessionKey("s1")).Val(); n != 0 {
		t.Error("record key left after Delete")
	}
	if err := raw.ZScore(ctx, st.IndexKey("A", "s1"), "s1").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("index member left after Delete (%v)", err)
	}
	if err := h.store.Delete(ctx, Writer{Node: "A"}, "s2"); err != nil {
		t.Fatal(err)
	}
	if n := raw.Exists(ctx, st.IndexKey("A", "s2")).Val(); n != 0 {
		t.Error("empty index left after the last Delete")
	}
	if raw.SIsMember(ctx, st.shardOf("s2").nodes(), "A").Val() {
		t.Error("node registered in a shard where its index is gone")
	}
}

// testGroupCommit: 50 goroutines' Saves go out in one round trip when
// the linger outlasts them and the batch holds them all; each Save gets
// its own result.
func testGroupCommit(t *testing.T, newClient func() redis.UniversalClient) {
	ctx := context.Background()
	const n = 50
	_, st, _ := redisHarness(t, newClient, RedisOptions{MaxBatch: n, Linger: time.Hour, Committers: 1})
	// Another store on the same keys, without group commit, gives one
	// session a high Seq: its Save in the batch is stale.
	direct, err := NewRedis(newClient(), RedisOptions{Cluster: st.opts.Cluster, MaxBatch: NoGroupCommit})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if err := direct.Save(ctx, &Record{SessionID: "g07", Node: "A", Seq: 100}); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Save(ctx, &Record{SessionID: fmt.Sprintf("g%02d", i), Node: []string{"A", "B"}[i%2], Seq: 1, Data: []byte{byte(i)}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "g07") {
				t.Errorf("g07: %v, want ErrStale", err)
			}
		} else if err != nil {
			t.Errorf("g%02d: %v", i, err)
		}
	}
	if s := st.Stats(); s.Saves != n || s.Batches != 1 {
		t.Fatalf("stats %+v, want %d Saves in 1 batch", s, n)
	}
	// g07 stays A's: a refused Save moves no index entry.
	for node, want := range map[string]int{"A": n/2 + 1, "B": n/2 - 1} {
		ids, err := st.ListNode(ctx, node)
		if err != nil || len(ids) != want {
			t.Fatalf("ListNode(%s) = %v, %v", node, ids, err)
		}
	}
	for i := range n {
		rec, err := st.Load(ctx, fmt.Sprintf("g%02d", i))
		if err != nil || (i != 7 && rec.Data[0] != byte(i)) {
			t.Fatalf("g%02d: %+v, %v", i, rec, err)
		}
	}
}

// TestRedisAuth: username and password (Redis ACL) for a user limited to
// the ORS keys and the commands the store uses.
func TestRedisAuth(t *testing.T) {
	srv := redistest.Standalone(t, redistest.WithConfig(
		"user default off",
		"user ors on >s3cret ~ORS:* resetchannels -@all +@connection +get +set +getrange +del +exists +sadd +srem +smembers +pexpire +evalsha +eval +hget +hset +incr +zadd +zrem +zscore +zrange +zrangebyscore +hscan +hdel",
	))
	ctx := context.Background()
	for _, tc := range []struct{ user, pass string }{{"ors", "wrong"}, {"", ""}, {"default", ""}} {
		st, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr, Username: tc.user, Password: tc.pass}), RedisOptions{Cluster: "c", MaxBatch: NoGroupCommit})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, &Record{SessionID: "s", Node: "n"}); err == nil {
			t.Errorf("user %q password %q accepted", tc.user, tc.pass)
		}
		st.Close()
	}
	storeSuite(t, func(t *testing.T) *harness {
		h, _, _ := redisHarness(t, func() redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "ors", Password: "s3cret"})
		}, RedisOptions{})
		return h
	})
}

func TestRedisOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	for _, tc := range []struct {
		opts RedisOptions
		want string
	}{
		{RedisOptions{}, "Cluster"},
		{RedisOptions{Cluster: "a{b}"}, "Cluster"},
		{RedisOptions{Cluster: "a b"}, "Cluster"},
		{RedisOptions{Cluster: "c", TTL: -time.Second}, "TTL"},
		{RedisOptions{Cluster: "c", TTL: time.Microsecond}, "TTL"},
		{RedisOptions{Cluster: "c", MaxBatch: -5}, "MaxBatch"},
		{RedisOptions{Cluster: "c", Linger: -1}, "Linger"},
		{RedisOptions{Cluster: "c", Committers: -1}, "Committers"},
	} {
		_, err := NewRedis(c, tc.opts)
		if err == nil || !strings.Contains(err.Error(), "RedisOptions."+tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.opts, err, tc.want)
		}
	}
	if _, err := NewRedis(nil, RedisOptions{Cluster: "c"}); err == nil {
		t.Error("nil client accepted")
	}
	got, err := RedisOptions{Cluster: "c"}.init()
	if err != nil || got.TTL != DefaultTTL || got.MaxBatch != DefaultMaxBatch || got.Committers != DefaultCommitters || got.Linger != 0 {
		t.Errorf("defaults: %+v, %v", got, err)
	}
}

// TestRedisCluster runs everything against a 3+3 Redis Cluster, then
// moves slots under the store's feet.
func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node Redis Cluster")
	}
	rc := redistest.Cluster(t, 3, 1)
	newClient := func() redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	}
	t.Run("suite", func(t *testing.T) {
		storeSuite(t, func(t *testing.T) *harness {
			h, _, _ := redisHarness(t, newClient, RedisOptions{})
			return h
		})
	})
	t.Run("keys and TTL", func(t *testing.T) { testKeysAndTTL(t, newClient) })
	t.Run("sweep", func(t *testing.T) { testSweep(t, newClient) })
	t.Run("open from config", func(t *testing.T) { testOpenCluster(t, rc.Addrs()) })
	t.Run("group commit batches", func(t *testing.T) { testGroupCommit(t, newClient) })
	t.Run("list nodes across slots", func(t *testing.T) {
		ctx := context.Background()
		_, st, _ := redisHarness(t, newClient, RedisOptions{})
		const n = 300
		slots := map[int]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			for _, node := range []string{"A", "B"} {
				id := fmt.Sprintf("%s%04d", node, i)
				slots[redistest.Slot(st.SessionKey(id))] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := st.Save(ctx, &Record{SessionID: id, Node: node, Seq: 1}); err != nil {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, node := range []string{"A", "B"} {
			ids, err := st.ListNode(ctx, node)
			if err != nil || len(ids) != n || !strings.HasPrefix(ids[0], node) {
				t.Fatalf("ListNode(%s): %d ids, %v", node, len(ids), err)
			}
		}
		if len(slots) < 100 {
			t.Fatalf("sessions in only %d slots", len(slots))
		}
		t.Logf("%+v for %d Saves in %d slots", st.Stats(), 2*n, len(slots))
	})
	t.Run("slot migration", func(t *testing.T) { testMigration(t, rc, newClient) })
	t.Run("paging", func(t *testing.T) { testPaging(t, newClient, 30_000, 25) })
}

// testMigration moves the slot of a shard (records and index) between
// masters while the store saves its sessions (ASK, TRYAGAIN while the
// keys are split), then works on them after the move (MOVED, with the
// client's slot map out of date). Meanwhile, goroutines keep saving
// sessions of other shards.
func testMigration(t *testing.T, rc *redistest.RedisCluster, newClient func() redis.UniversalClient) {
	ctx := context.Background()
	_, st, raw := redisHarness(t, newClient, RedisOptions{})
	slot := redistest.Slot(st.SessionKey("m0"))
	var ids []string // sessions in slot
	for i := 0; len(ids) < 12; i++ {
		if id := fmt.Sprint("m", i); redistest.Slot(st.SessionKey(id)) == slot {
			ids = append(ids, id)
		}
	}
	seq := map[string]uint64{}
	save := func(t *testing.T, id string) {
		t.Helper()
		seq[id]++
		if err := st.Save(ctx, &Record{SessionID: id, Node: "A", Type: "voice", Seq: seq[id], Data: []byte(id)}); err != nil {
			t.Fatalf("Save(%s): %v", id, err)
		}
	}
	check := func(t *testing.T, live []string) {
		t.Helper()
		for _, id := range live {
			rec, err := st.Load(ctx, id)
			if err != nil || rec.Seq != seq[id] || string(rec.Data) != id {
				t.Fatalf("Load(%s) = %+v, %v; want seq %d", id, rec, err, seq[id])
			}
		}
		got, err := st.ListNode(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		got = slices.DeleteFunc(got, func(id string) bool { return strings.HasPrefix(id, "bg") })
		want := slices.Clone(live)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("ListNode(A) = %v, want %v", got, want)
		}
		if err := st.Save(ctx, &Record{SessionID: live[0], Node: "A", Seq: seq[live[0]] - 1}); !errors.Is(err, ErrStale) {
			t.Fatalf("stale Save of %s: %v", live[0], err)
		}
	}
	del := func(t *testing.T, id string) {
		t.Helper()
		if err := st.Delete(ctx, Writer{Node: "A"}, id); err != nil {
			t.Fatalf("Delete(%s): %v", id, err)
		}
		if _, err := st.Load(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Load(%s) after Delete: %v", id, err)
		}
	}
	for _, id := range ids[:6] {
		save(t, id)
	}

	// Background writers: sessions of the slot saved all along.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bgSaves atomic.Int64
	bgErr := make(chan error, 1)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				n++
				id := fmt.Sprintf("bg%d", w)
				if err := st.Save(ctx, &Record{SessionID: id, Node: "A", Seq: n, Data: []byte(id)}); err != nil {
					select {
					case bgErr <- fmt.Errorf("background Save(%s, seq %d): %w", id, n, err):
					default:
					}
					return
				}
				bgSaves.Add(1)
			}
		}()
	}

	m := rc.BeginMigration(t, slot, "")
	t.Logf("slot %d: %s -> %s", slot, m.From, m.To)

	// While the slot migrates, the shard's scripts answer TRYAGAIN once
	// its keys are split between the masters (and, for a new record,
	// until the migration ends): the store retries the Saves (RetryFor)
	// while the keys move.
	done := make(chan error, 1)
	go func() {
		for _, id := range ids[:9] {
			seq[id]++
			if err := st.Save(ctx, &Record{SessionID: id, Node: "A", Type: "voice", Seq: seq[id], Data: []byte(id)}); err != nil {
				done <- fmt.Errorf("Save(%s) during the migration: %w", id, err)
				return
			}
		}
		done <- nil
	}()
	if m.MoveKeys(t) == 0 {
		t.Fatal("no key to move")
	}
	m.Finish(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check(t, ids[:9])

	// MOVED: the store's client learns the new owners from the errors.
	for _, id := range ids[1:] {
		save(t, id)
	}
	del(t, ids[0])
	del(t, ids[1])
	check(t, ids[2:])
	if n := rc.Do(t, m.To, "exists", st.SessionKey(ids[11])).(int64); n != 1 {
		t.Fatal("session key not on the new owner")
	}
	if d := raw.PTTL(ctx, st.SessionKey(ids[2])).Val(); d <= 0 {
		t.Fatalf("PTTL after migration: %v", d)
	}

	// Let the writers run a little after the move too.
	waitFor(t, "background saves", func() bool { return bgSaves.Load() > 50 })
	close(stop)
	wg.Wait()
	select {
	case err := <-bgErr:
		t.Fatal(err)
	default:
	}
	t.Logf("%d background saves during the migration; %+v", bgSaves.Load(), st.Stats())
}

// testSweep: a node that died leaves an index whose records expire one by
// one; Sweep (run by hand here, by the store's ticker in production)
// empties it and unregisters the node; a live node is left alone.
func testSweep(t *testing.T, newClient func() redis.UniversalClient) {
	ctx := context.Background()
	h, st, raw := redisHarness(t, newClient, RedisOptions{SweepInterval: NoSweep})
	for i := range 5 {
		for _, node := range []string{"alive", "dead"} {
			if err := st.Save(ctx, &Record{SessionID: fmt.Sprintf("%s%d", node, i), Node: node, Seq: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if reg := st.shardOf("dead0").nodes(); raw.PTTL(ctx, reg).Val() <= 0 {
		t.Fatalf("node registry %s has no TTL (%v)", reg, raw.PTTL(ctx, reg).Val())
	}
	for i := range 5 {
		h.expire(t, fmt.Sprintf("dead%d", i))
	}
	if got := h.indexed(t, "dead"); len(got) != 5 {
		t.Fatalf("index of the dead node before the sweep: %v", got)
	}
	dropped, err := st.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dropped != 5 {
		t.Errorf("Sweep dropped %d entries, want 5", dropped)
	}
	if got := h.indexed(t, "dead"); len(got) != 0 {
		t.Errorf("index of the dead node still holds %v", got)
	}
	if nodes, err := st.Nodes(ctx); err != nil || !slices.Equal(nodes, []string{"alive"}) {
		t.Errorf("Nodes after the sweep = %v, %v; want [alive]", nodes, err)
	}
	if got := h.indexed(t, "alive"); len(got) != 5 {
		t.Errorf("the sweep touched a live index: %v", got)
	}
	// The ticker runs the same sweep.
	_, st2, _ := redisHarness(t, newClient, RedisOptions{SweepInterval: 10 * time.Millisecond})
	if err := st2.Save(ctx, &Record{SessionID: "x", Node: "gone", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := raw.Del(ctx, st2.SessionKey("x")).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "background sweep", func() bool {
		nodes, err := st2.Nodes(ctx)
		return err == nil && len(nodes) == 0
	})
}
