// Package cli is the scxml command line: it validates, runs, replays
// and benchmarks SCXML documents with the engine, inspects and draws
// persisted sessions, and runs a node. cmd/scxml is Main; a program that
// embeds the command line with extensions of its own registers them with
// RegisterExtension and calls Main:
//
//	func main() {
//		cli.RegisterExtension("acd", func() *engine.Extension { return myACD.Extension() })
//		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
//	}
//
// The commands:
//
//	scxml validate DOC...
//	scxml run DOC [--event NAME[=JSON]]... [--config FILE]
//	scxml replay [--json] PATH...
//	scxml bench DOC --event NAME [--sessions N] [--events M] [--store memory|redis] [--config FILE] [--concurrency N] [--hibernate-after D [--wave N]] [--json]
//	scxml rekey --config FILE [--dry-run] [--check-retired KEY]...
//	scxml dot DOC [--session ID --config FILE] [--svg]
//	scxml inspect --config FILE [--node NODE | --session ID | --delete ID]
//	scxml serve [--config FILE] [--listen ADDR] [--documents DIR] [--role primary|backup] [--node-id ID]
package cli

import (
	"fmt"
	"io"
)

const usage = `usage:
  scxml validate [EXT] DOC...                report every problem as file:line:col
  scxml run [EXT] DOC [--event NAME[=JSON]]... [--wait D] [--config FILE]
                                             run DOC, print the configuration after each macrostep
                                             (--config: checkpoint into that store, as a node does)
  scxml replay [--json] [--timeout D] [--restore-every-step] [--expect FILE] [--parallel N] PATH...
                                             replay fixtures and W3C tests (files or directories)
  scxml bench [EXT] DOC --event NAME[=JSON]... [--setup NAME[=JSON]]... [--sessions N] [--events M]
              [--store memory|redis] [--config FILE] [--concurrency N] [--hibernate-after D [--wave N]] [--json]
                                             measure a node: macrosteps/s, Send and checkpoint latency, CPU
                                             (this process's and Redis's), allocations, heap per session
  scxml rekey --config FILE [--dry-run] [--check-retired KEY]...
                                             seal every Redis record with the current encryption-key
  scxml dot DOC [--session ID --config FILE] [--svg] [--lr] [-o FILE]
                                             draw DOC as Graphviz DOT (or SVG), a persisted session's states highlighted
  scxml inspect --config FILE [--json] [--doc PATH]... [--node NODE | --session ID | --delete ID [--yes]]
                                             look at the sessions persisted in Redis (read-only but --delete)
  scxml serve [--config FILE] [--listen ADDR] [--documents DIR[,DIR]] [--role primary|backup] [--node-id ID]
                                             run a node: the session HTTP API (/scxml/session/...), /admin/...
where EXT is [--ext NAME]... [--queue GROUP=AGENT[,AGENT...]]... [--ignore-unknown-actions]
(built-in extensions: queue). "scxml COMMAND --help" describes every flag of COMMAND.
`

// Main runs the command line with args (without the program's name) and
// returns the exit status: 0 on success, 1 when the command failed, 2 on
// a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, stdout, stderr)
}

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
	case "rekey":
		return cmdRekey(rest, stdout, stderr)
	case "dot":
		return cmdDot(rest, stdout, stderr)
	case "inspect":
		return cmdInspect(rest, stdout, stderr)
	case "serve":
		return cmdServe(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "scxml: unknown command %q\n%s", cmd, usage)
		return 2
	}
}
