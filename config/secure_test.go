package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	key1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	key2 = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
)

func parse(t *testing.T, ini string) (*Config, error) {
	t.Helper()
	return Parse(strings.NewReader(ini), "ors.ini")
}

func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%v does not wrap ErrInvalid", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, w)
		}
	}
}

func TestSecurityOptions(t *testing.T) {
	c, err := parse(t, "[persistence]\ntls-min-version = 1.3\nencryption-key = "+key1+"\nencryption-old-keys = "+key2+"\n"+
		"encryption-accept-plaintext = true\nhash-session-keys = true\nhash-key = "+key2+"\n[scxml]\nfips-enabled = false\n")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Persistence
	cur, old := p.Encryption.Keys()
	if p.TLS.MinVersion != tls.VersionTLS13 || cur[0] != 0 || cur[31] != 0x1f || len(old) != 1 || old[0][0] != 0xa0 ||
		!p.Encryption.AcceptPlaintext || !p.HashSessionKeys || p.HashKeyBytes()[31] != 0xbf || c.FIPS {
		t.Errorf("parsed %+v", c)
	}

	for _, tc := range []struct{ ini, want string }{
		{"[persistence]\ntls-min-version = 1.1\n", `ors.ini:2: [persistence] tls-min-version: "1.1" is not 1.2 or 1.3`},
		{"[persistence]\nencryption-key = abc\n", `ors.ini:2: [persistence] encryption-key: 3 characters, want 64 hex digits (32 bytes; make one with: openssl rand -hex 32)`},
		{"[persistence]\nencryption-key = " + key1[:63] + "x\n", `[persistence] encryption-key: character 64 is not a hex digit`},
		{"[persistence]\nencryption-key = " + key1 + "\nencryption-old-keys = " + key2 + ";" + strings.ToLower(key2) + "," + key1 + ";zz\n",
			`ors.ini:3: [persistence] encryption-old-keys: key 2 is key 1 again; key 3 is encryption-key itself; key 4: 2 characters`},
		{"[persistence]\nencryption-accept-plaintext = true\n", `ors.ini:2: [persistence] encryption-accept-plaintext: set without encryption-key`},
		{"[persistence]\nhash-session-keys = true\n", `ors.ini:2: [persistence] hash-key: required when hash-session-keys is true`},
		{"[persistence]\nhash-key = 12\n", `[persistence] hash-key: 2 characters`},
		{"[persistence]\ntls-key-password = pw\n", `[persistence] tls-key-password: set without tls-key`},
		{"[persistance]\ntype = redis\n", `ors.ini:1: [persistance] unknown section (did you mean [persistence]?)`},
		{"[Orchestraton]\nnode-id = x\n", `ors.ini:1: [orchestraton] unknown section (did you mean [orchestration]?)`},
		{"[nodes]\nlisten = 127.0.0.1:1\n", `ors.ini:1: [nodes] unknown section (did you mean [node]?)`},
		{"[scxml]\nfips-enable = true\n", `ors.ini:2: [scxml] fips-enable: unknown option (did you mean fips-enabled?)`},
	} {
		_, err := parse(t, tc.ini)
		wantErr(t, err, tc.want)
		if err != nil && strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%q: more than one error:\n%v", tc.ini, err)
		}
	}
	// A section name unrelated to ours is someone else's; ORS's other
	// [scxml] options are not ours to check.
	if _, err := parse(t, "[log]\nverbose = all\n[scxml]\nmax-microstep-count = 1000\n"); err != nil {
		t.Errorf("foreign options: %v", err)
	}
	if _, err := FromMap(map[string]map[string]string{"persistance": {"type": "redis"}}); err == nil ||
		!strings.Contains(err.Error(), "[persistance] unknown section (did you mean [persistence]?)") {
		t.Errorf("FromMap misspelt section: %v", err)
	}
}

