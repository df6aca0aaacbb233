package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

const (
	routingDoc = "../fixtures/testdata/routing/voice_routing.scxml"
	flatDoc    = "../testdata/bench/flat.scxml"
)

// routingArgs put each session in routing, then cycle it between
// transferring and routing (target.selected, transfer.failed): every
// event takes a transition and does datamodel work.
var routingArgs = []string{
	"--setup", `call.arrived={"ani":"+33142000000","dnis":"8000","language":"fr"}`,
	"--setup", `lookup.done={"segment":"gold"}`,
	"--event", `target.selected={"agent":"7001"}`,
	"--event", "transfer.failed",
}

var benchFields = []string{
	"macrosteps_per_s", "send_p50_us", "send_p99_us", "allocs_per_macrostep",
	"bytes_per_macrostep", "heap_bytes_per_session", "checkpoints_per_s",
	"checkpoint_bytes", "hibernated_heap_bytes_per_session", "sessions", "events", "elapsed_s",
	"hibernated_total_heap_bytes", "wake_p50_us", "wake_p99_us", "cpu_us_per_macrostep",
	"redis_cpu_us_per_macrostep", "checkpoint_p50_us", "checkpoint_p99_us", "concurrency",
}

func runBenchCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"bench"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// benchJSON runs scxml bench --json and returns its object, checked to
// have exactly the documented fields, all numbers.
func benchJSON(t *testing.T, args ...string) map[string]float64 {
	t.Helper()
	code, out, errOut := runBenchCmd(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	var keys []string
	res := map[string]float64{}
	for k, v := range raw {
		keys = append(keys, k)
		f, ok := v.(float64)
		if !ok {
			t.Errorf("%s = %v (%T), want a number", k, v, v)
		}
		res[k] = f
	}
	slices.Sort(keys)
	want := slices.Clone(benchFields)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("fields %v, want exactly %v", keys, want)
	}
	return res
}

func checkSane(t *testing.T, r map[string]float64, sessions, events int) {
	t.Helper()
	positive := []string{"macrosteps_per_s", "send_p50_us", "send_p99_us", "allocs_per_macrostep", "bytes_per_macrostep", "heap_bytes_per_session", "elapsed_s", "cpu_us_per_macrostep"}
	for _, k := range positive {
		if !(r[k] > 0) {
			t.Errorf("%s = %v, want > 0", k, r[k])
		}
	}
	if r["send_p99_us"] < r["send_p50_us"] {
		t.Errorf("p99 %v µs < p50 %v µs", r["send_p99_us"], r["send_p50_us"])
	}
	if r["sessions"] != float64(sessions) || r["events"] != float64(events) {
		t.Errorf("sessions, events = %v, %v; want %d, %d", r["sessions"], r["events"], sessions, events)
	}
	// The process's CPU per macrostep cannot exceed what the elapsed
	// time on every CPU allows (a little slack: getrusage ticks).
	if max := r["elapsed_s"] * 1e6 * float64(runtime.NumCPU()) / float64(sessions*events); r["cpu_us_per_macrostep"] > max*1.2+50 {
		t.Errorf("cpu_us_per_macrostep = %v, more than %d CPUs allow over elapsed_s (%v µs)", r["cpu_us_per_macrostep"], runtime.NumCPU(), max)
	}
	if r["concurrency"] < 1 || r["concurrency"] > float64(sessions) {
		t.Errorf("concurrency = %v, want 1..%d", r["concurrency"], sessions)
	}
	if r["checkpoint_p99_us"] < r["checkpoint_p50_us"] || r["wake_p99_us"] < r["wake_p50_us"] {
		t.Errorf("checkpoint p50/p99 %v/%v, wake p50/p99 %v/%v: a p99 below its p50", r["checkpoint_p50_us"], r["checkpoint_p99_us"], r["wake_p50_us"], r["wake_p99_us"])
	}
	// macrosteps_per_s is sessions*events over the elapsed time.
	if want := float64(sessions*events) / r["elapsed_s"]; r["macrosteps_per_s"] < want*0.99 || r["macrosteps_per_s"] > want*1.01 {
		t.Errorf("macrosteps_per_s = %v, want %v (sessions*events/elapsed_s)", r["macrosteps_per_s"], want)
	}
}

