package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "ors.ini")
	os.WriteFile(ini, []byte("[node]\nrole = backup\nlisten = nowhere\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--help"}, 0, "--documents"},
		{[]string{"--role", "leader", "--documents", "x"}, 1, `[node] role: "leader" is not one of primary, backup`},
		{[]string{}, 1, "[node] documents: at least one directory"},
		{[]string{"--documents", filepath.Join(dir, "none")}, 1, "[node] documents:"},
		{[]string{"--config", filepath.Join(dir, "missing.ini")}, 1, "missing.ini"},
		// The flag overrides the file's listen; the file's error names its line.
		{[]string{"--config", ini, "--documents", "x"}, 1, ini + `:3: [node] listen: "nowhere" is not host:port`},
		{[]string{"--config", ini, "--documents", "../server/testdata", "--listen", "bad"}, 1, `--listen: [node] listen: "bad"`},
		{[]string{"--node-id", "bad id!", "--documents", "x"}, 1, `[orchestration] node-id: "bad id!"`},
		{[]string{"extra"}, 2, "unexpected argument"},
	} {
		var out, errb lockedBuffer
		code := serve(context.Background(), c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String()+errb.String(), c.msg) {
			t.Errorf("serve %q: exit %d, want %d with %q:\n%s%s", c.args, code, c.code, c.msg, out.String(), errb.String())
		}
	}
}

// TestServeRunsAndDrains runs serve in process on the in-memory store:
// it answers the API, and returns 0 once its context ends.
func TestServeRunsAndDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- serve(ctx, []string{"--listen", "127.0.0.1:0", "--documents", "../server/testdata", "--node-id", "web1"}, &out, &errb)
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f := strings.Fields(out.String()); len(f) > 2 {
			addr = f[2]
		}
	}
	if addr == "" {
		t.Fatalf("no address: %s %s", out.String(), errb.String())
	}
	resp, err := http.Post("http://"+addr+"/scxml/session/start", "application/json", strings.NewReader(`{"src": "routing"}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(b.String(), "-web1") {
		t.Fatalf("start: %d %s", resp.StatusCode, b.String())
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "drained") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
}
