package interp_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The interpreter and its datamodels are deterministic: no file, network
// or process access, no wall clock, no goroutines. Time and events come
// in through calls; effects go out as data (see doc.go). This test keeps
// it so: the engine, not the core, owns I/O.
func TestCoreIsPure(t *testing.T) {
	forbiddenImports := map[string]bool{
		"os": true, "os/exec": true, "net": true, "net/http": true, "io/fs": true,
		"path/filepath": true, "syscall": true, "github.com/redis/go-redis/v9": true,
	}
	forbiddenCalls := map[string]bool{
		"time.Now": true, "time.Sleep": true, "time.After": true, "time.AfterFunc": true,
		"time.NewTimer": true, "time.NewTicker": true, "time.Since": true, "time.Until": true,
	}
	dirs := []string{".", "snapshot", "../datamodel", "../datamodel/ecmascript", "../datamodel/null"}
	files := 0
	for _, dir := range dirs {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			files++
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); forbiddenImports[p] {
					t.Errorf("%s: imports %s", fset.Position(imp.Pos()), p)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					t.Errorf("%s: starts a goroutine", fset.Position(n.Pos()))
				case *ast.SelectorExpr:
					if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
						t.Errorf("%s: uses %s.%s", fset.Position(n.Pos()), id.Name, n.Sel.Name)
					}
				}
				return true
			})
		}
	}
	if files < 20 {
		t.Fatalf("only %d source files checked: the directories moved?", files)
	}
}
