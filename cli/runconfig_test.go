package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
)

// scxml run --config checkpoints into the configured Redis and leaves a
// running session's record there: the README's quick start.
func TestRunConfigLeavesRecord(t *testing.T) {
	srv := redistest.Standalone(t)
	cfg := writeConfig(t, "quick", "node1", []string{srv.Addr})
	code, out, errOut := runCmd("run", routingDoc, "--config", cfg, "--wait", "0",
		"--event", `call.arrived={"ani":"+33142000000","dnis":"8000","language":"fr"}`, "--event", `lookup.done={"segment":"gold"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`session (\S+-node1) left running`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no session left running:\n%s", out)
	}
	got := inspectOK(t, "--config", cfg, "--session", m[1], "--doc", routingDoc)
	for _, want := range []string{"configuration: in_call routing vip", `segment = "gold"`, "queue.timeout (sendid qt)"} {
		if !strings.Contains(got, want) {
			t.Errorf("inspect: no %q in\n%s", want, got)
		}
	}
	// A session that ends leaves nothing.
	code, out, _ = runCmd("run", routingDoc, "--config", cfg, "--event", "call.released")
	if code != 0 || !strings.Contains(out, "done in released") || strings.Contains(out, "left running") {
		t.Errorf("ended session: exit %d\n%s", code, out)
	}
	if got := inspectOK(t, "--config", cfg, "--node", "node1"); strings.Count(got, "voice_routing") != 1 {
		t.Errorf("after an ended session, node1 holds:\n%s", got)
	}
}
