package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/fixtures"
	"github.com/orsgo/engine/scxml"
)

// The W3C IRP suite is replayed on every `go test ./...`. Each test's
// expected result is recorded in testdata/w3c-expectations.txt with the
// reason for every result other than pass; a test whose result differs from
// its expectation, in either direction, fails the build, so the file always
// tells the truth about conformance.

const expectationsFile = "testdata/w3c-expectations.txt"

// w3cDir finds the suite: $SCXML_W3C_DIR, or ../shared/w3c beside the
// checkout. Outside CI a missing suite skips; with CI=true it fails.
func w3cDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCXML_W3C_DIR")
	if dir == "" {
		dir = filepath.Join("..", "shared", "w3c")
	}
	if _, err := os.Stat(filepath.Join(dir, "ecma")); err != nil {
		msg := fmt.Sprintf("W3C IRP suite not found at %s (%v): put the suite's ecma/ and null/ folders "+
			"there, or set SCXML_W3C_DIR to where they are", dir, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func loadExpectations(t *testing.T) fixtures.Expectations {
	t.Helper()
	exp, err := fixtures.LoadExpectations(expectationsFile)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func TestW3C(t *testing.T) { testW3C(t, false) }

// TestW3CRestoreEveryStep replays the suite with every session restored
// from its encoded snapshot after each macrostep: the same results prove
// that checkpoints capture everything a session needs.
func TestW3CRestoreEveryStep(t *testing.T) { testW3C(t, true) }

func testW3C(t *testing.T, restore bool) {
	dir := w3cDir(t)
	exp := loadExpectations(t)
	cases, err := fixtures.Discover(filepath.Join(dir, "ecma"), filepath.Join(dir, "null"))
	if err != nil {
		t.Fatal(err)
	}
	results := fixtures.RunAll(context.Background(), cases, fixtures.RunOptions{Timeout: 20 * time.Second, RestoreEveryStep: restore})
	seen := map[string]bool{}
	counts := map[string]int{}
	for _, r := range results {
		name := fixtures.Key(r.Test)
		seen[name] = true
		counts[r.Result]++
		e, ok := exp[name]
		switch {
		case !ok:
			t.Errorf("%s: %s (%s) but not in %s: add it", name, r.Result, r.Detail, expectationsFile)
		case e.Result != r.Result && r.Result == fixtures.Pass:
			t.Errorf("%s: passes now, but %s:%d expects %s (%s): update the file", name, expectationsFile, e.Line, e.Result, e.Reason)
		case e.Result != r.Result:
			t.Errorf("%s: %s: %s (expected %s at %s:%d)", name, r.Result, r.Detail, e.Result, expectationsFile, e.Line)
		}
	}
	var missing []string
	for name := range exp {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("%s is in %s but not in the suite", name, expectationsFile)
	}
	t.Logf("W3C suite: %d documents: %d pass, %d fail, %d error, %d timeout",
		len(results), counts[fixtures.Pass], counts[fixtures.Fail], counts[fixtures.Error], counts[fixtures.Timeout])
}

// TestW3CManifest checks the claims of the issue against the manifest:
// every mandatory automatic test is expected to pass.
func TestW3CManifest(t *testing.T) {
	dir := w3cDir(t)
	exp := loadExpectations(t)
	src, err := os.ReadFile(filepath.Join(dir, "manifest.xml"))
	if err != nil {
		t.Fatal(err)
	}
	mandatory := 0
	for _, chunk := range strings.Split(string(src), "<test ")[1:] {
		id := attrOf(chunk, "id")
		if attrOf(chunk, "conformance") != "mandatory" || attrOf(chunk, "manual") != "false" {
			continue
		}
		mandatory++
		// A test is one document, or several (403a, 403b, ...) that
		// must all pass.
		var names []string
		for _, sub := range []string{"ecma", "null"} {
			for _, suffix := range []string{"", "a", "b", "c", "d"} {
				name := sub + "/test" + id + suffix + ".scxml"
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					names = append(names, name)
				}
			}
		}
		if len(names) == 0 {
			t.Errorf("mandatory automatic test %s: no document in %s", id, dir)
		}
		for _, name := range names {
			if e, ok := exp[name]; !ok || e.Result != fixtures.Pass {
				t.Errorf("mandatory automatic test %s (%s) is expected to %s (%s)", id, name, e.Result, e.Reason)
			}
		}
	}
	if mandatory != 159 {
		t.Errorf("manifest lists %d mandatory automatic tests, want 159", mandatory)
	}
}

func attrOf(s, name string) string {
	i := strings.Index(s, name+`="`)
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+2:]
	return s[:strings.IndexByte(s, '"')]
}

// logRun runs a W3C document to its end on a manual clock and returns the
// <log> output as "label=value" lines, with the final state.
func logRun(t *testing.T, path string) (logs []string, final string) {
	t.Helper()
	doc, err := scxml.ParseFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	eng, err := engine.New(engine.Options{Clock: clock, Log: func(_ string, label string, v any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf("%s=%v", label, v))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(context.Background(), doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; s.Running() && i < 1000; i++ {
		next, ok := clock.Next()
		if !ok {
			break
		}
		clock.AdvanceTo(next)
	}
	return logs, s.Final()
}

// The manual tests, automated as far as their text allows.
func TestW3CManual(t *testing.T) {
	dir := filepath.Join(w3cDir(t), "ecma")
	t.Run("301 unloadable script rejects the document", func(t *testing.T) {
		_, err := scxml.ParseFile(filepath.Join(dir, "test301.scxml"), nil)
		if !errors.Is(err, scxml.ErrInvalid) || !strings.Contains(err.Error(), "test301.scxml:5:3:") {
			t.Fatalf("want a positioned rejection at 5:3, got %v", err)
		}
	})
	t.Run("415 halts in a top-level final state", func(t *testing.T) {
		logs, final := logRun(t, filepath.Join(dir, "test415.scxml"))
		if final != "final" {
			t.Fatalf("ended in %q, want \"final\" (logs %q)", final, logs)
		}
	})
	t.Run("250 a cancelled child runs its onexit handlers", func(t *testing.T) {
		logs, final := logRun(t, filepath.Join(dir, "test250.scxml"))
		joined := strings.Join(logs, "\n")
		if final != "final" || !strings.Contains(joined, "Exiting sub01") || !strings.Contains(joined, "Exiting sub0") {
			t.Fatalf("ended in %q with logs %q; want the child's onexit logs", final, logs)
		}
	})
	t.Run("230 an autoforwarded event keeps its fields", func(t *testing.T) {
		logs, final := logRun(t, filepath.Join(dir, "test230.scxml"))
		if final != "final" {
			t.Fatalf("ended in %q (logs %q)", final, logs)
		}
		// Parent and child log the same fields under the same labels.
		byLabel := map[string][]string{}
		for _, l := range logs {
			label, value, _ := strings.Cut(l, "=")
			byLabel[label] = append(byLabel[label], value)
		}
		compared := 0
		for label, vals := range byLabel {
			if !strings.HasPrefix(label, "name") && !strings.HasPrefix(label, "type") && !strings.HasPrefix(label, "sendid") &&
				!strings.HasPrefix(label, "origin") && !strings.HasPrefix(label, "invokeid") && !strings.HasPrefix(label, "data") {
				continue
			}
			if len(vals) != 2 || vals[0] != vals[1] {
				t.Errorf("%s: parent and child logged %q", label, vals)
			}
			compared++
		}
		if compared < 6 {
			t.Fatalf("compared %d fields, want 6 (logs %q)", compared, logs)
		}
	})
	t.Run("307 late binding: unbound and missing values log the same", func(t *testing.T) {
		logs, final := logRun(t, filepath.Join(dir, "test307.scxml"))
		if final != "final" {
			t.Fatalf("ended in %q (logs %q)", final, logs)
		}
		var values []string
		for _, l := range logs {
			if strings.HasPrefix(l, "entering s0") || strings.HasPrefix(l, "entering s1") {
				_, v, _ := strings.Cut(l, "=")
				values = append(values, v)
			}
		}
		if len(values) != 2 || values[0] != values[1] {
			t.Fatalf("want the same value logged twice, got %q", logs)
		}
	})
}
