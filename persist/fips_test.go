package persist

import (
	"bytes"
	"context"
	"crypto/fips140"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestFIPSPrimitives runs sealing, key hashing and then a whole store
// (fips-enabled, TLS to a real Redis, sealed records, hashed keys) in a
// child process under GODEBUG=fips140=only, where Go's FIPS 140-3 module
// refuses every algorithm that is not approved: they use only approved
// ones (AES-256-GCM with a module-generated nonce, HMAC-SHA-256, TLS with
// approved suites and curves).
func TestFIPSPrimitives(t *testing.T) {
	if os.Getenv("ORSTEST_FIPS_CHILD") == "1" {
		if !fips140.Enabled() {
			t.Fatal("child not in FIPS mode")
		}
		s := mustSealer(t, SealerOptions{Key: testKey(1), OldKeys: [][]byte{testKey(2)}})
		plain, err := encodeRecord(&Record{SessionID: "s1", Seq: 1, Data: []byte("data")})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.open("k", "s1", s.seal("k", plain))
		if err != nil || !bytes.Equal(b, plain) {
			t.Fatalf("seal/open in FIPS mode: %v", err)
		}
		st, err := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), RedisOptions{Cluster: "c", KeyHash: testKey(3), SweepInterval: NoSweep})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if m := st.member("s1"); len(m) != hashedIDLen {
			t.Fatalf("member %q", m)
		}
		// The whole store: fips-enabled, over TLS to the parent's server,
		// sealed records, hashed keys.
		sections := redisSections(os.Getenv("ORSTEST_FIPS_ADDR"))
		p := sections["persistence"]
		p["tls-enabled"], p["tls-cacert"], p["tls-cert"], p["tls-key"] = "true", os.Getenv("ORSTEST_FIPS_CA"), os.Getenv("ORSTEST_FIPS_CERT"), os.Getenv("ORSTEST_FIPS_KEY")
		p["encryption-key"], p["hash-session-keys"], p["hash-key"] = strings.Repeat("01", 32), "true", strings.Repeat("02", 32)
		sections["scxml"] = map[string]string{"fips-enabled": "true"}
		store, err := Open(context.Background(), openConfig(t, sections))
		if err != nil {
			t.Fatalf("Open in FIPS mode: %v", err)
		}
		saveLoad(t, store)
		store.Close()
		fmt.Println("FIPS-CHILD-OK")
		return
	}
	pki := redistest.NewPKI(t)
	srv := redistest.Standalone(t, redistest.WithTLS(pki))
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSPrimitives$", "-test.v")
	cmd.Env = append(os.Environ(), "ORSTEST_FIPS_CHILD=1", "GODEBUG=fips140=only", "ORSTEST_FIPS_ADDR="+srv.Addr,
		"ORSTEST_FIPS_CA="+pki.CACert, "ORSTEST_FIPS_CERT="+pki.ClientCert, "ORSTEST_FIPS_KEY="+pki.ClientKey)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "FIPS-CHILD-OK") {
		t.Fatalf("child with GODEBUG=fips140=only: %v\n%s", err, out)
	}
}
