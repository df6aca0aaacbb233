//go:build unix

package server

// Real-process failover tests: `scxml serve` built once per test run,
// primaries and backups started as processes on loopback against a real
// 3+3 Redis Cluster (internal/redistest), killed (SIGKILL), paused
// (SIGSTOP/SIGCONT) by pid.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// scxmlBinary builds cmd/scxml once per test run.
func scxmlBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "scxml-serve-test")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "scxml")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/orsgo/engine/cmd/scxml").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is one `scxml serve` process.
type proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nodeConfig writes an ORS configuration for node n1 of cluster on rc,
// with extra [node] lines.
func nodeConfig(t testing.TB, rc *redistest.RedisCluster, cluster string, role config.Role, extra ...string) string {
	t.Helper()
	return writeConfig(t, rc.MasterAddrs(), cluster, role, extra...)
}

// writeConfig writes an ORS configuration for node n1 of cluster on the
// Redis at redisNodes (one standalone, or a cluster's masters), with
// extra [node] lines.
func writeConfig(t testing.TB, redisNodes []string, cluster string, role config.Role, extra ...string) string {
	t.Helper()
	docs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`[persistence]
type = redis
redis-nodes = %s
[orchestration]
node-id = n1
cluster-name = %s
sessionid-with-nodeid = true
[node]
listen = 127.0.0.1:0
documents = %s
role = %s
request-timeout = 3000
promote-timeout = 20000
adopt-horizon = 2000
%s
`, strings.Join(redisNodes, ";"), cluster, docs, role, strings.Join(extra, "\n"))
	p := filepath.Join(t.TempDir(), string(role)+".ini")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startProc starts `scxml serve --config cfg` and waits for its address.
func startProc(t testing.TB, name, cfg string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(scxmlBinary(t), append([]string{"serve", "--config", cfg}, args...)...)
	p := &proc{t: t, name: name, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGCONT)
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != "listening" {
			t.Fatalf("%s: first line %q", name, l)
		}
		p.url = "http://" + f[2]
	case <-p.exited:
		t.Fatalf("%s exited at start:\n%s", name, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start:\n%s", name, p.stderr.String())
	}
	return p
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, sig); err != nil {
		p.t.Fatalf("%s: kill %v: %v", p.name, sig, err)
	}
	switch sig {
	case syscall.SIGKILL:
		<-p.exited
	case syscall.SIGSTOP:
		p.waitStopped()
	}
}

// waitStopped waits until every thread of the process is stopped: kill
// returns when the signal is sent, and a thread running at that moment
// stops only when it next enters the kernel, so a request sent right
// after SIGSTOP could still be served before the pause.
func (p *proc) waitStopped() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	dir := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	for {
		tasks, err := os.ReadDir(dir)
		if err != nil {
			p.t.Skipf("cannot tell that %s stopped: %v", p.name, err)
		}
		stopped := 0
		for _, task := range tasks {
			b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
			if err != nil {
				continue
			}
			if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
				stopped++
			}
		}
		if stopped == len(tasks) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %d of %d threads stopped after SIGSTOP", p.name, stopped, len(tasks))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 20 * time.Second}

