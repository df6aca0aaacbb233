package engine_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// exampleLink is a link of docs/embedding.md to an Example function:
// [`pkg.ExampleName`](../dir/file_test.go).
var exampleLink = regexp.MustCompile("\\[`(?:([a-z]+)\\.)?(Example[A-Za-z0-9_]*)`\\]\\(\\.\\./([^)]+)\\)")

// exampleFuncs returns the Example functions declared in the Go file at
// path.
func exampleFuncs(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
			out = append(out, fn.Name.Name)
		}
	}
	return out
}

// TestEmbeddingGuide keeps docs/embedding.md and the Examples in step:
// every Example the guide links to is declared in the file it names, and
// every Example of the engine package is in the guide.
func TestEmbeddingGuide(t *testing.T) {
	guide, err := os.ReadFile("docs/embedding.md")
	if err != nil {
		t.Fatal(err)
	}
	links := exampleLink.FindAllStringSubmatch(string(guide), -1)
	if len(links) < 20 {
		t.Fatalf("docs/embedding.md links to %d Examples: the link pattern no longer matches the page?", len(links))
	}
	named := map[string]bool{}
	for _, l := range links {
		pkg, name, file := l[1], l[2], l[3]
		if pkg == "" {
			named[name] = true
		}
		if dir := filepath.Dir(file); pkg != "" && filepath.Base(dir) != pkg {
			t.Errorf("docs/embedding.md: %s.%s links to %s, not in package %s", pkg, name, file, pkg)
		}
		if !slices.Contains(exampleFuncs(t, file), name) {
			t.Errorf("docs/embedding.md: %s is not declared in %s", name, file)
		}
	}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		for _, name := range exampleFuncs(t, file) {
			if !named[name] {
				t.Errorf("%s (%s) is not in docs/embedding.md", name, file)
			}
		}
	}
}