func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORSTEST_KEY", key1)
	t.Setenv("ORSTEST_EMPTY", "")
	c, err := parse(t, "[persistence]\nusername = ors\npassword = file:"+pwFile+"\nencryption-key = env:ORSTEST_KEY\nencryption-old-keys = env:ORSTEST_KEY2_UNSET_OK_NOT\n")
	wantErr(t, err, "[persistence] encryption-old-keys: element 1: environment variable ORSTEST_KEY2_UNSET_OK_NOT is not set")
	t.Setenv("ORSTEST_KEY2", key2)
	c, err = parse(t, "[persistence]\nusername = ors\npassword = file:"+pwFile+"\nencryption-key = env:ORSTEST_KEY\nencryption-old-keys = env:ORSTEST_KEY2\nhash-session-keys = true\nhash-key = "+key2+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Persistence.Password.Reveal() != "from-a-file" || c.Persistence.Encryption.Key.Reveal() != key1 || c.Persistence.Encryption.OldKeys[0].Reveal() != key2 {
		t.Errorf("references not resolved: %q %q", c.Persistence.Password.Reveal(), c.Persistence.Encryption.Key.Reveal())
	}
	for _, tc := range []struct{ value, want string }{
		{"env:", `[persistence] password: "env:" without a variable name`},
		{"env:ORSTEST_EMPTY", `[persistence] password: environment variable ORSTEST_EMPTY is empty`},
		{"file:" + filepath.Join(dir, "missing"), `[persistence] password: secret file ` + filepath.Join(dir, "missing") + `: no such file or directory`},
		{"file:" + empty, `[persistence] password: secret file ` + empty + ` is empty`},
	} {
		_, err := parse(t, "[persistence]\npassword = "+tc.value+"\n")
		wantErr(t, err, tc.want)
	}

	// No secret is ever printed: not by String, not by fmt's verbs, not
	// by an error about the option.
	const pw = "hunter2-very-secret"
	c, err = parse(t, "[persistence]\nusername = ors\npassword = "+pw+"\nencryption-key = "+key1+"\nencryption-old-keys = "+key2+"\nhash-session-keys = true\nhash-key = "+key2+"\n")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{pw, key1, key2, strings.ToLower(key2), "6875", "0001020304"}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", *c, c.Persistence, c.Persistence, c.Persistence.Password, c.Persistence.Password, c.Persistence.Password)} {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("printed a secret (%s):\n%s", secret, s)
			}
		}
	}
	if !strings.Contains(c.String(), "password = [secret]\n") || !strings.Contains(c.String(), "encryption-old-keys = [secret]\n") || !strings.Contains(c.String(), "username = ors\n") {
		t.Errorf("String:\n%s", c)
	}
	for _, bad := range []string{"encryption-key = " + pw, "hash-key = " + pw, "encryption-old-keys = " + key1 + ";" + pw} {
		_, err := parse(t, "[persistence]\n"+bad+"\n")
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestFIPSOption runs the check both ways: here Go's FIPS module is off
// (unless the whole test runs with GODEBUG=fips140=on), and in a child
// process started with GODEBUG=fips140=on it is on.
func TestFIPSOption(t *testing.T) {
	if os.Getenv("ORSTEST_FIPS_CHILD") == "1" {
		c, err := parse(t, "[scxml]\nfips-enabled = true\n")
		if err != nil {
			t.Fatalf("fips-enabled with the module active: %v", err)
		}
		if !c.FIPS {
			t.Fatal("FIPS not set")
		}
		fmt.Println("FIPS-CHILD-OK")
		return
	}
	if fipsEnabled() {
		t.Skip("the test process itself runs in FIPS mode")
	}
	_, err := parse(t, "[scxml]\nfips-enabled = true\n")
	wantErr(t, err, "ors.ini:2: [scxml] fips-enabled: true, but Go's FIPS 140-3 module is not active: start with GODEBUG=fips140=on")

	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSOption$", "-test.v")
	cmd.Env = append(os.Environ(), "ORSTEST_FIPS_CHILD=1", "GODEBUG=fips140=on")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "FIPS-CHILD-OK") {
		t.Fatalf("child with GODEBUG=fips140=on: %v\n%s", err, out)
	}

	// The TLS configuration in FIPS mode: approved suites and curves only.
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "redis.test")
	c := Defaults()
	c.FIPS = true
	c.Persistence.TLS = TLS{Enabled: true, CertFile: cert, KeyFile: key}
	cfg, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.CipherSuites {
		if name := tls.CipherSuiteName(s); !strings.Contains(name, "_GCM_") {
			t.Errorf("FIPS TLS allows %s", name)
		}
	}
	if len(cfg.CipherSuites) == 0 || len(cfg.CurvePreferences) == 0 || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("FIPS TLS config %+v", cfg)
	}
	c.FIPS = false
	if cfg, _ := c.TLSConfig(); cfg.CipherSuites != nil {
		t.Errorf("non-FIPS config restricts suites: %v", cfg.CipherSuites)
	}
}

