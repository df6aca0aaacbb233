package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/queue"
	"github.com/orsgo/engine/scxml"
)

// Extensions the command line can load into its engine (run, validate,
// bench): by name, a constructor given the --queue groups. A program that
// embeds the command line adds its own with RegisterExtension.
var (
	builtinsMu sync.Mutex
	builtins   = map[string]func(x *extFlags) *engine.Extension{
		queue.Name: func(x *extFlags) *engine.Extension { return queue.New(x.groups).Extension() },
	}
)

// ErrExtensionName is wrapped by RegisterExtension's error for a name that
// is empty or already registered.
var ErrExtensionName = errors.New("cli: extension name empty or already registered")

// RegisterExtension makes the extension that build returns loadable by
// run, validate and bench as --ext name. build is called once per command
// that loads it. Register before Main; a name already taken (queue is
// built in) is refused.
func RegisterExtension(name string, build func() *engine.Extension) error {
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	if name == "" || build == nil || builtins[name] != nil {
		return fmt.Errorf("cli: register extension %q: %w", name, ErrExtensionName)
	}
	builtins[name] = func(*extFlags) *engine.Extension { return build() }
	return nil
}

func builtin(name string) func(x *extFlags) *engine.Extension {
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	return builtins[name]
}

func builtinNames() []string {
	builtinsMu.Lock()
	defer builtinsMu.Unlock()
	return slices.Sorted(maps.Keys(builtins))
}

// extFlags are the flags that shape the engine of run, validate and
// bench: which extensions it loads and whether unknown custom elements
// are ignored.
type extFlags struct {
	names         listFlag
	groups        map[string][]string
	ignoreUnknown bool
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			*l = append(*l, n)
		}
	}
	return nil
}

// groupFlag is --queue GROUP=AGENT[,AGENT...].
type groupFlag struct{ x *extFlags }

func (g groupFlag) String() string { return "" }
func (g groupFlag) Set(v string) error {
	name, agents, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("--queue %q: want GROUP=AGENT[,AGENT...]", v)
	}
	if g.x.groups == nil {
		g.x.groups = map[string][]string{}
	}
	var ids listFlag
	_ = ids.Set(agents)
	g.x.groups[strings.TrimSpace(name)] = ids
	return nil
}

func (x *extFlags) register(fs *flag.FlagSet) {
	fs.Var(&x.names, "ext", fmt.Sprintf("load the built-in extension `NAME` (repeatable or comma-separated; built in: %s)", strings.Join(builtinNames(), ", ")))
	fs.Var(groupFlag{x}, "queue", "give the queue extension an agent group, `GROUP=AGENT[,AGENT...]`, all ready (repeatable; loads the queue extension)")
	fs.BoolVar(&x.ignoreUnknown, "ignore-unknown-actions", false, "let documents hold custom elements no loaded extension runs: they do nothing (engine.Options.IgnoreUnknownActions)")
}

// apply adds the chosen extensions to opts.
func (x *extFlags) apply(opts *engine.Options) error {
	names := slices.Clone([]string(x.names))
	if x.groups != nil {
		names = append(names, queue.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		mk := builtin(n)
		if mk == nil {
			return fmt.Errorf("--ext %q: no such extension (built in: %s)", n, strings.Join(builtinNames(), ", "))
		}
		opts.Extensions = append(opts.Extensions, mk(x))
	}
	opts.IgnoreUnknownActions = x.ignoreUnknown
	return nil
}

// engineOptions returns fresh engine options with the chosen extensions
// (made anew on each call: an extension serves one engine).
func (x *extFlags) engineOptions() (engine.Options, error) {
	var opts engine.Options
	err := x.apply(&opts)
	return opts, err
}

// parse parses a document as an engine with these extensions would: a
// custom element no loaded extension runs is an error naming its
// file:line:col, unless --ignore-unknown-actions.
func (x *extFlags) parse(path string) (*scxml.Document, error) {
	opts, err := x.engineOptions()
	if err != nil {
		return nil, err
	}
	known := map[[2]string]bool{}
	for _, ext := range opts.Extensions {
		for local := range ext.Actions {
			known[[2]string{ext.Namespace, local}] = true
		}
	}
	return scxml.ParseFile(path, &scxml.Options{
		File:          path,
		Custom:        func(ns, local string) bool { return known[[2]string{ns, local}] },
		IgnoreUnknown: opts.IgnoreUnknownActions,
	})
}

// parseFlags parses args with fs. -h or --help prints the command's usage
// and every flag on stdout: done is then true and status 0; a bad flag
// gives status 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, usage string) (status int, done bool) {
	fs.Usage = func() {} // the flag package would print it on stderr
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		out := fs.Output()
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", usage)
		fs.PrintDefaults()
		fs.SetOutput(out)
		return 0, true
	case err != nil:
		fmt.Fprintf(fs.Output(), "usage: %s (see --help)\n", usage)
		return 2, true
	}
	return 0, false
}

// parseDocFlags parses the arguments of a command that takes one document
// and flags before or after it. It returns the document's path, or done
// with the exit status: 0 after --help, 2 after a usage error (reported on
// fs's output) or when there is no document, or more than one.
func parseDocFlags(fs *flag.FlagSet, args []string, stdout io.Writer, usage string) (doc string, status int, done bool) {
	for len(args) > 0 {
		if status, done := parseFlags(fs, args, stdout, usage); done {
			return "", status, true
		}
		if fs.NArg() == 0 {
			break
		}
		if doc != "" {
			fmt.Fprintf(fs.Output(), "scxml %s: one document only (got %q and %q)\n", fs.Name(), doc, fs.Arg(0))
			return "", 2, true
		}
		doc, args = fs.Arg(0), fs.Args()[1:]
	}
	if doc == "" {
		fmt.Fprintf(fs.Output(), "scxml %s: no document given\n", fs.Name())
		return "", 2, true
	}
	return doc, 0, false
}
