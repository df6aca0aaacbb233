package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/server"
)

// cmdServe runs one engine node: scxml serve [--config FILE] [--listen
// ADDR] [--documents DIR[,DIR...]] [--role primary|backup] [--node-id ID].
// Flags override the file. Without --config the node keeps its
// checkpoints in memory ([persistence] type memory, node-id node1).
// SIGTERM or SIGINT drains it (package server) and it exits 0 (1 when
// the drain did not finish within [node] drain-timeout). The engine's log
// (the documents' <log> at level INFO, error events, failed checkpoints,
// sessions resumed) goes to stderr as slog text.
func cmdServe(args []string, stdout, stderr io.Writer) int {
	return serve(context.Background(), args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "ORS configuration file: [persistence], [orchestration] and [node] sections")
	listen := fs.String("listen", "", "HTTP listen address host:port, overrides [node] listen (default "+config.DefaultListen+")")
	docs := fs.String("documents", "", "directories or .scxml files served, ';' or ',' separated; overrides [node] documents")
	role := fs.String("role", "", "primary or backup; overrides [node] role (default primary)")
	nodeID := fs.String("node-id", "", "the node id, overrides [orchestration] node-id")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: scxml serve [--config FILE] [--listen ADDR] [--documents DIR[,DIR]] [--role primary|backup] [--node-id ID]")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scxml serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var cfg *config.Config
	node := config.NodeDefaults()
	if *cfgFile != "" {
		var err error
		if cfg, err = config.ParseFile(*cfgFile); err != nil {
			fmt.Fprintf(stderr, "scxml serve: %v\n", err)
			return 1
		}
		if node, err = config.ReadNodeFile(*cfgFile); err != nil {
			fmt.Fprintf(stderr, "scxml serve: %v\n", err)
			return 1
		}
	} else {
		cfg = config.Defaults()
		cfg.Persistence.Type = config.TypeMemory
		cfg.SessionIDWithNodeID = true
		cfg.Node = "node1"
	}
	for _, o := range []struct{ option, v string }{{"listen", *listen}, {"documents", *docs}, {"role", *role}} {
		if err := node.Override(o.option, o.v); err != nil {
			fmt.Fprintf(stderr, "scxml serve: --%s: %v\n", o.option, err)
			return 2
		}
	}
	if *nodeID != "" {
		if err := cfg.Set(config.SectionOrchestration, "node-id", *nodeID); err != nil {
			fmt.Fprintf(stderr, "scxml serve: --node-id: %v\n", err)
			return 2
		}
	}
	if err := errors.Join(cfg.Validate(), node.Validate()); err != nil {
		fmt.Fprintf(stderr, "scxml serve: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "scxml serve: "+format+"\n", a...) }
	// The engine's log (documents' <log>, error events, failed
	// checkpoints, sessions resumed) on stderr, as slog text.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.New(ctx, server.Options{Config: cfg, Node: node, Logf: logf, Engine: engine.Options{Logger: logger}})
	if err != nil {
		fmt.Fprintf(stderr, "scxml serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", node.Listen)
	if err != nil {
		srv.Close()
		fmt.Fprintf(stderr, "scxml serve: [node] listen: %v\n", err)
		return 1
	}
	// The address actually bound (port 0 picks one): tests read it.
	fmt.Fprintf(stdout, "listening on %s node %s role %s state %s\n", ln.Addr(), srv.Engine().Node(), node.Role, srv.State())
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "scxml serve: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "drained")
	return 0
}
