package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/scxml"
)

// Every src goes through Options.Loader: <invoke src> when it runs,
// <data src> when ParseOptions parses.
func TestLoader(t *testing.T) {
	files := map[string]string{
		"mem:child": `<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="c"><final id="c"/></scxml>`,
		"mem:data":  `{"tier": "gold"}`,
	}
	var mu sync.Mutex
	var asked []string
	e, err := engine.New(engine.Options{Loader: func(doc, src string) ([]byte, string, error) {
		mu.Lock()
		asked = append(asked, doc+"|"+src)
		mu.Unlock()
		if body, ok := files[src]; ok {
			return []byte(body), src, nil
		}
		return nil, "", os.ErrNotExist
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel><data id="cust" src="mem:data"/></datamodel>
  <state id="s">
    <invoke type="scxml" src="mem:child"/>
    <transition event="done.invoke" cond="cust.tier == 'gold'" target="ok"/>
  </state>
  <final id="ok"/>
</scxml>`), e.ParseOptions("parent.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Start(context.Background(), doc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	if s.Final() != "ok" {
		t.Fatalf("final %q, configuration %v", s.Final(), s.Configuration())
	}
	if want := []string{"|mem:data", "parent.scxml|mem:child"}; strings.Join(asked, " ") != strings.Join(want, " ") {
		t.Fatalf("loader asked %q, want %q", asked, want)
	}
}

func TestFileLoader(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.scxml"), []byte("<x/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.scxml"), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	l := engine.FileLoader("", 50)
	if data, name, err := l(filepath.Join(dir, "main.scxml"), "small.scxml"); err != nil || string(data) != "<x/>" || name != filepath.Join(dir, "small.scxml") {
		t.Fatalf("small: %q %q %v", data, name, err)
	}
	if _, _, err := engine.FileLoader(dir, 50)("elsewhere/main.scxml", "file:small.scxml"); err != nil {
		t.Fatalf("relative to base: %v", err)
	}
	for _, src := range []string{"big.scxml", "http://example.com/x.scxml", "missing.scxml"} {
		if _, _, err := l(filepath.Join(dir, "main.scxml"), src); !errors.Is(err, engine.ErrLoad) {
			t.Errorf("%s: %v, want ErrLoad", src, err)
		}
	}
}
