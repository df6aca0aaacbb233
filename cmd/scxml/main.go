// Command scxml validates, runs, replays and benchmarks SCXML documents
// with the engine, inspects and draws persisted sessions, rewrites their
// encryption and runs a node (scxml serve). It is package cli's Main;
// "scxml help" lists the commands.
package main

import (
	"os"

	"github.com/orsgo/engine/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