// writeCertValid writes a self-signed certificate valid from notBefore to
// notAfter, and its key.
func writeCertValid(t *testing.T, dir, name string, notBefore, notAfter time.Time) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	c, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return c, k
}

func TestTLSClientCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	expired, expiredKey := writeCertValid(t, dir, "expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future, futureKey := writeCertValid(t, dir, "future", now.Add(24*time.Hour), now.Add(48*time.Hour))
	good, goodKey := writeCertValid(t, dir, "good", now.Add(-time.Hour), now.Add(time.Hour))
	for _, tc := range []struct {
		tls  TLS
		want string
	}{
		{TLS{CertFile: expired, KeyFile: expiredKey}, `[persistence] tls-cert: "` + expired + `" expired at `},
		{TLS{CertFile: future, KeyFile: futureKey}, `[persistence] tls-cert: "` + future + `" is not valid before `},
	} {
		tc.tls.Enabled = true
		p := Persistence{TLS: tc.tls}
		_, err := p.TLSConfig()
		wantErr(t, err, tc.want)
	}

	// tls-key-password: a legacy encrypted PEM key is decrypted; a wrong
	// passphrase, a missing one, one for a clear key, and PKCS #8
	// encryption are errors naming the option.
	keyPEM, _ := os.ReadFile(goodKey)
	block, _ := pem.Decode(keyPEM)
	ecKey, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey.(*ecdsa.PrivateKey))
	enc, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", ecDER, []byte("passphrase"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	encKey := filepath.Join(dir, "enc.key")
	os.WriteFile(encKey, pem.EncodeToMemory(enc), 0o600)
	pkcs8Enc := filepath.Join(dir, "pkcs8.key")
	os.WriteFile(pkcs8Enc, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600)

	p := Persistence{TLS: TLS{Enabled: true, CertFile: good, KeyFile: encKey, KeyPassword: "passphrase"}}
	if cfg, err := p.TLSConfig(); err != nil || len(cfg.Certificates) != 1 {
		t.Fatalf("encrypted key with its passphrase: %v", err)
	}
	for _, tc := range []struct {
		key  string
		pw   Secret
		want string
	}{
		{encKey, "wrong", `[persistence] tls-key-password: does not decrypt tls-key "` + encKey + `"`},
		{encKey, "", `[persistence] tls-key: "` + encKey + `" is encrypted: set tls-key-password`},
		{goodKey, "passphrase", `[persistence] tls-key-password: set, but tls-key "` + goodKey + `" is not encrypted`},
		{pkcs8Enc, "passphrase", `[persistence] tls-key: "` + pkcs8Enc + `" is a PKCS #8 encrypted key, which Go cannot decrypt`},
	} {
		p := Persistence{TLS: TLS{Enabled: true, CertFile: good, KeyFile: tc.key, KeyPassword: tc.pw}}
		_, err := p.TLSConfig()
		wantErr(t, err, tc.want)
		if err != nil && strings.Contains(err.Error(), "passphrase\"") {
			t.Errorf("error prints the passphrase: %v", err)
		}
	}
	c := Defaults()
	c.FIPS = true
	c.Persistence.TLS = TLS{Enabled: true, CertFile: good, KeyFile: encKey, KeyPassword: "passphrase"}
	if _, err := c.TLSConfig(); err == nil || !strings.Contains(err.Error(), "[persistence] tls-key-password: passphrase-protected keys are not FIPS-approved") {
		t.Errorf("FIPS with an encrypted key: %v", err)
	}
}
