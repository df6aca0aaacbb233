package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/redis/go-redis/v9"
)

func TestRekey(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	const (
		oldKey = "1111111111111111111111111111111111111111111111111111111111111111"
		newKey = "2222222222222222222222222222222222222222222222222222222222222222"
	)
	dir := t.TempDir()
	writeConfig := func(name, persistence string) string {
		path := filepath.Join(dir, name)
		ini := "[orchestration]\nsessionid-with-nodeid = true\nnode-id = n1\ncluster-name = rekeytest\n" +
			"[persistence]\ntype = redis\nredis-nodes = " + srv.Addr + "\n" + persistence
		if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldCfg := writeConfig("old.ini", "encryption-key = "+oldKey+"\n")
	t.Setenv("ORSTEST_OLD_KEY", oldKey)
	newCfg := writeConfig("new.ini", "encryption-key = "+newKey+"\nencryption-old-keys = env:ORSTEST_OLD_KEY\n")

	// Records sealed under the old key, by a node configured with it.
	cfg, err := config.ParseFile(oldCfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := persist.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := st.Save(ctx, &persist.Record{SessionID: id, Node: "n1", Seq: 1, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	rekey := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"rekey"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	oldID := strings.Split(strings.TrimSpace(strings.SplitN(mustRun(t, rekey, 0, "--config", oldCfg, "--dry-run"), "under key ", 2)[1]), "\n")[0]
	if len(oldID) != 8 {
		t.Fatalf("old key id %q", oldID)
	}
	// Before: the old key cannot be retired.
	out := mustRun(t, rekey, 1, "--config", newCfg, "--dry-run", "--check-retired", "env:ORSTEST_OLD_KEY")
	if !strings.Contains(out, "check: 3 records remain under key "+oldID) {
		t.Fatalf("dry run:\n%s", out)
	}
	// Rekey, and check by key and by key id.
	out = mustRun(t, rekey, 0, "--config", newCfg, "--check-retired", oldKey, "--check-retired", oldID)
	if !strings.Contains(out, "found 3 records: 3 under key "+oldID) || !strings.Contains(out, "rewrote 3 (key ") ||
		strings.Count(out, "check: no record remains under key "+oldID) != 2 {
		t.Fatalf("rekey:\n%s", out)
	}
	if strings.Contains(out, oldKey) || strings.Contains(out, newKey) {
		t.Fatalf("output prints a key:\n%s", out)
	}
	// A record that does not open is reported, and fails the run.
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	keys, err := persist.NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}), persist.RedisOptions{Cluster: "rekeytest", SweepInterval: persist.NoSweep})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	raw.Set(ctx, keys.SessionKey("b"), mustGet(t, raw, keys.SessionKey("a")), time.Hour)
	thirdCfg := writeConfig("third.ini", "encryption-key = "+strings.Repeat("3", 64)+"\nencryption-old-keys = "+newKey+"\n")
	out = mustRun(t, rekey, 1, "--config", thirdCfg)
	if !strings.Contains(out, "rewrote 2 (key ") || !strings.Contains(out, "error: "+keys.SessionKey("b")+": session b: ") || !strings.Contains(out, "fails authentication") {
		t.Fatalf("tampered record:\n%s", out)
	}
	// Usage errors.
	mustRun(t, rekey, 2)
	mustRun(t, rekey, 2, "--config", newCfg, "--check-retired", "abc")
	mustRun(t, rekey, 0, "--help")
}

func mustRun(t *testing.T, f func(...string) (int, string), want int, args ...string) string {
	t.Helper()
	code, out := f(args...)
	if code != want {
		t.Fatalf("scxml rekey %v: exit %d, want %d\n%s", args, code, want, out)
	}
	return out
}

func mustGet(t *testing.T, c *redis.Client, key string) []byte {
	b, err := c.Get(context.Background(), key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
