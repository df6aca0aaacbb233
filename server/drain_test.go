//go:build unix

package server

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
)

// logLine matches a <log> of ticker.scxml in the node's stderr (slog
// text): its time, session, label and value.
var logLine = regexp.MustCompile(`time=(\S+) level=INFO msg=log node=\S+ session=(\S+) doc=ticker label=(begin|tick) value=(\d+)`)

// tickLogs returns, per session, the highest "tick" logged (each is
// logged at the end of its macrostep, before its checkpoint) and how
// many were logged after t, and the sessions' "begin" logs likewise.
func tickLogs(t *testing.T, stderr string, after time.Time) (ticks, begins map[string]int, ticksAfter int) {
	ticks, begins = map[string]int{}, map[string]int{}
	for _, m := range logLine.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[4])
		l := ticks
		if m[3] == "begin" {
			l = begins
		}
		l[m[2]] = max(l[m[2]], n)
		if at, err := time.Parse(time.RFC3339Nano, m[1]); err == nil && at.After(after) && m[3] == "tick" {
			ticksAfter++
		}
	}
	return ticks, begins, ticksAfter
}

// storedTicks reads session id's record with `scxml inspect` (the
// process is gone) and returns its datamodel's ticks and seq.
func storedTicks(t *testing.T, cfg, id string) (ticks int, seq uint64) {
	t.Helper()
	docs, _ := filepath.Abs("testdata")
	out, err := exec.Command(scxmlBinary(t), "inspect", "--config", cfg, "--json", "--doc", docs, "--session", id).Output()
	if err != nil {
		t.Fatalf("scxml inspect --session %s: %v\n%s", id, err, out)
	}
	var rep struct {
		Seq   uint64 `json:"seq"`
		State struct {
			Datamodel []struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
			} `json:"datamodel"`
		} `json:"state"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("scxml inspect --session %s: %v: %s", id, err, out)
	}
	for _, v := range rep.State.Datamodel {
		if v.Name == "ticks" {
			f, _ := v.Value.(float64)
			return int(f), rep.Seq
		}
	}
	t.Fatalf("session %s: no ticks in its record: %s", id, out)
	return 0, 0
}

// exitOf waits for p to exit and returns its exit code and how long it
// took from since.
func exitOf(t *testing.T, p *proc, since time.Time, within time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s still runs %v after SIGTERM:\n%s", p.name, within, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(since)
}

// TestDrain: SIGTERM drains a real `scxml serve` process whose sessions
// run timer-driven macrosteps (ticker.scxml: a tick that loops a while,
// then arms the next one), with Redis on loopback.
func TestDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and scxml serve processes")
	}
	t.Parallel()
	r := redistest.Standalone(t)

	// WaitsForTimerMacrosteps: SIGTERM while delayed sends falling due
	// run macrosteps on every session. The process exits 0, and the
	// store holds each session's last macrostep: the last tick it
	// logged is the one in its record.
	t.Run("WaitsForTimerMacrosteps", func(t *testing.T) {
		cfg := writeConfig(t, []string{r.Addr}, "drain1", config.RolePrimary, "drain-timeout = 30000")
		began := time.Now()
		p := startProc(t, "node", cfg)
		const sessions = 8
		ids := make([]string, sessions)
		for i := range ids {
			ids[i] = mustDo(t, "POST", p.url+"/scxml/session/start", `{"src": "ticker"}`, 200)["sessionid"].(string)
			mustDo(t, "POST", p.url+"/scxml/session/"+ids[i]+"/event/go", `{"work": 20000, "every": 10, "at": 0}`, 200)
		}
		// Until every session has ticked a few times: macrosteps are in
		// flight on all of them.
		deadline := time.Now().Add(30 * time.Second)
		for {
			ticks, _, _ := tickLogs(t, p.stderr.String(), time.Time{})
			done := 0
			for _, id := range ids {
				if ticks[id] >= 3 {
					done++
				}
			}
			if done == sessions {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d sessions ticked 3 times in 30s:\n%s", done, sessions, p.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("ticking on every session after %v", time.Since(began).Round(time.Millisecond))
		termAt := time.Now()
		p.signal(syscall.SIGTERM)
		code, took := exitOf(t, p, termAt, 60*time.Second)
		if code != 0 {
			t.Fatalf("exit %d after SIGTERM:\n%s", code, p.stderr.String())
		}
		ticks, begins, after := tickLogs(t, p.stderr.String(), termAt)
		unfinished := 0
		for _, id := range ids {
			got, seq := storedTicks(t, cfg, id)
			if got != ticks[id] {
				t.Errorf("session %s: its last macrostep logged tick %d, its record (seq %d) holds %d", id, ticks[id], seq, got)
			}
			// A tick begun and not ended was cut short by the exit (or
			// by the script budget, on a loaded machine: its error
			// event says so).
			if begins[id] > ticks[id] && !strings.Contains(p.stderr.String(), "session="+id+" event=error.execution") {
				unfinished++
			}
		}
		if unfinished > 0 {
			t.Errorf("%d sessions began a tick that did not end", unfinished)
		}
		// No new macrostep once the drain began: only ticks whose timer
		// fell due in the instant before the engine closed (one a
		// session, two on a loaded machine at the most).
		stderr := p.stderr.String()
		at := strings.Index(stderr, "draining (drain-timeout")
		if at < 0 {
			t.Fatalf("no draining line:\n%s", stderr)
		}
		begun := 0
		for _, m := range logLine.FindAllStringSubmatch(stderr[at:], -1) {
			if m[3] == "begin" {
				begun++
			}
		}
		if begun > 2*sessions {
			t.Errorf("%d ticks began after the drain did: timers went on starting macrosteps", begun)
		}
		t.Logf("drained in %v: %d ticks ended after SIGTERM (macrosteps in flight then, waited for), %d began after the drain did", took.Round(time.Millisecond), after, begun)
	})

	// BoundedByDrainTimeout: a macrostep whose checkpoint hangs (Redis
	// paused: SIGSTOP) does not hold the exit beyond [node]
	// drain-timeout: the process exits 1 naming drain-timeout soon
	// after it, and the record holds a checkpoint of the session no
	// later than its last macrostep (a backup resumes it there).
	t.Run("BoundedByDrainTimeout", func(t *testing.T) {
		cfg := writeConfig(t, []string{r.Addr}, "drain2", config.RolePrimary, "drain-timeout = 500")
		p := startProc(t, "node", cfg)
		id := mustDo(t, "POST", p.url+"/scxml/session/start", `{"src": "ticker"}`, 200)["sessionid"].(string)
		mustDo(t, "POST", p.url+"/scxml/session/"+id+"/event/go", `{"work": 0, "every": 5, "at": 0}`, 200)
		deadline := time.Now().Add(30 * time.Second)
		for {
			if ticks, _, _ := tickLogs(t, p.stderr.String(), time.Time{}); ticks[id] >= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no tick in 30s:\n%s", p.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := syscall.Kill(r.Pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		paused := true
		defer func() {
			if paused {
				syscall.Kill(r.Pid(), syscall.SIGCONT)
			}
		}()
		time.Sleep(300 * time.Millisecond) // the next tick's checkpoint hangs
		termAt := time.Now()
		p.signal(syscall.SIGTERM)
		code, took := exitOf(t, p, termAt, 60*time.Second)
		syscall.Kill(r.Pid(), syscall.SIGCONT)
		paused = false
		if code != 1 || !strings.Contains(p.stderr.String(), "drain-timeout") {
			t.Fatalf("exit %d after %v (want 1, naming drain-timeout):\n%s", code, took, p.stderr.String())
		}
		// The engine's own CloseTimeout (10s) bounded its shutdown before
		// [node] drain-timeout did, and the last checkpoints waited for
		// the session's macrostep in flight whatever the timeout.
		if took > 8*time.Second {
			t.Fatalf("exit %v after SIGTERM with drain-timeout 500ms", took)
		}
		ticks, _, _ := tickLogs(t, p.stderr.String(), time.Time{})
		got, _ := storedTicks(t, cfg, id)
		if got > ticks[id] || got < ticks[id]-1 {
			t.Fatalf("record holds tick %d, the last tick logged is %d", got, ticks[id])
		}
		t.Logf("exit 1 %v after SIGTERM; record at tick %d, last tick logged %d", took.Round(time.Millisecond), got, ticks[id])
	})
}