// do sends one request; err is a transport failure (the node died).
func do(method, url, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("answer %d not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, m, nil
}

func mustDo(t *testing.T, method, url, body string, want int) map[string]any {
	t.Helper()
	st, m, err := do(method, url, body)
	if err != nil || st != want {
		t.Fatalf("%s %s %s: %d %v %v (want %d)", method, url, body, st, m, err, want)
	}
	return m
}

// script is what one seeded client does to one session: start it, send
// steps 1..Steps, and hang up or not.
type script struct {
	caller string
	steps  int
	hangup bool
}

func scripts(seed uint64, n int) []script {
	r := rand.New(rand.NewPCG(seed, 12))
	out := make([]script, n)
	for i := range out {
		out[i] = script{caller: fmt.Sprintf("c%d-%d", seed, i), steps: 2 + r.IntN(9), hangup: r.IntN(5) == 0}
	}
	return out
}

// final is a session's final state as a query shows it (dups left out:
// it counts resends of steps whose answer was lost); ended for a session
// that hung up.
type final struct {
	ended  bool
	config string
	data   string
}

func finalOf(t *testing.T, base, id string) (final, float64) {
	t.Helper()
	st, m, err := do("GET", base+"/scxml/session/"+id+"/query", "")
	if err != nil {
		t.Fatal(err)
	}
	if st == http.StatusGone || st == http.StatusNotFound {
		return final{ended: true}, 0
	}
	if st != 200 {
		t.Fatalf("query %s: %d %v", id, st, m)
	}
	dm := m["datamodel"].(map[string]any)
	dups, _ := dm["dups"].(float64)
	delete(dm, "dups")
	b, _ := json.Marshal(dm)
	return final{config: fmt.Sprint(m["configuration"]), data: string(b)}, dups
}

// reference runs the scripts uninterrupted on an in-process node.
func reference(t *testing.T, ss []script) []final {
	_, hs := node(t, "n1", config.RolePrimary, persist.NewMemory(persist.MemoryOptions{}))
	out := make([]final, len(ss))
	for i, s := range ss {
		id := start(t, hs, fmt.Sprintf(`{"src": "routing", "caller": %q}`, s.caller))
		for n := 1; n <= s.steps; n++ {
			mustDo(t, "POST", hs.URL+"/scxml/session/"+id+"/event/step", fmt.Sprintf(`{"n": %d}`, n), 200)
		}
		if s.hangup {
			mustDo(t, "POST", hs.URL+"/scxml/session/"+id+"/event/hangup", "", 200)
		}
		out[i], _ = finalOf(t, hs.URL, id)
	}
	return out
}

// cluster is the Redis Cluster shared by the process tests of one test
// function.
func cluster(t *testing.T) *redistest.RedisCluster {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and scxml serve processes")
	}
	return redistest.Cluster(t, 3, 1)
}

// TestFailover runs the process tests on one Redis Cluster, in
// parallel (each under a cluster-name of its own): CrashAnywhere,
// ZombiePrimary, TimersAcrossFailover. Select one with
// -run 'TestFailover/Zombie'.
func TestFailover(t *testing.T) {
	t.Parallel()
	rc := cluster(t)
	for _, c := range []struct {
		name string
		f    func(*testing.T, *redistest.RedisCluster)
	}{
		{"CrashAnywhere", testCrashAnywhere},
		{"ZombiePrimary", testZombiePrimary},
		{"TimersAcrossFailover", testTimersAcrossFailover},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f(t, rc)
		})
	}
}

// testCrashAnywhere: a primary serving voice sessions of a routing
// document, driven over HTTP by seeded clients, is SIGKILLed at a seeded
// point; the backup is promoted over /admin/promote; the clients carry
// on against it, resending only what was not acknowledged. Every
// session's final configuration and datamodel equal an uninterrupted
// reference run: no acknowledged event lost (applied counts them, seen
// lists them), none applied twice (the document counts a resent step in
// dups, which only a step whose answer was lost may cause).
// SCXML_CRASH_RUNS=N runs N seeded rounds of 300 sessions instead of one
// round of 120.
func testCrashAnywhere(t *testing.T, rc *redistest.RedisCluster) {
	runs, sessions := 1, 120
	if v := os.Getenv("SCXML_CRASH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SCXML_CRASH_RUNS=%q: not a positive number", v)
		}
		runs, sessions = n, 300
	}
	for run := range runs {
		seed := uint64(time.Now().UnixNano())
		if v := os.Getenv("SCXML_CRASH_SEED"); v != "" && runs == 1 {
			seed, _ = strconv.ParseUint(v, 10, 64)
		}
		t.Run(fmt.Sprintf("run%d-seed%d", run, seed), func(t *testing.T) {
			crashRun(t, rc, fmt.Sprintf("crash%d", seed%1_000_000_007), seed, sessions)
		})
		if t.Failed() {
			break
		}
	}
}

