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
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed CA certificate for host, usable both as
// server and client certificate, and its key to dir; it returns their paths.
func writeCert(t *testing.T, dir, host string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, host+".crt"), filepath.Join(dir, host+".key")
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// handshake runs a TLS handshake between client and a server with the
// given config over loopback TCP (net.Pipe would deadlock: a TLS 1.3 server
// writes session tickets after the client is done reading).
func handshake(t *testing.T, client, server *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(10 * time.Second))
		done <- tls.Server(s, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cerr := tls.Client(c, client).Handshake()
	if cerr == nil {
		// Let the server see a completed handshake before closing.
		c.Read(make([]byte, 1))
	}
	c.Close()
	return errors.Join(cerr, <-done)
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "redis.test")
	caDir := filepath.Join(dir, "ca")
	if err := os.Mkdir(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	caInDir, _ := writeCert(t, caDir, "redis.test")
	if err := os.WriteFile(filepath.Join(caDir, "README"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	serverPair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	dirPair, err := tls.LoadX509KeyPair(caInDir, strings.TrimSuffix(caInDir, ".crt")+".key")
	if err != nil {
		t.Fatal(err)
	}

	// Disabled: no TLS at all, whatever else is set.
	p := Defaults().Persistence
	p.TLS = TLS{CertFile: "/nonexistent"}
	if cfg, err := p.TLSConfig(); cfg != nil || err != nil {
		t.Errorf("disabled: %v, %v", cfg, err)
	}

	// Mutual TLS with tls-cacert: the client verifies the server and
	// presents its own certificate.
	p.TLS = TLS{Enabled: true, CertFile: cert, KeyFile: key, CACertFile: cert, ServerName: "redis.test"}
	cfg, err := p.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != "redis.test" || len(cfg.Certificates) != 1 {
		t.Errorf("cfg = %+v", cfg)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(mustRead(t, cert))
	server := &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	if err := handshake(t, cfg, server); err != nil {
		t.Errorf("mutual TLS handshake: %v", err)
	}

	// tls-sni is checked against the server's certificate.
	p.TLS.ServerName = "other.test"
	cfg, _ = p.TLSConfig()
	if err := handshake(t, cfg, server); err == nil {
		t.Error("handshake succeeded with a server name the certificate does not hold")
	}

	// tls-cacertdir: the PEM files of the directory are trusted, the
	// others skipped; a server signed by another CA is refused.
	p.TLS = TLS{Enabled: true, CACertDir: caDir, ServerName: "redis.test"}
	cfg, err = p.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, cfg, &tls.Config{Certificates: []tls.Certificate{dirPair}}); err != nil {
		t.Errorf("handshake with a CA from tls-cacertdir: %v", err)
	}
	if err := handshake(t, cfg, &tls.Config{Certificates: []tls.Certificate{serverPair}}); err == nil {
		t.Error("handshake succeeded with a server the CA directory does not vouch for")
	}

	// No CA options: system roots.
	p.TLS = TLS{Enabled: true}
	if cfg, err := p.TLSConfig(); err != nil || cfg.RootCAs != nil || cfg.Certificates != nil {
		t.Errorf("system roots: %+v, %v", cfg, err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "a.test")
	otherCert, _ := writeCert(t, dir, "b.test")
	notPEM := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		tls     TLS
		want    string
		wantErr error
	}{
		{TLS{CertFile: cert}, "[persistence] tls-cert: set without tls-key (both or neither)", nil},
		{TLS{KeyFile: key}, "[persistence] tls-key: set without tls-cert (both or neither)", nil},
		{TLS{CertFile: otherCert, KeyFile: key}, `[persistence] tls-cert: "` + otherCert + `" with tls-key "` + key + `": tls: private key does not match public key`, nil},
		{TLS{CertFile: missing, KeyFile: key}, `[persistence] tls-cert: "` + missing + `" with tls-key`, fs.ErrNotExist},
		{TLS{CACertFile: missing}, `[persistence] tls-cacert: "` + missing + `": no such file or directory`, fs.ErrNotExist},
		{TLS{CACertFile: notPEM}, `[persistence] tls-cacert: "` + notPEM + `" holds no PEM certificate`, nil},
		{TLS{CACertDir: emptyDir}, `[persistence] tls-cacertdir: "` + emptyDir + `" holds no file with a PEM certificate`, nil},
		{TLS{CACertDir: missing}, `[persistence] tls-cacertdir: "` + missing + `": open`, fs.ErrNotExist},
	} {
		tc.tls.Enabled = true
		p := Persistence{TLS: tc.tls}
		cfg, err := p.TLSConfig()
		if cfg != nil || err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("TLSConfig(%+v) = %v, %v\nwant error starting %q", tc.tls, cfg, err, tc.want)
		}
		if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("TLSConfig(%+v) error %v does not wrap %v", tc.tls, err, tc.wantErr)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
