package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// PKI is a certificate authority made by the test, and the certificates it
// issued, written as PEM files into a t.TempDir(): nothing is checked in.
// NewPKI issues a server certificate (for 127.0.0.1, localhost and
// redis.test, usable as a client certificate too, as the nodes of a TLS
// cluster use it to talk to each other) and a client certificate.
type PKI struct {
	// Dir holds the files.
	Dir string
	// CACert is the CA certificate's file; CADir a directory holding only
	// it (for tls-cacertdir).
	CACert, CADir string
	// ServerCert, ServerKey: the servers' certificate and key.
	ServerCert, ServerKey string
	// ClientCert, ClientKey: a client certificate and key this CA signed.
	ClientCert, ClientKey string

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

var serial atomic.Int64

// CertOptions describe a certificate for PKI.Issue.
type CertOptions struct {
	// Name is the subject's common name and, with Hosts, its DNS names.
	Name string
	// Hosts are DNS names or IP addresses the certificate is valid for.
	Hosts []string
	// NotBefore and NotAfter bound its validity.
	// default: an hour ago, and a day from now
	NotBefore, NotAfter time.Time
	// Client and Server select its extended key usages (both when both
	// are false).
	Client, Server bool
}

// NewPKI makes a CA and issues the server and client certificates.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{Dir: t.TempDir()}
	key := newKey(t)
	p.ca = &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "redistest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, p.ca, p.ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.CACert = filepath.Join(p.Dir, "ca.crt")
	writePEM(t, p.CACert, "CERTIFICATE", der)
	p.CADir = filepath.Join(p.Dir, "cadir")
	if err := os.Mkdir(p.CADir, 0o700); err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(p.CADir, "ca.pem"), "CERTIFICATE", der)
	p.ServerCert, p.ServerKey = p.Issue(t, CertOptions{Name: "server", Hosts: []string{"127.0.0.1", "localhost", "redis.test"}})
	p.ClientCert, p.ClientKey = p.Issue(t, CertOptions{Name: "ors-client", Client: true})
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue signs a certificate for o with the CA and writes it and its key
// (PKCS #8) as <Name>.crt and <Name>.key; it returns their paths.
func (p *PKI) Issue(t testing.TB, o CertOptions) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: o.Name},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if o.Server || !o.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if o.Client || !o.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.Dir, o.Name+".crt"), filepath.Join(p.Dir, o.Name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// ClientTLS returns a client configuration trusting the CA and presenting
// the client certificate, for the helpers' own connections and tests.
func (p *PKI) ClientTLS(t testing.TB) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// WithTLS makes the server listen with TLS only (port 0, tls-port) using
// the PKI's server certificate, require client certificates signed by its
// CA (tls-auth-clients yes; WithConfig("tls-auth-clients optional")
// relaxes it), and, in a cluster, use TLS on the cluster bus and for
// replication. Server.TLS is then the client configuration the helpers
// use.
func WithTLS(p *PKI) Option {
	return func(c *config) {
		c.pki = p
		c.lines = append(c.lines,
			"tls-cert-file "+p.ServerCert,
			"tls-key-file "+p.ServerKey,
			"tls-ca-cert-file "+p.CACert,
			"tls-auth-clients yes",
			"tls-replication yes",
			"tls-cluster yes",
		)
	}
}
