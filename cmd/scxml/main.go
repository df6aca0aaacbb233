// Command scxml validates, runs, replays and benchmarks SCXML documents with
// the engine.
//
//	scxml validate DOC...
//	scxml run DOC [--event NAME[=JSON]]...
//	scxml replay [--json] PATH...
//	scxml bench DOC --event NAME [--sessions N] [--events M] [--store memory|redis] [--config FILE] [--concurrency N] [--hibernate-after D [--wave N]] [--json]
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  scxml validate DOC...                      report every problem as file:line:col
  scxml run DOC [--event NAME[=JSON]]...     run DOC, print the configuration after each macrostep
  scxml replay [--json] PATH...              replay fixtures and W3C tests (files or directories)
  scxml bench DOC --event NAME[=JSON]... [--setup NAME[=JSON]]... [--sessions N] [--events M]
              [--store memory|redis] [--config FILE] [--concurrency N] [--hibernate-after D [--wave N]] [--json]
                                             measure a node: macrosteps/s, Send and checkpoint latency, CPU
                                             (this process's and Redis's), allocations, heap per session
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "replay":
		return cmdReplay(rest, stdout, stderr)
	case "bench":
		return cmdBench(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "scxml: unknown command %q\n%s", cmd, usage)
		return 2
	}
}