func crashRun(t *testing.T, rc *redistest.RedisCluster, clusterName string, seed uint64, sessions int) {
	ss := scripts(seed, sessions)
	want := reference(t, ss)
	primary := startProc(t, "primary", nodeConfig(t, rc, clusterName, config.RolePrimary))
	backup := startProc(t, "backup", nodeConfig(t, rc, clusterName, config.RoleBackup))

	total := 0
	for _, s := range ss {
		total += 2 + s.steps // start, steps, and a hangup or a pause
	}
	r := rand.New(rand.NewPCG(seed, 99))
	killAt := int64(total/10 + r.IntN(total*8/10))
	var acked atomic.Int64
	var base atomic.Pointer[string]
	base.Store(&primary.url)
	failedOver := make(chan struct{})
	var once sync.Once
	failover := func() {
		once.Do(func() {
			_ = syscall.Kill(primary.cmd.Process.Pid, syscall.SIGKILL)
			<-primary.exited
			began := time.Now()
			if st, m, err := do("POST", backup.url+"/admin/promote", ""); err != nil || st != 200 {
				t.Errorf("promote: %d %v %v", st, m, err)
			}
			t.Logf("seed %d: primary killed after %d of %d acknowledged calls; backup promoted in %v", seed, acked.Load(), total, time.Since(began).Round(time.Millisecond))
			base.Store(&backup.url)
			close(failedOver)
		})
	}
	// send retries a call until it is acknowledged (200), failing over
	// if the node is gone; answers other than 200 and 503 fail the test.
	// It returns the answer and how many times the call was resent after
	// an unacknowledged attempt.
	send := func(path, body string, okStatus ...int) (map[string]any, int, error) {
		resent := 0
		for attempt := 0; ; attempt++ {
			if attempt > 200 {
				return nil, resent, fmt.Errorf("%s: no answer after %d attempts", path, attempt)
			}
			url := *base.Load()
			st, m, err := do("POST", url+path, body)
			if err == nil && st == 200 {
				if acked.Add(1) == killAt {
					go failover()
				}
				return m, resent, nil
			}
			if err == nil && st != http.StatusServiceUnavailable && !contains(okStatus, st) {
				return nil, resent, fmt.Errorf("POST %s %s: %d %v", url+path, body, st, m)
			}
			if err == nil && contains(okStatus, st) {
				return m, resent, nil
			}
			resent++
			if url == primary.url {
				select {
				case <-failedOver:
				case <-time.After(100 * time.Millisecond):
				}
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	type outcome struct {
		id      string
		resends int
	}
	got := make([]outcome, len(ss))
	const clients = 6
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client drives its sessions in turns: one call per
			// session per round, so that many are mid-script at the kill.
			var mine []int
			for i := c; i < len(ss); i += clients {
				mine = append(mine, i)
			}
			next := make([]int, len(ss)) // 0: start; 1..steps; steps+1: end
			for len(mine) > 0 {
				rest := mine[:0]
				for _, i := range mine {
					s := ss[i]
					switch n := next[i]; {
					case n == 0:
						m, _, err := send("/scxml/session/start", fmt.Sprintf(`{"src": "routing", "caller": %q}`, s.caller))
						if err != nil {
							errs <- err
							return
						}
						got[i].id = m["sessionid"].(string)
					case n <= s.steps:
						_, resent, err := send("/scxml/session/"+got[i].id+"/event/step", fmt.Sprintf(`{"n": %d}`, n))
						if err != nil {
							errs <- err
							return
						}
						got[i].resends += resent
					case s.hangup:
						// A hang-up whose answer was lost may have ended
						// the session already: 404 or 410 then.
						if _, _, err := send("/scxml/session/"+got[i].id+"/event/hangup", "", http.StatusNotFound, http.StatusGone); err != nil {
							errs <- err
							return
						}
					}
					next[i]++
					if next[i] <= s.steps+1 {
						rest = append(rest, i)
					}
				}
				mine = rest
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	once.Do(func() { // the kill point fell after the last call: kill now
		acked.Store(killAt - 1)
		failover()
	})
	<-failedOver
	lost, twice := 0, 0
	for i, s := range ss {
		f, dups := finalOf(t, backup.url, got[i].id)
		if int(dups) > got[i].resends {
			twice++
			t.Errorf("session %d (%s): %v resent steps applied again, but only %d were resent", i, got[i].id, dups, got[i].resends)
		}
		if f != want[i] {
			lost++
			t.Errorf("session %d (%s, %d steps, hangup %v): final %+v, reference %+v", i, got[i].id, s.steps, s.hangup, f, want[i])
		}
	}
	t.Logf("seed %d: %d sessions, %d calls acknowledged; %d divergent, %d applied twice", seed, len(ss), acked.Load(), lost, twice)
}

func contains(l []int, x int) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// testZombiePrimary: the primary is paused (SIGSTOP), the backup
// promoted and the sessions driven on; the old primary, continued
// (SIGCONT) with requests queued and timers due, has every write
// refused: its queued requests are answered 503, its health says
// fenced, and no record it could have written changed.
func testZombiePrimary(t *testing.T, rc *redistest.RedisCluster) {
	name := fmt.Sprintf("zombie%d", time.Now().UnixNano()%1_000_000)
	primary := startProc(t, "primary", nodeConfig(t, rc, name, config.RolePrimary))
	backup := startProc(t, "backup", nodeConfig(t, rc, name, config.RoleBackup))
	const n = 20
	var routing, timers []string
	for i := range n {
		m := mustDo(t, "POST", primary.url+"/scxml/session/start", fmt.Sprintf(`{"src": "routing", "caller": "z%d"}`, i), 200)
		id := m["sessionid"].(string)
		mustDo(t, "POST", primary.url+"/scxml/session/"+id+"/event/step", `{"n": 1}`, 200)
		routing = append(routing, id)
		m = mustDo(t, "POST", primary.url+"/scxml/session/start", `{"src": "timers"}`, 200)
		id = m["sessionid"].(string)
		// Due while the primary is paused: the zombie's timers fire
		// when it is continued.
		mustDo(t, "POST", primary.url+"/scxml/session/"+id+"/event/arm", `{"a": 1500, "b": 1600, "c": 600000}`, 200)
		timers = append(timers, id)
	}
	primary.signal(syscall.SIGSTOP)
	// Requests queued at the paused primary.
	type res struct {
		st  int
		m   map[string]any
		err error
		at  time.Time
	}
	queued := make(chan res, n)
	for i := range n {
		go func() {
			st, m, err := do("POST", primary.url+"/scxml/session/"+routing[i]+"/event/step", `{"n": 2}`)
			queued <- res{st, m, err, time.Now()}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	promotedAt := time.Now()
	mustDo(t, "POST", backup.url+"/admin/promote", "", 200)
	for _, id := range routing {
		mustDo(t, "POST", backup.url+"/scxml/session/"+id+"/event/step", `{"n": 2}`, 200)
		mustDo(t, "POST", backup.url+"/scxml/session/"+id+"/event/step", `{"n": 3}`, 200)
	}
	time.Sleep(2 * time.Second) // the timers fell due: the backup fired them
	for _, id := range timers {
		m := mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		if f := fmt.Sprint(m["datamodel"].(map[string]any)["fired"]); f != "[tick.a tick.b]" {
			t.Fatalf("timers at the backup: fired %s", f)
		}
	}
	// What the store holds now; the zombie must change none of it.
	st, err := openStore(rc, name)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := records(t, st, slicesConcat(routing, timers))

	contAt := time.Now()
	primary.signal(syscall.SIGCONT)
	for range n {
		r := <-queued
		if r.err != nil || r.st != http.StatusServiceUnavailable {
			t.Errorf("a request queued at the zombie: %d %v %v (want 503); answered %v after promote, %v after SIGCONT", r.st, r.m, r.err, r.at.Sub(promotedAt), r.at.Sub(contAt))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, m, err := do("GET", primary.url+"/admin/health", "")
		if err == nil && st == 503 && m["state"] == "fenced" && m["ready"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("zombie health: %d %v %v", st, m, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // give its timers every chance to write
	if st, m, _ := do("POST", primary.url+"/scxml/session/"+routing[0]+"/event/step", `{"n": 4}`); st != 503 || m["owner"] != "n1" {
		t.Fatalf("event to the zombie: %d %v", st, m)
	}
	after := records(t, st, slicesConcat(routing, timers))
	if !reflect.DeepEqual(before, after) {
		for id, b := range before {
			if after[id] != b {
				t.Errorf("session %s: record changed by the zombie:\n%.120s\n%.120s", id, b, after[id])
			}
		}
		t.FailNow()
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range routing {
		m := mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		if dm := m["datamodel"].(map[string]any); dm["applied"] != 3.0 || fmt.Sprint(dm["seen"]) != "[1 2 3]" {
			t.Fatalf("session %s after the zombie: %v", id, dm)
		}
	}
}

func slicesConcat(a, b []string) []string { return append(append([]string(nil), a...), b...) }

func openStore(rc *redistest.RedisCluster, cluster string) (persist.Store, error) {
	cfg := config.Defaults()
	cfg.Persistence.Type = config.TypeRedis
	cfg.Persistence.RedisNodes = rc.MasterAddrs()
	cfg.Cluster, cfg.Node, cfg.SessionIDWithNodeID = cluster, "n1", true
	return persist.Open(context.Background(), cfg)
}

// records returns each session's record as seq and a hash of its data.
func records(t *testing.T, st persist.Store, ids []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		rec, err := st.Load(context.Background(), id)
		if err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
		out[id] = fmt.Sprintf("seq %d node %s updated %v data %x", rec.Seq, rec.Node, rec.Updated.UnixMilli(), rec.Data)
	}
	return out
}

// testTimersAcrossFailover: delayed sends that fall due while no primary
// runs fire after the takeover, in order, without any request to their
// sessions; a <cancel> after the takeover cancels a send scheduled before.
func testTimersAcrossFailover(t *testing.T, rc *redistest.RedisCluster) {
	name := fmt.Sprintf("timers%d", time.Now().UnixNano()%1_000_000)
	primary := startProc(t, "primary", nodeConfig(t, rc, name, config.RolePrimary))
	backup := startProc(t, "backup", nodeConfig(t, rc, name, config.RoleBackup))
	const n = 10
	var ids []string
	for range n {
		m := mustDo(t, "POST", primary.url+"/scxml/session/start", `{"src": "timers"}`, 200)
		id := m["sessionid"].(string)
		mustDo(t, "POST", primary.url+"/scxml/session/"+id+"/event/arm", `{"a": 1200, "b": 900, "c": 6000}`, 200)
		ids = append(ids, id)
	}
	primary.signal(syscall.SIGKILL)
	time.Sleep(1500 * time.Millisecond) // a and b fall due with no primary
	mustDo(t, "POST", backup.url+"/admin/promote", "", 200)
	// The due-time index wakes them: no request has named them yet.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := mustDo(t, "GET", backup.url+"/admin/sessions", "", 200)
		here := 0
		for _, s := range m["sessions"].([]any) {
			if s.(map[string]any)["here"] == true {
				here++
			}
		}
		if here == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions woken by their timers", here, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids {
		m := mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		if f := fmt.Sprint(m["datamodel"].(map[string]any)["fired"]); f != "[tick.b tick.a]" {
			t.Fatalf("session %s: fired %s, want tick.b then tick.a", id, f)
		}
		if d := m["delayed"].([]any); len(d) != 1 || d[0].(map[string]any)["sendid"] != "c" {
			t.Fatalf("session %s: delayed %v", id, d)
		}
		mustDo(t, "POST", backup.url+"/scxml/session/"+id+"/event/stop", "", 200)
		m = mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		if d := m["delayed"].([]any); len(d) != 0 {
			t.Fatalf("session %s: after <cancel>: delayed %v", id, d)
		}
	}
	time.Sleep(4 * time.Second)
	for _, id := range ids {
		m := mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		if f := fmt.Sprint(m["datamodel"].(map[string]any)["fired"]); f != "[tick.b tick.a]" {
			t.Fatalf("session %s: after c's due time: fired %s", id, f)
		}
	}
}

// TestRedisMasterKilled kills Redis masters of one 3+3 cluster under
// load driven over HTTP against real `scxml serve` processes, one master
// per subtest, in turn (each needs a master whose replica is alive):
// WAIT and NoWAIT (testMasterCut: with and without [node] wait-replicas,
// a master cut from its replica, then it and the node die), then
// CarriesOn (testMasterKilledCarriesOn: the node outlives the master's
// failover). SCXML_CRASH_RUNS=N runs N rounds of WAIT and NoWAIT, each
// on a fresh cluster, with 200 sessions instead of 60.
func TestRedisMasterKilled(t *testing.T) {
	t.Parallel() // beside TestFailover, on a cluster of its own
	rc := cluster(t)
	dead := map[string]bool{}
	rounds, sessions := 1, 60
	if v := os.Getenv("SCXML_CRASH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SCXML_CRASH_RUNS=%q: not a positive number", v)
		}
		rounds, sessions = n, 200
	}
	var lostWithout []int
	for round := range rounds {
		if round > 0 { // each cut uses up a master with a replica
			rc, dead = redistest.Cluster(t, 3, 1), map[string]bool{}
		}
		ok := t.Run(fmt.Sprintf("WAIT/round%d", round), func(t *testing.T) { testMasterCut(t, rc, true, sessions, dead) }) &&
			t.Run(fmt.Sprintf("NoWAIT/round%d", round), func(t *testing.T) {
				lostWithout = append(lostWithout, testMasterCut(t, rc, false, sessions, dead))
			})
		if !ok {
			return
		}
	}
	t.Logf("without WAIT: acknowledged events lost per round: %v", lostWithout)
	t.Run("CarriesOn", func(t *testing.T) { testMasterKilledCarriesOn(t, rc, dead) })
}

// testMasterCut: a primary serves sessions of the routing document,
// driven over HTTP by clients that each send the next step of their
// sessions and resend it until it is acknowledged. Under that load the
// master holding most of the sessions' records is cut from its replica
// (the replica paused with SIGSTOP, its replication link killed with
// CLIENT KILL TYPE replica), for 300 ms at least and until the master
// acknowledged checkpoints the replica lacks (without WAIT); then the
// master dies (SHUTDOWN NOSAVE NOW) and so does the node (SIGKILL). The
// replica is continued and promoted by the cluster; a backup, promoted,
// resumes every session from its record, and each session's applied
// steps are compared with those acknowledged. With wait-replicas = 1 no
// acknowledged step is lost (and none is acknowledged on the cut
// master); without it, the steps acknowledged by the cut master are
// lost, and the test counts them (it fails if there are none: the cut
// did not happen). It returns that count.
func testMasterCut(t *testing.T, rc *redistest.RedisCluster, wait bool, sessions int, dead map[string]bool) int {
	name := fmt.Sprintf("cut%d", time.Now().UnixNano()%1_000_000)
	var extra []string
	if wait {
		extra = []string{"wait-replicas = 1", "wait-timeout = 300"}
	}
	primary := startProc(t, "primary", nodeConfig(t, rc, name, config.RolePrimary, extra...))
	// The backup checks what the records hold. It runs without WAIT: once
	// the cut master's replica is promoted it has no replica of its own
	// (3+3), and with WAIT every checkpoint there would fail.
	backup := startProc(t, "backup", nodeConfig(t, rc, name, config.RoleBackup))
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = mustDo(t, "POST", primary.url+"/scxml/session/start", fmt.Sprintf(`{"src": "routing", "caller": "w%d"}`, i), 200)["sessionid"].(string)
	}
	st, err := openStore(rc, name)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.(*persist.RedisStore)
	owner := make([]string, sessions)
	byMaster := map[string]int{}
	for i, id := range ids {
		owner[i] = rc.SlotOwner(t, redistest.Slot(rs.SessionKey(id)))
		byMaster[owner[i]]++
	}
	// The master with most records among those that still have a
	// replica (a replica promoted by an earlier subtest has none).
	master := ""
	var replica *redistest.Server
	for m, n := range byMaster {
		if dead[m] || master != "" && n <= byMaster[master] {
			continue
		}
		if r := rc.ReplicasOf(t, m); len(r) > 0 {
			master, replica = m, r[0]
		}
	}
	if master == "" {
		t.Fatal("no master left that holds records and has a replica")
	}
	dead[master] = true

	acked := make([]atomic.Int64, sessions) // the last step acknowledged
	var cut atomic.Bool
	var ackedInCut, unavailable atomic.Int64 // on the cut master's sessions
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const clients = 4
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				for i := c; i < sessions; i += clients {
					select {
					case <-stop:
						return
					default:
					}
					n := acked[i].Load() + 1
					inCut := cut.Load() // sent once the replica was cut off
					st, _, err := do("POST", primary.url+"/scxml/session/"+ids[i]+"/event/step", fmt.Sprintf(`{"n": %d}`, n))
					switch {
					case err != nil:
						return // the node is gone
					case st == 200:
						acked[i].Store(n)
						if inCut && owner[i] == master {
							ackedInCut.Add(1)
						}
					case st == http.StatusServiceUnavailable:
						if owner[i] == master {
							unavailable.Add(1)
						}
					default:
						t.Errorf("session %s step %d: %d", ids[i], n, st)
						return
					}
				}
			}
		}()
	}
	// Load first, with the replica in sync.
	for total := int64(0); total < int64(2*sessions); time.Sleep(20 * time.Millisecond) {
		total = 0
		for i := range acked {
			total += acked[i].Load()
		}
	}
	syscall.Kill(replica.Pid(), syscall.SIGSTOP)
	defer syscall.Kill(replica.Pid(), syscall.SIGCONT)
	rc.Do(t, master, "client", "kill", "type", "replica")
	cut.Store(true)
	cutAt := time.Now()
	// Until the cut shows: without WAIT, steps the replica lacks
	// acknowledged; with it, steps refused (503) for want of a replica.
	time.Sleep(300 * time.Millisecond)
	for (!wait && ackedInCut.Load() < 10 || wait && unavailable.Load() < 3) && time.Since(cutAt) < 10*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	rc.ShutdownNoSave(t, master)
	primary.signal(syscall.SIGKILL)
	close(stop)
	wg.Wait()
	syscall.Kill(replica.Pid(), syscall.SIGCONT)
	t.Logf("WAIT %v: master %s (%d of %d sessions' records) cut from replica %s for %v: %d steps acknowledged on it meanwhile, %d answered 503",
		wait, master, byMaster[master], sessions, replica.Addr, time.Since(cutAt).Round(time.Millisecond), ackedInCut.Load(), unavailable.Load())

	began := time.Now()
	mustDo(t, "POST", backup.url+"/admin/promote", "", 200)
	t.Logf("backup promoted in %v (the replica's promotion included)", time.Since(began).Round(time.Millisecond))
	lost, lostSessions := 0, 0
	for i, id := range ids {
		var dm map[string]any
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, m, err := do("GET", backup.url+"/scxml/session/"+id+"/query", "")
			if err == nil && st == 200 {
				dm = m["datamodel"].(map[string]any)
				break
			}
			if err != nil || st != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("query %s at the backup: %d %v %v", id, st, m, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		applied := int64(dm["applied"].(float64))
		if a := acked[i].Load(); applied < a {
			lost += int(a - applied)
			lostSessions++
			if wait {
				t.Errorf("session %s (records on %s): %d steps acknowledged, %d in its record", id, owner[i], a, applied)
			}
		}
		if dm["gaps"] != 0.0 {
			t.Errorf("session %s: a step applied with one missing before it: %v", id, dm)
		}
	}
	if wait {
		if unavailable.Load() == 0 {
			t.Errorf("with WAIT, no step to the master cut from its replica was refused: the cut did not happen")
		}
		if ackedInCut.Load() > 0 {
			t.Errorf("with WAIT, %d steps were acknowledged by the master cut from its replica", ackedInCut.Load())
		}
		t.Logf("WAIT 1: 0 of %d acknowledged steps lost", sumAcked(acked))
		return 0
	}
	t.Logf("without WAIT: %d acknowledged steps lost, in %d sessions (of %d acknowledged on the master while it was cut)", lost, lostSessions, ackedInCut.Load())
	if lost == 0 {
		t.Errorf("without WAIT no acknowledged step was lost: the master was not cut from its replica (%d acknowledged meanwhile)", ackedInCut.Load())
	}
	return lost
}

func sumAcked(a []atomic.Int64) int64 {
	var n int64
	for i := range a {
		n += a[i].Load()
	}
	return n
}

// testMasterKilledCarriesOn: a Redis master is killed (SIGKILL, as
// SHUTDOWN NOSAVE) while clients drive sessions on a primary; the
// cluster promotes its replica, the node carries on (checkpoints to the
// dead master's slots fail with 503 until the client's retries land),
// and every event acknowledged is in the records: after a node failover
// the backup resumes every session complete.
func testMasterKilledCarriesOn(t *testing.T, rc *redistest.RedisCluster, dead map[string]bool) {
	name := fmt.Sprintf("master%d", time.Now().UnixNano()%1_000_000)
	primary := startProc(t, "primary", nodeConfig(t, rc, name, config.RolePrimary))
	backup := startProc(t, "backup", nodeConfig(t, rc, name, config.RoleBackup))
	const sessions, steps = 40, 12
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = mustDo(t, "POST", primary.url+"/scxml/session/start", fmt.Sprintf(`{"src": "routing", "caller": "m%d"}`, i), 200)["sessionid"].(string)
	}
	var acked, unavailable atomic.Int64
	killAt := int64(sessions * steps / 3)
	killed := make(chan time.Time, 1)
	var once sync.Once
	addr := ""
	for _, m := range rc.MasterAddrs() {
		if !dead[m] {
			addr = m
			break
		}
	}
	dead[addr] = true
	kill := func() {
		for _, s := range rc.Nodes {
			if s.Addr == addr {
				syscall.Kill(s.Pid(), syscall.SIGKILL)
				killed <- time.Now()
				return
			}
		}
	}
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= steps; n++ {
				for i := c; i < sessions; i += 4 {
					deadline := time.Now().Add(60 * time.Second)
					for {
						st, m, err := do("POST", primary.url+"/scxml/session/"+ids[i]+"/event/step", fmt.Sprintf(`{"n": %d}`, n))
						if err == nil && st == 200 {
							if acked.Add(1) == killAt {
								once.Do(kill)
							}
							break
						}
						if err != nil || st != http.StatusServiceUnavailable || time.Now().After(deadline) {
							errs <- fmt.Errorf("session %s step %d: %d %v %v", ids[i], n, st, m, err)
							return
						}
						unavailable.Add(1)
						time.Sleep(50 * time.Millisecond)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	at := <-killed
	t.Logf("master killed after %d acknowledged events; %d answers 503 while its replica took over; all %d acknowledged %v after the kill",
		killAt, unavailable.Load(), acked.Load(), time.Since(at).Round(time.Millisecond))
	if m := mustDo(t, "GET", primary.url+"/admin/health", "", 200); m["ready"] != true {
		t.Fatalf("primary health after the Redis failover: %v", m)
	}
	primary.signal(syscall.SIGKILL)
	began := time.Now()
	mustDo(t, "POST", backup.url+"/admin/promote", "", 200)
	t.Logf("backup promoted in %v", time.Since(began).Round(time.Millisecond))
	for _, id := range ids {
		m := mustDo(t, "GET", backup.url+"/scxml/session/"+id+"/query", "", 200)
		dm := m["datamodel"].(map[string]any)
		if dm["applied"] != float64(steps) || dm["gaps"] != 0.0 || dm["dups"] != 0.0 {
			t.Errorf("session %s after the node failover: %v", id, dm)
		}
	}
}
