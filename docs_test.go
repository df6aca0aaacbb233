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

// TestEngineOptionsReference: every field of engine.Options is in the
// Go table of docs/configuration.md, and the table names no other.
func TestEngineOptionsReference(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "engine.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Options" {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			for _, name := range fl.Names {
				if name.IsExported() {
					fields[name.Name] = true
				}
			}
		}
		return false
	})
	if len(fields) < 10 {
		t.Fatalf("engine.Options has %d exported fields: not found in engine.go?", len(fields))
	}
	b, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "## `engine.Options` (Go)")
	if !ok {
		t.Fatal("docs/configuration.md: no section \"## `engine.Options` (Go)\"")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([A-Z][A-Za-z]*)` \\|([^|]*)\\|([^|]*)\\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
		if strings.TrimSpace(m[2]) == "" || strings.TrimSpace(m[3]) == "" {
			t.Errorf("docs/configuration.md: engine.Options.%s: no default or meaning", m[1])
		}
	}
	for name := range fields {
		if !documented[name] {
			t.Errorf("engine.Options.%s is not in docs/configuration.md", name)
		}
	}
	for name := range documented {
		if !fields[name] {
			t.Errorf("docs/configuration.md lists engine.Options.%s, which does not exist", name)
		}
	}
}