func TestBenchRoutingMemoryStore(t *testing.T) {
	r := benchJSON(t, append([]string{routingDoc, "--sessions", "16", "--events", "20", "--store", "memory"}, routingArgs...)...)
	checkSane(t, r, 16, 20)
	// A voice session is checkpointed after every macrostep.
	if r["checkpoints_per_s"] < r["macrosteps_per_s"]*0.99 || r["checkpoints_per_s"] > r["macrosteps_per_s"]*1.01 {
		t.Errorf("checkpoints_per_s = %v, want one per macrostep (%v)", r["checkpoints_per_s"], r["macrosteps_per_s"])
	}
	if r["checkpoint_bytes"] < 100 || r["checkpoint_bytes"] > 1<<20 {
		t.Errorf("checkpoint_bytes = %v, want a routing snapshot's size", r["checkpoint_bytes"])
	}
	// Every session has its own sender by default.
	if r["concurrency"] != 16 {
		t.Errorf("concurrency = %v, want 16 (one sender per session)", r["concurrency"])
	}
	// A checkpoint is part of its Send.
	if !(r["checkpoint_p50_us"] > 0) || r["checkpoint_p50_us"] > r["send_p99_us"] {
		t.Errorf("checkpoint_p50_us = %v, want > 0 and within a Send (p99 %v)", r["checkpoint_p50_us"], r["send_p99_us"])
	}
	if r["redis_cpu_us_per_macrostep"] != 0 || r["wake_p50_us"] != 0 {
		t.Errorf("memory store, no hibernation: redis_cpu_us_per_macrostep %v, wake_p50_us %v; want 0", r["redis_cpu_us_per_macrostep"], r["wake_p50_us"])
	}
	r = benchJSON(t, append([]string{routingDoc, "--sessions", "16", "--events", "20", "--store", "memory", "--concurrency", "3"}, routingArgs...)...)
	checkSane(t, r, 16, 20)
	if r["concurrency"] != 3 {
		t.Errorf("--concurrency 3: concurrency = %v", r["concurrency"])
	}
}

// With --hibernate-after the sessions idle after the send phase until
// they are hibernated, and the heap each then holds is reported: a small
// fraction of a live session's.
func TestBenchHibernate(t *testing.T) {
	r := benchJSON(t, append([]string{routingDoc, "--sessions", "200", "--events", "4", "--store", "memory", "--hibernate-after", "10s"}, routingArgs...)...)
	checkSane(t, r, 200, 4)
	hib := r["hibernated_heap_bytes_per_session"]
	if !(hib > 0) || hib > 2048 || hib > r["heap_bytes_per_session"]/4 {
		t.Errorf("hibernated_heap_bytes_per_session = %v, want > 0, at most 2 KB and a quarter of heap_bytes_per_session (%v)", hib, r["heap_bytes_per_session"])
	}
	t.Logf("heap per session: %.0f bytes live, %.0f bytes hibernated", r["heap_bytes_per_session"], hib)
	// The whole heap holds every hibernated session; a wake restores a
	// session from its record, which a checkpoint alone does not.
	if r["hibernated_total_heap_bytes"] < 200*hib {
		t.Errorf("hibernated_total_heap_bytes = %v, less than 200 hibernated sessions of %v bytes", r["hibernated_total_heap_bytes"], hib)
	}
	if !(r["wake_p50_us"] > 0) || r["wake_p99_us"] < r["wake_p50_us"] {
		t.Errorf("wake p50 %v µs, p99 %v µs; want > 0, p99 >= p50", r["wake_p50_us"], r["wake_p99_us"])
	}
	// In waves of 50, each hibernated before the next starts: the same
	// figures, with at most a wave awake at once.
	prof := filepath.Join(t.TempDir(), "heap.pprof")
	r = benchJSON(t, append([]string{routingDoc, "--sessions", "200", "--events", "3", "--store", "memory", "--hibernate-after", "10s", "--wave", "50", "--memprofile", prof}, routingArgs...)...)
	checkSane(t, r, 200, 3)
	// --memprofile wrote a heap profile (gzipped pprof, inuse_space).
	if f, err := os.Open(prof); err != nil {
		t.Errorf("--memprofile: %v", err)
	} else {
		zr, err := gzip.NewReader(f)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(zr)
		}
		f.Close()
		if err != nil || !bytes.Contains(b, []byte("inuse_space")) {
			t.Errorf("--memprofile %s: not a heap profile (%v)", prof, err)
		}
	}
	if r["concurrency"] != 50 {
		t.Errorf("--wave 50: concurrency = %v, want 50 (a sender per session of a wave)", r["concurrency"])
	}
	if w := r["hibernated_heap_bytes_per_session"]; !(w > 0) || w > 2048 || !(r["wake_p50_us"] > 0) {
		t.Errorf("--wave 50: hibernated_heap_bytes_per_session %v, wake_p50_us %v", w, r["wake_p50_us"])
	}
	code, out, errOut := runBenchCmd(t, "--sessions", "4", "--events", "5", "--store", "memory", "--hibernate-after", "1m", flatDoc, "--event", "t")
	if code != 0 || !strings.Contains(out, "heap bytes/hibernated") || errOut != "" {
		t.Errorf("human output: exit %d, output:\n%s%s", code, out, errOut)
	}
	// Without the flag the figure is 0 (not measured).
	r = benchJSON(t, flatDoc, "--event", "t", "--sessions", "4", "--events", "5", "--store", "memory")
	if r["hibernated_heap_bytes_per_session"] != 0 {
		t.Errorf("without --hibernate-after: hibernated_heap_bytes_per_session = %v, want 0", r["hibernated_heap_bytes_per_session"])
	}
}

