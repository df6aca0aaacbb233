package scxml

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: the parser never panics; what it accepts is a consistent
// model, what it rejects comes as positioned errors.
func FuzzParse(f *testing.F) {
	dir := os.Getenv("SCXML_W3C_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "w3c")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.scxml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(head + `><state id="a"><transition event="*" target="a"/></state></scxml>`))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := Parse(src, &Options{File: "f.scxml", ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, not an ErrorList", err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 {
					t.Fatalf("unpositioned error %v", e)
				}
			}
			return
		}
		for i, s := range doc.States {
			if s.Index != i || (s.Parent != nil && s.Depth != s.Parent.Depth+1) {
				t.Fatalf("state %q: index %d at %d", s.ID, s.Index, i)
			}
			if s.IsCompound() && (s.Initial == nil || len(s.Initial.Targets) == 0) {
				t.Fatalf("compound state %q without initial targets", s.ID)
			}
		}
		for _, tr := range doc.Transitions {
			for _, target := range tr.Targets {
				if target == nil {
					t.Fatal("nil target")
				}
			}
		}
	})
}
