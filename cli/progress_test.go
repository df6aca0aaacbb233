package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	p := &progress{label: "replay", total: 400}
	for _, c := range []struct {
		done    int64
		elapsed time.Duration
		want    string
	}{
		{0, 0, "replay  0/400  0%  ETA -"},
		{100, 10 * time.Second, "replay  100/400  25%  10/s  ETA 30s"},
		{400, 2 * time.Second, "replay  400/400  100%  200/s  ETA 0s"},
	} {
		if got := p.line(c.done, c.elapsed); got != c.want {
			t.Errorf("line(%d, %v) = %q, want %q", c.done, c.elapsed, got, c.want)
		}
	}
	p = &progress{label: "bench: sending", total: 10_000_000}
	if got := p.line(2_500_000, time.Second); got != "bench: sending  2500000/10000000  25%  2.5M/s  ETA 3s" {
		t.Errorf("got %q", got)
	}
	var nilp *progress
	nilp.Stop() // drawing nothing, stopping nothing
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, w := range []io.Writer{&bytes.Buffer{}, f, null} {
		if isTerminal(w) {
			t.Errorf("%T %v taken for a terminal", w, w)
		}
	}
	if zero, err := os.Open("/dev/zero"); err == nil { // a character device, as a terminal is
		defer zero.Close()
		if !isTerminal(zero) {
			t.Error("/dev/zero is a character device, not taken for one")
		}
	}
}

// pretendTerminal makes the commands take any stdout for a terminal and
// redraw progress every millisecond.
func pretendTerminal(t *testing.T) {
	savedT, savedI := isTerminal, progressInterval
	t.Cleanup(func() { isTerminal, progressInterval = savedT, savedI })
	isTerminal = func(io.Writer) bool { return true }
	progressInterval = time.Millisecond
}

func TestReplayProgress(t *testing.T) {
	dir := "../fixtures/testdata/routing"
	// Not a terminal: the output is the results, line by line, and
	// stderr stays empty.
	code, out, errOut := runCmd("replay", "--parallel", "1", dir)
	if code != 0 || errOut != "" || !strings.Contains(out, "passed, 0 failed") {
		t.Fatalf("replay to a pipe: exit %d, stderr %q\n%s", code, errOut, out)
	}
	pretendTerminal(t)
	code, out2, errOut := runCmd("replay", "--parallel", "1", dir)
	if code != 0 || out2 != out {
		t.Fatalf("replay on a terminal: exit %d; stdout differs:\n%s", code, out2)
	}
	if !strings.Contains(errOut, "\rreplay  ") || !strings.Contains(errOut, "ETA") || !strings.HasSuffix(errOut, "\r\x1b[K") {
		t.Errorf("replay on a terminal: progress %q", errOut)
	}
	if _, _, errOut := runCmd("replay", "--json", "--parallel", "1", dir); errOut != "" {
		t.Errorf("replay --json on a terminal drew progress: %q", errOut)
	}
}

func TestBenchProgress(t *testing.T) {
	args := append([]string{"bench", routingDoc, "--sessions", "20", "--events", "200"}, routingArgs...)
	pretendTerminal(t)
	code, out, errOut := runCmd(args...)
	if code != 0 || !strings.Contains(out, "macrosteps/s") {
		t.Fatalf("bench: exit %d, %s", code, errOut)
	}
	if !strings.Contains(errOut, "\rbench  ") || !strings.Contains(errOut, "ETA") || !strings.HasSuffix(errOut, "\r\x1b[K") {
		t.Errorf("bench on a terminal: progress %q", errOut)
	}
	if code, _, errOut := runCmd(append(args, "--json")...); code != 0 || errOut != "" {
		t.Errorf("bench --json on a terminal: exit %d, stderr %q", code, errOut)
	}
}