func TestBenchFlat(t *testing.T) {
	r := benchJSON(t, flatDoc, "--event", "t", "--sessions", "16", "--events", "50")
	checkSane(t, r, 16, 50)
	if r["checkpoints_per_s"] != 0 || r["checkpoint_bytes"] != 0 {
		t.Errorf("without a store: checkpoints_per_s %v, checkpoint_bytes %v; want 0", r["checkpoints_per_s"], r["checkpoint_bytes"])
	}
}

func TestBenchHumanOutput(t *testing.T) {
	code, out, errOut := runBenchCmd(t, "--sessions", "4", "--events", "5", flatDoc, "--event", "t")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"macrosteps/s", "send p50", "send p99", "allocs/macrostep", "bytes/macrostep", "heap bytes/session"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q line in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "checkpoints/s") {
		t.Errorf("checkpoint figures without a store:\n%s", out)
	}
	code, out, errOut = runBenchCmd(t, "--sessions", "4", "--events", "5", "--store", "memory", flatDoc, "--event", "t")
	if code != 0 || !strings.Contains(out, "checkpoints/s") || !strings.Contains(out, "bytes/checkpoint") {
		t.Errorf("with --store memory: exit %d, output:\n%s%s", code, out, errOut)
	}
}

// Sessions that end before their last event are reported, not fatal.
func TestBenchSessionsEnd(t *testing.T) {
	code, out, errOut := runBenchCmd(t, routingDoc, "--event", "call.released", "--sessions", "3", "--events", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "3 of 3 sessions ended") {
		t.Errorf("stderr %q does not report the ended sessions", errOut)
	}
	if !strings.Contains(out, "macrosteps/s") {
		t.Errorf("no figures:\n%s", out)
	}
}

