package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
)

// eventFlags collects repeated --event NAME[=JSON] flags.
type eventFlags []engine.Event

func (f *eventFlags) String() string { return fmt.Sprint(len(*f)) }

func (f *eventFlags) Set(v string) error {
	name, data, hasData := strings.Cut(v, "=")
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("event %q: empty name", v)
	}
	ev := engine.Event{Name: name}
	if hasData {
		if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
			return fmt.Errorf("event %q: data is not JSON: %v", name, err)
		}
	}
	*f = append(*f, ev)
	return nil
}

const runUsage = "scxml run [--event NAME[=JSON]]... [--wait D] [--ext NAME]... [--queue GROUP=AGENTS]... [--ignore-unknown-actions] DOC"

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var events eventFlags
	fs.Var(&events, "event", "send event `NAME[=JSON]` (repeatable, in order)")
	wait := fs.Duration("wait", time.Hour, "after the last event, let delayed sends fire for up to this much (simulated) time")
	cfgPath := fs.String("config", "", "checkpoint into the store `FILE`'s [persistence] names; a session still running at exit keeps its record there (scxml inspect, scxml dot --session)")
	var x extFlags
	x.register(fs)
	doc, status, done := parseDocFlags(fs, args, stdout, runUsage)
	if done {
		return status
	}
	d, err := x.parse(doc)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	clock := engine.NewManualClock(time.Now().UTC().Truncate(time.Second))
	start := clock.Now()
	opts, err := x.engineOptions()
	if err != nil {
		fmt.Fprintln(stderr, "scxml run:", err)
		return 2
	}
	opts.Clock = clock
	opts.Log = func(_, label string, value any) {
		fmt.Fprintf(stdout, "log %s: %s\n", label, formatValue(value))
	}
	opts.OnError = func(_ string, ev *engine.Event, cause error) {
		fmt.Fprintf(stdout, "%s: %v\n", ev.Name, cause)
	}
	var eng *engine.Engine
	if *cfgPath != "" {
		eng, err = openWithConfig(*cfgPath, opts)
	} else {
		eng, err = engine.New(opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer eng.Close()
	ctx := context.Background()
	s, err := eng.Start(ctx, d, engine.StartOptions{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	show := func(what string) {
		_ = eng.Quiesce(ctx) // events an extension published meanwhile
		fmt.Fprintf(stdout, "[%s] %s -> %s\n", clock.Now().Sub(start), what, strings.Join(s.Configuration(), " "))
	}
	show("start")
	for _, ev := range events {
		if !s.Running() {
			break
		}
		if err := s.Send(ctx, ev); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		show(ev.Name)
	}
	limit := clock.Now().Add(*wait)
	for s.Running() {
		next, ok := clock.Next()
		if !ok || next.After(limit) {
			break
		}
		clock.AdvanceTo(next)
		show("timer")
	}
	if f := s.Final(); f != "" {
		fmt.Fprintf(stdout, "done in %s\n", f)
	} else if *cfgPath != "" && eng.Store() != nil {
		fmt.Fprintf(stdout, "session %s left running, its record in the store of %s\n", s.ID(), *cfgPath)
	}
	if err := s.Err(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func formatValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// openWithConfig opens an engine on the store and node the configuration
// file names (engine.Open).
func openWithConfig(path string, opts engine.Options) (*engine.Engine, error) {
	cfg, err := config.ParseFile(path)
	if err != nil {
		return nil, err
	}
	quietRedis()
	return engine.Open(context.Background(), cfg, opts)
}
