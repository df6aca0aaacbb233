package persist

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// pageWatch is a go-redis hook that sees the replies of the store's page
// scripts (listScript, rangeScript): it counts the calls, records the
// most entries one call handled, and runs between pages whatever the test
// wants to change behind the walk's back (between the reply of one page
// and the call of the next, deterministically).
type pageWatch struct {
	page    int // the store's PageSize
	mu      sync.Mutex
	calls   map[string]int // by script name
	most    map[string]int // entries handled by one call
	between func(script string, a []any)
}

func (w *pageWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *pageWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.see(cmd)
		return err
	}
}

func (w *pageWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			w.see(c)
		}
		return err
	}
}

// scriptName names a page script from an EVALSHA's hash or an EVAL's
// source.
func scriptName(cmd string, arg any) string {
	s, _ := arg.(string)
	if cmd == "eval" {
		h := sha1.Sum([]byte(s))
		s = hex.EncodeToString(h[:])
	}
	switch s {
	case listScript.Hash():
		return "list"
	case rangeScript.Hash():
		return "range"
	}
	return ""
}

func (w *pageWatch) see(cmd redis.Cmder) {
	args := cmd.Args()
	if len(args) < 2 || cmd.Err() != nil {
		return
	}
	if z, ok := cmd.(*redis.ZSliceCmd); ok {
		// The first page of DueBefore and IndexMembers, a plain command:
		// told to between as rangeScript's reply would be.
		zs := z.Val()
		a := []any{int64(-1), "", ""}
		if len(zs) == w.page {
			last := zs[len(zs)-1]
			a = []any{int64(w.page), last.Member, scoreArg(last.Score)}
		}
		for _, e := range zs {
			a = append(a, e.Member, scoreArg(e.Score))
		}
		w.saw("range", len(zs), a)
		return
	}
	name := ""
	if c, _ := args[0].(string); c == "evalsha" || c == "eval" {
		name = scriptName(c, args[1])
	}
	if name == "" {
		return
	}
	a, _ := cmd.(*redis.Cmd).Val().([]any)
	var n int
	switch name {
	case "list": // dropped, cursor, then member/score pairs
		dropped, _ := a[0].(int64)
		n = int(dropped) + (len(a)-4)/2
	case "range": // cursor, then member/score pairs
		n = (len(a) - 3) / 2
	}
	w.saw(name, n, a)
}

// saw counts a call of script name that handled n entries and answered a.
func (w *pageWatch) saw(name string, n int, a []any) {
	w.mu.Lock()
	w.calls[name]++
	w.most[name] = max(w.most[name], n)
	f := w.between
	w.mu.Unlock()
	if f != nil {
		f(name, a)
	}
}

func (w *pageWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls, w.most = map[string]int{}, map[string]int{}
}

func (w *pageWatch) get(name string) (calls, most int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[name], w.most[name]
}

// pagedIndex is a large index of node "big" written behind the store's
// back: n entries, most sharing one of three scores (two due times and
// +inf), a quarter of them without a record (expired).
type pagedIndex struct {
	live, dead map[string]float64 // member -> score
}

