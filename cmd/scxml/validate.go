package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/orsgo/engine/scxml"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "scxml validate: no document given")
		return 2
	}
	status := 0
	for _, path := range fs.Args() {
		if _, err := scxml.ParseFile(path, nil); err != nil {
			fmt.Fprintln(stdout, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return status
}