func TestBenchErrors(t *testing.T) {
	dir := t.TempDir()
	badDoc := filepath.Join(dir, "bad.scxml")
	if err := os.WriteFile(badDoc, []byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
  <state id="a">
    <transition event="t" target="nowhere"/>
  </state>
</scxml>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "bad.ini")
	if err := os.WriteFile(badConfig, []byte("[persistence]\ntype = cassandra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noNodes := filepath.Join(dir, "nonodes.ini")
	if err := os.WriteFile(noNodes, []byte("[persistence]\ntype = memory\n[orchestration]\ncluster-name = c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no document", []string{"--event", "t"}, 2, "no document given"},
		{"no event", []string{flatDoc}, 2, "no --event"},
		{"two documents", []string{flatDoc, flatDoc, "--event", "t"}, 2, "one document only"},
		{"bad flag", []string{flatDoc, "--event", "t", "--fast"}, 2, "-fast"},
		{"bad number", []string{flatDoc, "--event", "t", "--sessions", "many"}, 2, "-sessions"},
		{"zero sessions", []string{flatDoc, "--event", "t", "--sessions", "0"}, 2, "--sessions 0"},
		{"zero events", []string{flatDoc, "--event", "t", "--events", "0"}, 2, "--events 0"},
		{"bad event data", []string{flatDoc, "--event", "t={"}, 2, "not JSON"},
		{"bad store", []string{flatDoc, "--event", "t", "--store", "disk"}, 2, `--store "disk"`},
		{"redis without config", []string{flatDoc, "--event", "t", "--store", "redis"}, 2, "--config"},
		{"hibernate without store", []string{flatDoc, "--event", "t", "--hibernate-after", "10s"}, 2, "--hibernate-after needs --store"},
		{"negative hibernate", []string{flatDoc, "--event", "t", "--store", "memory", "--hibernate-after", "-1s"}, 2, "--hibernate-after -1s"},
		{"bad hibernate", []string{flatDoc, "--event", "t", "--hibernate-after", "soon"}, 2, "-hibernate-after"},
		{"negative concurrency", []string{flatDoc, "--event", "t", "--concurrency", "-2"}, 2, "--concurrency -2"},
		{"zero wave", []string{flatDoc, "--event", "t", "--wave", "0"}, 2, "--wave 0"},
		{"missing document", []string{filepath.Join(dir, "none.scxml"), "--event", "t"}, 1, "none.scxml"},
		{"unparseable document", []string{badDoc, "--event", "t"}, 1, badDoc + ":3:5:"},
		{"bad config", []string{flatDoc, "--event", "t", "--config", badConfig}, 1, badConfig + ":2: [persistence] type:"},
		{"missing config", []string{flatDoc, "--event", "t", "--config", filepath.Join(dir, "none.ini")}, 1, "none.ini"},
		{"config without redis-nodes", []string{flatDoc, "--event", "t", "--store", "redis", "--config", noNodes}, 1, "[persistence] redis-nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runBenchCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// With a redis-server on the PATH, --store redis checkpoints into it and
// removes its records afterwards.
func TestBenchRedis(t *testing.T) {
	srv := redistest.Standalone(t)
	cfg := filepath.Join(t.TempDir(), "ors.ini")
	ini := fmt.Sprintf("[persistence]\ntype = redis\nredis-nodes = %s\n[orchestration]\ncluster-name = benchtest\nsessionid-with-nodeid = true\nnode-id = bench1\n", srv.Addr)
	if err := os.WriteFile(cfg, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	r := benchJSON(t, append([]string{routingDoc, "--sessions", "8", "--events", "10", "--config", cfg}, routingArgs...)...)
	checkSane(t, r, 8, 10)
	if !(r["checkpoints_per_s"] > 0) || !(r["checkpoint_bytes"] > 0) {
		t.Errorf("checkpoints_per_s %v, checkpoint_bytes %v; want > 0", r["checkpoints_per_s"], r["checkpoint_bytes"])
	}
	// The server runs on loopback: its CPU is measured (80 checkpoints
	// cost it some), and a checkpoint is a round trip to it.
	if !(r["redis_cpu_us_per_macrostep"] > 0) || !(r["checkpoint_p50_us"] > 0) {
		t.Errorf("redis_cpu_us_per_macrostep %v, checkpoint_p50_us %v; want > 0", r["redis_cpu_us_per_macrostep"], r["checkpoint_p50_us"])
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if keys, err := c.Keys(context.Background(), "*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("after the bench, redis holds %v (%v), want no keys", keys, err)
	}
}

func TestInfoCPU(t *testing.T) {
	d, err := infoCPU("# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.500000\r\nused_cpu_sys_children:9.000000\r\n")
	if err != nil || d != 1750*time.Millisecond {
		t.Errorf("infoCPU = %v, %v; want 1.75s (children not counted)", d, err)
	}
	if _, err := infoCPU("# CPU\r\nused_cpu_sys:x\r\nused_cpu_user:0.5\r\n"); err == nil || !strings.Contains(err.Error(), "used_cpu_sys") {
		t.Errorf("bad number: err = %v", err)
	}
	if _, err := infoCPU("# Server\r\n"); err == nil {
		t.Error("no cpu fields: no error")
	}
	for addr, want := range map[string]bool{"127.0.0.1:6379": true, "[::1]:7000": true, "localhost:1": true, "10.0.0.2:6379": false, "redis-1:6379": false} {
		if loopback(addr) != want {
			t.Errorf("loopback(%q) = %v", addr, !want)
		}
	}
}
