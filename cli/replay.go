package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/fixtures"
)

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per test")
	timeout := fs.Duration("timeout", 10*time.Second, "wall-time limit per test")
	restore := fs.Bool("restore-every-step", false, "restore each session from its encoded snapshot after every macrostep")
	expectPath := fs.String("expect", "", "expectations file (\"dir/file result reason\" lines): a result that matches its expectation is not a failure")
	parallel := fs.Int("parallel", 0, "tests run at once (default: GOMAXPROCS)")
	if status, done := parseFlags(fs, args, stdout, "scxml replay [--json] [--timeout D] [--restore-every-step] [--expect FILE] [--parallel N] PATH..."); done {
		return status
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "scxml replay: no path given")
		return 2
	}
	cases, err := fixtures.Discover(fs.Args()...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var exp fixtures.Expectations
	if *expectPath != "" {
		if exp, err = fixtures.LoadExpectations(*expectPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	opts := fixtures.RunOptions{Timeout: *timeout, Parallel: *parallel, RestoreEveryStep: *restore}
	var done atomic.Int64
	prog := startProgress(stderr, showProgress(stdout, *asJSON), "replay", int64(len(cases)), done.Load)
	results := runCases(context.Background(), cases, opts, &done)
	prog.Stop()
	passed, failed, expected := 0, 0, 0
	enc := json.NewEncoder(stdout)
	for _, r := range results {
		switch {
		case r.Result == fixtures.Pass:
			passed++
		case exp != nil && exp.Check(r) == "":
			expected++
		default:
			failed++
		}
		if *asJSON {
			_ = enc.Encode(r)
			continue
		}
		if r.Detail != "" {
			fmt.Fprintf(stdout, "%-7s %s: %s\n", r.Result, r.Test, r.Detail)
		} else {
			fmt.Fprintf(stdout, "%-7s %s\n", r.Result, r.Test)
		}
	}
	if exp != nil {
		for _, r := range results {
			if d := exp.Check(r); d != "" {
				fmt.Fprintf(stdout, "unexpected: %s: %s\n", r.Test, d)
				if r.Result == fixtures.Pass {
					failed++
				}
			}
		}
		fmt.Fprintf(stdout, "%d passed, %d failed (%d more did not pass, as %s expects)\n", passed, failed, expected, *expectPath)
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// runCases is fixtures.RunAll counting the cases done, for the progress
// line: opts.Parallel at a time (default GOMAXPROCS), results in the
// order of cases.
func runCases(ctx context.Context, cases []fixtures.Case, opts fixtures.RunOptions, done *atomic.Int64) []fixtures.Result {
	par := opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	results := make([]fixtures.Result, len(cases))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = fixtures.Run(ctx, c, opts)
			done.Add(1)
		}()
	}
	wg.Wait()
	return results
}
