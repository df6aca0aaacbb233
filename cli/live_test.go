package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/queue"
	"github.com/orsgo/engine/scxml"
)

// liveNode is a real engine checkpointing into real Redis servers, as a
// routing node does, for the commands that read what it wrote. Its
// clock is manual: delayed sends stay pending until a test advances it.
type liveNode struct {
	cfgPath string
	eng     *engine.Engine
	clock   *engine.ManualClock
}

// writeConfig writes an ors.ini for the Redis servers at addrs.
func writeConfig(t *testing.T, cluster, node string, addrs []string) string {
	t.Helper()
	return writeConfigTTL(t, cluster, node, addrs, time.Hour)
}

// writeConfigTTL is writeConfig with the given session-ttl.
func writeConfigTTL(t *testing.T, cluster, node string, addrs []string, ttl time.Duration, persistence ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ors.ini")
	ini := fmt.Sprintf("[persistence]\ntype = redis\nredis-nodes = %s\nsession-ttl = %d\n[orchestration]\ncluster-name = %s\nsessionid-with-nodeid = true\nnode-id = %s\n",
		strings.Join(addrs, ";")+"\n"+strings.Join(persistence, "\n"), int(ttl.Seconds()), cluster, node)
	if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNode opens an engine from the configuration at cfgPath (engine.Open,
// persist.Open underneath), with the queue extension the routing
// fixtures use. The engine is closed at the end of the test, leaving the
// records of its live sessions in Redis as a failed node would.
func startNode(t *testing.T, cfgPath string) *liveNode {
	t.Helper()
	return startNodeOpts(t, cfgPath, engine.Options{})
}

// startNodeOpts is startNode with options (the clock and extensions are
// startNode's).
func startNodeOpts(t *testing.T, cfgPath string, opts engine.Options) *liveNode {
	t.Helper()
	cfg, err := config.ParseFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Now().Truncate(time.Millisecond))
	opts.Clock = clock
	opts.Extensions = []*engine.Extension{queue.New(map[string][]string{"VIP_Agents": {}, "Agents": {}}).Extension()}
	eng, err := engine.Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &liveNode{cfgPath: cfgPath, eng: eng, clock: clock}
}

// start starts a session of the document at path and sends it events, in
// order; it returns the session's id.
func (n *liveNode) start(t *testing.T, path string, events ...engine.Event) string {
	t.Helper()
	doc, err := scxml.ParseFile(path, n.eng.ParseOptions(path))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := n.eng.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatalf("send %s: %v", ev.Name, err)
		}
	}
	// Events posted on the engine's goroutines (the queue extension's,
	// an invoked child's) are processed, and checkpointed, before the
	// test reads the store.
	if err := n.eng.Quiesce(ctx); err != nil {
		t.Fatal(err)
	}
	return s.ID()
}

// frenchCall is a call routed to the French agents, waiting for a target:
// in_call, routing, french, with the queue timeout (30 s) pending.
var frenchCall = []engine.Event{
	{Name: "call.arrived", Data: map[string]any{"ani": "+33142000000", "dnis": "8000", "language": "fr"}},
	{Name: "lookup.done", Data: map[string]any{"segment": "standard"}},
}
