package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
	"github.com/orsgo/engine/scxml/dot"
)

// graphvizHint says how to get Graphviz's dot, for --svg without it.
const graphvizHint = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or drop --svg and render the DOT text elsewhere"

// lookDot finds Graphviz's dot; a variable so that tests can hide it.
var lookDot = func() (string, error) { return exec.LookPath("dot") }

const dotUsage = "scxml dot DOC [--session ID --config FILE] [--svg] [--lr] [-o FILE]"

func cmdDot(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	session := fs.String("session", "", "highlight the active configuration of the persisted session `ID` (needs --config)")
	cfgPath := fs.String("config", "", "ORS configuration `FILE` ([persistence], [orchestration]) of the store holding --session")
	svg := fs.Bool("svg", false, "render SVG with Graphviz's dot instead of printing DOT")
	lr := fs.Bool("lr", false, "lay the chart out left to right")
	out := fs.String("o", "", "write to `FILE` instead of standard output")
	doc, status, done := parseDocFlags(fs, args, stdout, dotUsage)
	if done {
		return status
	}
	if (*session == "") != (*cfgPath == "") {
		fmt.Fprintln(stderr, "scxml dot: --session and --config go together (the session's record is read from the store --config names)")
		return 2
	}
	d, err := scxml.ParseFile(doc, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts := dot.Options{LeftToRight: *lr}
	if *session != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		active, err := persistedConfiguration(ctx, *cfgPath, *session, d)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "scxml dot: %v\n", err)
			return 1
		}
		opts.Active = active
		opts.Title = fmt.Sprintf("%s, session %s", docTitle(d), *session)
	}
	text, err := dot.Bytes(d, opts)
	if err != nil {
		fmt.Fprintf(stderr, "scxml dot: %v\n", err)
		return 1
	}
	if *svg {
		if text, err = renderSVG(text); err != nil {
			fmt.Fprintf(stderr, "scxml dot: %v\n", err)
			return 1
		}
	}
	if *out != "" {
		if err := os.WriteFile(*out, text, 0o644); err != nil {
			fmt.Fprintf(stderr, "scxml dot: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := stdout.Write(text); err != nil {
		fmt.Fprintf(stderr, "scxml dot: %v\n", err)
		return 1
	}
	return 0
}

func docTitle(d *scxml.Document) string {
	if d.Name != "" {
		return d.Name
	}
	return d.File
}

// renderSVG runs Graphviz's dot on a DOT text.
func renderSVG(text []byte) ([]byte, error) {
	path, err := lookDot()
	if err != nil {
		return nil, fmt.Errorf("--svg: Graphviz's dot is not installed (%v): %s", err, graphvizHint)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(text), &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("--svg: %s -Tsvg: %v: %s", path, err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}

// persistedConfiguration reads the record of session id from the store
// the configuration file describes and returns the ids of its active
// states, checking that the session runs d.
func persistedConfiguration(ctx context.Context, cfgPath, id string, d *scxml.Document) ([]string, error) {
	cfg, err := config.ParseFile(cfgPath)
	if err != nil {
		return nil, err
	}
	if cfg.Persistence.Type != config.TypeRedis {
		return nil, fmt.Errorf("--config %s: [persistence] type is %q: only a redis store outlives the process that wrote it", cfgPath, cfg.Persistence.Type)
	}
	quietRedis()
	st, err := persist.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rec, err := st.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.DocHash != d.Hash {
		return nil, fmt.Errorf("session %s runs document %q (sha256 %x…), not %s (sha256 %x…): %w", id, rec.Doc, rec.DocHash[:6], d.File, d.Hash[:6], errOtherDocument)
	}
	snap, err := decodeSnapshot(rec)
	if err != nil {
		return nil, err
	}
	return snapshotStates(d, id, snap.Configuration)
}

// errOtherDocument: the session's record was written by another document
// than the one given.
var errOtherDocument = errors.New("the session runs another document")

// snapshotStates maps a snapshot's configuration (state indices in
// document order) to state ids.
func snapshotStates(d *scxml.Document, id string, idx []int) ([]string, error) {
	ids := make([]string, 0, len(idx))
	for _, i := range idx {
		if i <= 0 || i >= len(d.States) {
			return nil, fmt.Errorf("session %s: configuration holds state index %d, the document has %d states: %w", id, i, len(d.States), persist.ErrCorrupt)
		}
		ids = append(ids, d.States[i].ID)
	}
	return ids, nil
}
