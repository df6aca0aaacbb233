package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	engine "github.com/orsgo/engine"
)

const validateUsage = "scxml validate [--ext NAME]... [--queue GROUP=AGENTS]... [--ignore-unknown-actions] DOC..."

// cmdValidate reports what run would reject (a document that does not
// parse, custom elements no loaded extension runs) and, beyond it, the
// expressions and scripts that do not compile, which run would only meet
// as error.execution when they run.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var x extFlags
	x.register(fs)
	// Flags may follow the documents.
	var docs []string
	for len(args) > 0 {
		if status, done := parseFlags(fs, args, stdout, validateUsage); done {
			return status
		}
		if fs.NArg() == 0 {
			break
		}
		docs, args = append(docs, fs.Arg(0)), fs.Args()[1:]
	}
	if len(docs) == 0 {
		fmt.Fprintln(stderr, "scxml validate: no document given")
		return 2
	}
	opts, err := x.engineOptions()
	if err != nil {
		fmt.Fprintln(stderr, "scxml validate:", err)
		return 2
	}
	eng, err := engine.New(opts)
	if err != nil {
		fmt.Fprintln(stderr, "scxml validate:", err)
		return 2
	}
	defer eng.Close()
	status := 0
	for _, path := range docs {
		doc, err := x.parse(path)
		if err == nil {
			m, cerr := eng.Compile(doc)
			err = cerr
			if err == nil {
				err = errors.Join(m.ScriptErrors()...)
			}
		}
		if err != nil {
			fmt.Fprintln(stdout, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return status
}