func fillIndex(t *testing.T, st *RedisStore, raw redis.UniversalClient, node string, n int) *pagedIndex {
	t.Helper()
	ctx := context.Background()
	ix := &pagedIndex{live: map[string]float64{}, dead: map[string]float64{}}
	const chunk = 5000
	for off := 0; off < n; off += chunk {
		pipe := raw.Pipeline()
		for i := off; i < min(n, off+chunk); i++ {
			id := fmt.Sprintf("s%07d", i)
			score := math.Inf(1)
			switch i % 5 {
			case 0:
				score = 1000
			case 1:
				score = 2000
			case 2:
				score = float64(3000 + i%7)
			}
			sh := st.shardOf(id)
			pipe.ZAdd(ctx, sh.index(node), redis.Z{Score: score, Member: id})
			pipe.SAdd(ctx, sh.nodes(), node)
			if i%4 == 0 {
				ix.dead[id] = score
				continue
			}
			pipe.Set(ctx, st.SessionKey(id), "x", time.Hour)
			ix.live[id] = score
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

// rawIndex returns node's index as it stands, member -> score, read with
// ZRANGE 0 -1 of each shard (the test's oracle).
func rawIndex(t *testing.T, st *RedisStore, raw redis.UniversalClient, node string) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]float64{}
	for _, sh := range st.shards() {
		zs, err := raw.ZRangeWithScores(ctx, sh.index(node), 0, -1).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		for _, z := range zs {
			out[z.Member.(string)] = z.Score
		}
	}
	return out
}

// testPaging proves that the walks of a node's index (ListNode, Sweep,
// DueBefore, IndexMembers) read it a page at a time, no call handling
// more than RedisOptions.PageSize entries (the store before paging read
// a whole index in one script, holding a standalone Redis for seconds at
// a few hundred thousand sessions), and that the cursor is exact: between
// pages, entries are deleted (before and after the cursor, the cursor's
// own entry included), added at the cursor's very score (on both sides
// of its member) and their records expired; every entry untouched is
// listed exactly once, none twice, none dead.
func testPaging(t *testing.T, newClient func() redis.UniversalClient, n, pageSize int) {
	ctx := context.Background()
	w := &pageWatch{page: pageSize}
	w.reset()
	c := newClient()
	c.AddHook(w)
	opts := RedisOptions{Cluster: fmt.Sprintf("t%d", namespaces.Add(1)), TTL: time.Hour, SweepInterval: NoSweep, PageSize: pageSize}
	st, err := NewRedis(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw := newClient()
	t.Cleanup(func() { raw.Close() })
	// A second store on the same keys, without the hook: the writes made
	// between pages.
	other, err := NewRedis(newClient(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })

	const node = "big"
	start := time.Now()
	ix := fillIndex(t, st, raw, node, n)
	t.Logf("%d entries (%d without a record) written in %v", n, len(ix.dead), time.Since(start))

	// touched: the entries changed between pages, whose presence in a
	// listing depends on when they were changed; added: the entries made.
	touched := map[string]bool{}
	added := map[string]float64{}
	rng := rand.New(rand.NewPCG(1, 2))
	liveIDs := make([]string, 0, len(ix.live))
	for id := range ix.live {
		liveIDs = append(liveIDs, id)
	}
	slices.Sort(liveIDs)
	pick := func() string {
		for {
			id := liveIDs[rng.IntN(len(liveIDs))]
			if !touched[id] {
				touched[id] = true
				return id
			}
		}
	}
	var mutations, made atomic.Int64
	mutate := func(cursorMember, cursorScore string) {
		// Delete two sessions anywhere (Save's script takes them out of
		// the index with their record), the cursor's own entry, expire
		// one record, and add two entries at the cursor's score, one
		// sorting before its member and one after.
		for range 2 {
			if err := other.Delete(ctx, Writer{Node: node}, pick()); err != nil {
				t.Error(err)
			}
		}
		touched[cursorMember] = true
		if err := other.Delete(ctx, Writer{Node: node}, cursorMember); err != nil {
			t.Error(err)
		}
		if err := raw.Del(ctx, st.SessionKey(pick())).Err(); err != nil {
			t.Error(err)
		}
		score, err := strconv.ParseFloat(cursorScore, 64)
		if err != nil {
			t.Errorf("cursor score %q: %v", cursorScore, err)
			return
		}
		mutations.Add(1)
		k := made.Add(1)
		for _, prefix := range []string{"a", "z"} {
			// In the cursor's shard, so as to land in its index.
			var id string
			for j := 0; ; j++ {
				id = fmt.Sprintf("%s%07d-%d", prefix, k, j)
				if st.shardOf(id) == st.shardOf(cursorMember) {
					break
				}
			}
			sh := st.shardOf(id)
			pipe := raw.Pipeline()
			pipe.Set(ctx, st.SessionKey(id), "x", time.Hour)
			pipe.ZAdd(ctx, sh.index(node), redis.Z{Score: score, Member: id})
			if _, err := pipe.Exec(ctx); err != nil {
				t.Error(err)
			}
			added[id] = score
			touched[id] = true
		}
	}
	w.between = func(script string, a []any) {
		at := map[string]int{"list": 1, "range": 0}[script]
		if rank, _ := a[at].(int64); rank >= 0 {
			m, _ := a[at+1].(string)
			s, _ := a[at+2].(string)
			mutate(m, s)
		}
	}

	// ListNode, with changes between its pages.
	start = time.Now()
	ids, err := st.ListNode(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	calls, most := w.get("list")
	t.Logf("ListNode: %d ids in %d calls (at most %d entries a call) in %v, %d times changed between pages",
		len(ids), calls, most, time.Since(start), mutations.Load())
	if most > pageSize {
		t.Errorf("one call of ListNode handled %d entries, page size %d", most, pageSize)
	}
	if calls < n/pageSize {
		t.Errorf("ListNode took %d calls for %d entries, pages of %d", calls, n, pageSize)
	}
	if mutations.Load() == 0 {
		t.Fatal("nothing was changed between pages: the test proves nothing")
	}
	if !slices.IsSorted(ids) {
		t.Error("ListNode: not sorted")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("ListNode lists %s twice", id)
		}
		seen[id] = true
		if _, ok := ix.dead[id]; ok {
			t.Errorf("ListNode lists %s, whose record was gone", id)
		}
		if _, ok := ix.live[id]; !ok && added[id] == 0 {
			t.Errorf("ListNode lists %s, never indexed", id)
		}
	}
	missed := 0
	for id := range ix.live {
		if !touched[id] && !seen[id] {
			missed++
			if missed <= 5 {
				t.Errorf("ListNode misses %s (score %v), untouched", id, ix.live[id])
			}
		}
	}
	if missed > 0 {
		t.Errorf("ListNode misses %d untouched sessions", missed)
	}
	// Every entry dead from the start was read, so dropped.
	after := rawIndex(t, st, raw, node)
	for id := range ix.dead {
		if _, ok := after[id]; ok {
			t.Errorf("ListNode left %s in the index, without a record", id)
			break
		}
	}

	// Sweep, without changes: it drops exactly the entries whose record
	// is gone (those expired between pages after the walk had read them),
	// in pages too.
	w.between = nil
	w.reset()
	for range 50 {
		if err := raw.Del(ctx, st.SessionKey(pick())).Err(); err != nil {
			t.Fatal(err)
		}
	}
	before := rawIndex(t, st, raw, node)
	var gone []string
	pipe := raw.Pipeline()
	exists := map[string]*redis.IntCmd{}
	for id := range before {
		exists[id] = pipe.Exists(ctx, st.SessionKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for id, c := range exists {
		if c.Val() == 0 {
			gone = append(gone, id)
		}
	}
	dropped, err := st.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dropped != len(gone) {
		t.Errorf("Sweep dropped %d entries, want %d", dropped, len(gone))
	}
	if calls, most := w.get("list"); most > pageSize || calls < len(before)/pageSize {
		t.Errorf("Sweep: %d calls, at most %d entries a call (page size %d, %d entries)", calls, most, pageSize, len(before))
	}
	after = rawIndex(t, st, raw, node)
	if len(after) != len(before)-len(gone) {
		t.Errorf("index after Sweep: %d entries, want %d", len(after), len(before)-len(gone))
	}

	// IndexMembers (read only) sees the index as it stands.
	w.reset()
	live, goneIDs, err := st.IndexMembers(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != len(after) || len(goneIDs) != 0 {
		t.Errorf("IndexMembers: %d live, %d gone; want %d, 0", len(live), len(goneIDs), len(after))
	}
	for _, d := range live {
		s := after[d.SessionID]
		if want := time.UnixMilli(int64(s)).UTC(); math.IsInf(s, 1) && !d.Due.IsZero() || !math.IsInf(s, 1) && !d.Due.Equal(want) {
			t.Errorf("IndexMembers: %s due %v, score %v", d.SessionID, d.Due, s)
			break
		}
	}
	if calls, most := w.get("range"); most > pageSize || calls < len(after)/pageSize {
		t.Errorf("IndexMembers: %d calls, at most %d entries a call (page size %d, %d entries)", calls, most, pageSize, len(after))
	}

	// DueBefore, with changes between pages again: the entries due
	// before 2.5 s (two runs of equal scores), in order.
	w.reset()
	w.between = func(script string, a []any) {
		if rank, _ := a[0].(int64); script == "range" && rank >= 0 {
			m, _ := a[1].(string)
			s, _ := a[2].(string)
			mutate(m, s)
		}
	}
	bound := time.UnixMilli(2500)
	startIndex := rawIndex(t, st, raw, node)
	mutations.Store(0)
	due, err := st.DueBefore(ctx, node, bound)
	if err != nil {
		t.Fatal(err)
	}
	calls, most = w.get("range")
	t.Logf("DueBefore: %d due in %d calls (at most %d entries a call), %d times changed between pages", len(due), calls, most, mutations.Load())
	if most > pageSize {
		t.Errorf("one call of DueBefore handled %d entries, page size %d", most, pageSize)
	}
	if mutations.Load() == 0 {
		t.Fatal("nothing was changed between pages of DueBefore")
	}
	if !sort.SliceIsSorted(due, func(i, j int) bool {
		if c := due[i].Due.Compare(due[j].Due); c != 0 {
			return c < 0
		}
		return due[i].SessionID < due[j].SessionID
	}) {
		t.Error("DueBefore: not in due-time order")
	}
	got := map[string]bool{}
	for _, d := range due {
		if got[d.SessionID] {
			t.Errorf("DueBefore returns %s twice", d.SessionID)
		}
		got[d.SessionID] = true
		s, ok := startIndex[d.SessionID]
		if !ok {
			s, ok = added[d.SessionID]
		}
		if !ok || !d.Due.Before(bound) || !d.Due.Equal(time.UnixMilli(int64(s)).UTC()) {
			t.Errorf("DueBefore returns %s due %v (indexed: %v, score %v)", d.SessionID, d.Due, ok, s)
		}
	}
	missed = 0
	for id, s := range startIndex {
		if s < 2500 && !touched[id] && !got[id] {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("DueBefore misses %d untouched due sessions", missed)
	}
}

func TestRedisPagingStandalone(t *testing.T) {
	// Every command in the slow log, to report the longest call.
	srv := redistest.Standalone(t, redistest.WithConfig("slowlog-log-slower-than 0", "slowlog-max-len 1000000"))
	newClient := standaloneClient(srv.Addr)
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	testPaging(t, newClient, n, DefaultPageSize)
	// The longest call, for the record (not asserted: the machine is
	// shared; the page bound above is what holds it).
	c := newClient()
	defer c.Close()
	logs, err := c.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The store's calls (the test's own oracle reads whole indexes).
	var longest redis.SlowLog
	for _, l := range logs {
		if len(l.Args) > 0 && (strings.EqualFold(l.Args[0], "evalsha") || strings.EqualFold(l.Args[0], "eval")) && l.Duration > longest.Duration {
			longest = l
		}
	}
	var ds []time.Duration
	for _, l := range logs {
		if len(l.Args) > 0 && strings.EqualFold(l.Args[0], "evalsha") {
			ds = append(ds, l.Duration)
		}
	}
	slices.Sort(ds)
	if len(ds) > 0 {
		t.Logf("store's script calls: %d, p50 %v, p90 %v, p99 %v", len(ds), ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)*99/100])
	}
	if len(longest.Args) > 0 {
		t.Logf("longest script call of the store: %v (%v)", longest.Duration, longest.Args[:min(len(longest.Args), 9)])
	}
}

// TestRedisVolatilePaging: Volatile reads a large registry a page at a
// time (HSCAN), completely, and clears it.
func TestRedisVolatilePaging(t *testing.T) {
	srv := redistest.Standalone(t, redistest.WithConfig("slowlog-log-slower-than 0", "slowlog-max-len 100000"))
	ctx := context.Background()
	_, st, raw := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{PageSize: 100, SweepInterval: NoSweep})
	const n = 5000
	key := st.shardOf("v").volatile("A")
	pipe := raw.Pipeline()
	for i := range n {
		pipe.HSet(ctx, key, fmt.Sprintf("v%05d", i), "digital")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := raw.SlowLogReset(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	vs, err := st.Volatile(ctx, "A", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != n || vs[0].SessionID != "v00000" || vs[n-1].SessionID != fmt.Sprintf("v%05d", n-1) || vs[0].Type != "digital" {
		t.Fatalf("Volatile: %d sessions, want %d", len(vs), n)
	}
	for i := 1; i < len(vs); i++ {
		if vs[i].SessionID <= vs[i-1].SessionID {
			t.Fatalf("Volatile: %s after %s", vs[i].SessionID, vs[i-1].SessionID)
		}
	}
	if k := raw.Exists(ctx, key).Val(); k != 0 {
		t.Errorf("Volatile(clear) left the registry")
	}
	logs, err := raw.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	scans := 0
	for _, l := range logs {
		if len(l.Args) > 0 && strings.EqualFold(l.Args[0], "hscan") {
			scans++
		}
		if len(l.Args) > 0 && (strings.EqualFold(l.Args[0], "hgetall") || strings.EqualFold(l.Args[0], "del")) {
			t.Errorf("Volatile sent %v: the whole registry in one call", l.Args)
		}
	}
	if scans < n/100/2 {
		t.Errorf("Volatile read %d entries in %d HSCANs of 100", n, scans)
	}
}

// TestRedisMovePages: MoveMany moves a recovery's batch into one shard
// (a standalone Redis has one) in scripts of PageSize records at most,
// and moves them all.
func TestRedisMovePages(t *testing.T) {
	srv := redistest.Standalone(t, redistest.WithConfig("slowlog-log-slower-than 0", "slowlog-max-len 100000"))
	ctx := context.Background()
	_, st, raw := redisHarness(t, standaloneClient(srv.Addr), RedisOptions{PageSize: 7, SweepInterval: NoSweep})
	const n = 50
	var moves []Move
	for i := range n {
		rec := &Record{SessionID: fmt.Sprintf("m%02d", i), Node: "A", Seq: 1, Data: []byte("x")}
		if err := st.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
		moved := *rec
		moved.Node, moved.Seq = "B", 2
		moves = append(moves, Move{Record: &moved, From: "A", Seq: 1})
	}
	if err := raw.SlowLogReset(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i, err := range st.MoveMany(ctx, moves) {
		if err != nil {
			t.Fatalf("move %d: %v", i, err)
		}
	}
	if ids, err := st.ListNode(ctx, "B"); err != nil || len(ids) != n {
		t.Fatalf("B lists %d sessions, %v; want %d", len(ids), err, n)
	}
	logs, err := raw.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	calls, most := 0, 0
	for _, l := range logs {
		if len(l.Args) < 7 || !strings.EqualFold(l.Args[0], "evalsha") && !strings.EqualFold(l.Args[0], "eval") {
			continue
		}
		// moveScript's keys: epochs, nodes, two indexes, then the
		// records (ListNode's pages have two keys).
		if keys, _ := strconv.Atoi(l.Args[2]); keys > 4 && strings.HasSuffix(l.Args[6], ":node:A") {
			calls++
			most = max(most, keys-4)
		}
	}
	if most > 7 || calls < n/7 {
		t.Errorf("MoveMany of %d: %d scripts, at most %d records each; want pages of 7", n, calls, most)
	}
}

// touchWatch is a go-redis hook that records how many touchScript calls
// each pipeline carries.
type touchWatch struct {
	mu        sync.Mutex
	pipelines []int
}

func (w *touchWatch) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (w *touchWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (w *touchWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, c := range cmds {
			if isScript(c, touchScript.Hash()) {
				n++
			}
		}
		if n > 0 {
			w.mu.Lock()
			w.pipelines = append(w.pipelines, n)
			w.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

// isScript reports whether cmd runs the script of hash (an EVALSHA, or
// an EVAL of its source).
func isScript(cmd redis.Cmder, hash string) bool {
	a := cmd.Args()
	if len(a) < 2 {
		return false
	}
	c, _ := a[0].(string)
	s, _ := a[1].(string)
	if c == "eval" {
		h := sha1.Sum([]byte(s))
		s = hex.EncodeToString(h[:])
	}
	return (c == "evalsha" || c == "eval") && s == hash
}

// TestRedisTouchPages: Touch refreshes many records in round trips of
// touchPages pages at most, so that a sweep refreshing a million
// hibernated sessions never builds one pipeline of a million scripts;
// every record is refreshed, and a record gone is still named.
func TestRedisTouchPages(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	w := &touchWatch{}
	client := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		c.AddHook(w)
		return c
	}
	const page, n = 2, 95
	_, st, raw := redisHarness(t, client, RedisOptions{PageSize: page, SweepInterval: NoSweep, TTL: time.Hour})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%02d", i)
		if err := st.Save(ctx, &Record{SessionID: ids[i], Node: "A", Seq: 1, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if err := raw.PExpire(ctx, st.SessionKey(ids[i]), time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Del(ctx, st.SessionKey(ids[n-1])).Err(); err != nil {
		t.Fatal(err)
	}
	// Loaded, so that no pipeline is sent again after NOSCRIPT.
	if err := touchScript.Load(ctx, raw).Err(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.pipelines = nil
	w.mu.Unlock()
	err := st.Touch(ctx, Writer{Node: "A"}, ids)
	var se *SessionError
	if !errors.As(err, &se) || se.SessionID != ids[n-1] || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch: %v, want %s not found", err, ids[n-1])
	}
	w.mu.Lock()
	got := append([]int(nil), w.pipelines...)
	w.mu.Unlock()
	total := 0
	for _, k := range got {
		total += k
		if k > touchPages*page {
			t.Errorf("a pipeline of %d touch scripts, want at most %d", k, touchPages*page)
		}
	}
	if total != n || len(got) < n/(touchPages*page) {
		t.Errorf("%d touch scripts in %d pipelines %v, want %d in at least %d", total, len(got), got, n, n/(touchPages*page))
	}
	for _, id := range ids[:n-1] {
		if ttl := raw.PTTL(ctx, st.SessionKey(id)).Val(); ttl < 59*time.Minute {
			t.Errorf("%s: TTL %v after Touch, want about an hour", id, ttl)
		}
	}
}
