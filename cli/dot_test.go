package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDotCommand(t *testing.T) {
	code, out, errOut := runCmd("dot", routingDoc)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`digraph "voice_routing" {`, "compound=true", "subgraph cluster_s4 {", "<b>routing</b>", "call.arrived"} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
	if strings.Contains(out, "#ffd966") {
		t.Error("a state is highlighted without --session")
	}
	for _, args := range [][]string{
		{"dot"},
		{"dot", routingDoc, routingDoc},
		{"dot", routingDoc, "--session", "x"},
		{"dot", routingDoc, "--config", "ors.ini"},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if code, _, errOut := runCmd("dot", "nowhere.scxml"); code != 1 || !strings.Contains(errOut, "nowhere.scxml") {
		t.Errorf("missing document: exit %d, %q", code, errOut)
	}
}

func TestDotSVG(t *testing.T) {
	if _, err := lookDot(); err == nil {
		code, out, errOut := runCmd("dot", "--svg", routingDoc)
		if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "voicemail") {
			t.Errorf("--svg: exit %d, stderr %q, %d bytes", code, errOut, len(out))
		}
	} else {
		t.Logf("Graphviz's dot not installed (%v): only the message is checked", err)
	}
	saved := lookDot
	t.Cleanup(func() { lookDot = saved })
	lookDot = func() (string, error) { return "", errors.New(`exec: "dot": executable file not found in $PATH`) }
	code, out, errOut := runCmd("dot", "--svg", routingDoc)
	if code != 1 || out != "" || !strings.Contains(errOut, "apt-get install graphviz") {
		t.Errorf("--svg without dot: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A session of a real engine, checkpointed into a real Redis, is drawn
// with its configuration highlighted.
func TestDotSession(t *testing.T) {
	srv := redistest.Standalone(t)
	cfg := writeConfig(t, "dottest", "n1", []string{srv.Addr})
	node := startNode(t, cfg)
	id := node.start(t, routingDoc, frenchCall...)
	code, out, errOut := runCmd("dot", routingDoc, "--session", id, "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "session "+id) {
		t.Error("title does not name the session")
	}
	// s7 is french, s8 general (document order).
	for _, l := range strings.Split(out, "\n") {
		active := strings.Contains(l, "#ffd966")
		switch {
		case strings.Contains(l, "<b>french</b>") && !active:
			t.Errorf("french not highlighted: %s", l)
		case strings.Contains(l, "<b>general</b>") && active:
			t.Errorf("general highlighted: %s", l)
		}
	}
	if code, _, errOut := runCmd("dot", "../fixtures/testdata/routing/queue_routing.scxml", "--session", id, "--config", cfg); code != 1 || !strings.Contains(errOut, "runs document") {
		t.Errorf("other document: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd("dot", routingDoc, "--session", "n1-nope", "--config", cfg); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown session: exit %d, %q", code, errOut)
	}
}
