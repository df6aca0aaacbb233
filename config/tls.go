package config

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// TLSConfig returns the TLS configuration for Redis connections described
// by p.TLS, or nil, nil when tls-enabled is false. It reads the certificate
// files: the client key pair from tls-cert and tls-key, and the CA
// certificates from tls-cacert and every file of tls-cacertdir that holds
// PEM certificates (others are skipped, as OpenSSL's hashed-name links and
// CRLs may sit beside them). With neither CA option, the system roots are
// used. The client certificate must be valid now (an expired one, or one
// not yet valid, is an error naming tls-cert rather than a handshake the
// server refuses). Errors are *Error naming the option, wrapping
// ErrInvalid and the file system error if there is one.
//
// The minimum version is tls-min-version (TLS 1.2 by default). With fips
// (the [scxml] fips-enabled option), the configuration is limited to the
// approved: TLS 1.2 or 1.3, AES-GCM cipher suites, P-256 and P-384 key
// exchange; Go's FIPS 140-3 mode enforces the same on its own.
func (p *Persistence) TLSConfig() (*tls.Config, error) {
	return p.tlsConfig(false, time.Now())
}

// TLSConfig returns Persistence.TLSConfig with the restrictions of
// fips-enabled when it is true.
func (c *Config) TLSConfig() (*tls.Config, error) {
	return c.Persistence.tlsConfig(c.FIPS, time.Now())
}

func (p *Persistence) tlsConfig(fips bool, now time.Time) (*tls.Config, error) {
	t := &p.TLS
	if !t.Enabled {
		return nil, nil
	}
	fail := func(option, msg string, err error) error {
		return &Error{Section: SectionPersistence, Option: option, Msg: msg, Err: err}
	}
	cfg := &tls.Config{
		MinVersion: cmp.Or(t.MinVersion, tls.VersionTLS12),
		ServerName: t.ServerName,
	}
	if fips {
		// The approved TLS 1.2 suites (TLS 1.3's are not configurable:
		// Go's FIPS mode keeps its AES-GCM ones) and curves.
		cfg.CipherSuites = []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		}
		cfg.CurvePreferences = []tls.CurveID{tls.CurveP256, tls.CurveP384}
	}

	switch {
	case t.CertFile != "" && t.KeyFile != "":
		pair, err := loadKeyPair(t, fips)
		if err != nil {
			return nil, err
		}
		leaf := pair.Leaf
		switch {
		case now.Before(leaf.NotBefore):
			return nil, fail("tls-cert", fmt.Sprintf("%q is not valid before %s", t.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339)), nil)
		case now.After(leaf.NotAfter):
			return nil, fail("tls-cert", fmt.Sprintf("%q expired at %s", t.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339)), nil)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case t.CertFile != "":
		return nil, fail("tls-cert", "set without tls-key (both or neither)", nil)
	case t.KeyFile != "":
		return nil, fail("tls-key", "set without tls-cert (both or neither)", nil)
	}

	if t.CACertFile == "" && t.CACertDir == "" {
		return cfg, nil
	}
	pool := x509.NewCertPool()
	if t.CACertFile != "" {
		pem, err := os.ReadFile(t.CACertFile)
		if err != nil {
			return nil, fail("tls-cacert", fmt.Sprintf("%q: %v", t.CACertFile, errors.Unwrap(err)), err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fail("tls-cacert", fmt.Sprintf("%q holds no PEM certificate", t.CACertFile), nil)
		}
	}
	if t.CACertDir != "" {
		n, err := appendDir(pool, t.CACertDir)
		if err != nil {
			return nil, fail("tls-cacertdir", fmt.Sprintf("%q: %v", t.CACertDir, err), err)
		}
		if n == 0 {
			return nil, fail("tls-cacertdir", fmt.Sprintf("%q holds no file with a PEM certificate", t.CACertDir), nil)
		}
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// loadKeyPair reads tls-cert and tls-key, decrypting the key with
// tls-key-password when it is set.
func loadKeyPair(t *TLS, fips bool) (tls.Certificate, error) {
	fail := func(option, msg string, err error) error {
		return &Error{Section: SectionPersistence, Option: option, Msg: msg, Err: err}
	}
	certPEM, err := os.ReadFile(t.CertFile)
	if err != nil {
		return tls.Certificate{}, fail("tls-cert", fmt.Sprintf("%q with tls-key %q: %v", t.CertFile, t.KeyFile, err), err)
	}
	keyPEM, err := os.ReadFile(t.KeyFile)
	if err != nil {
		return tls.Certificate{}, fail("tls-key", fmt.Sprintf("%q: %v", t.KeyFile, errors.Unwrap(err)), err)
	}
	if block, _ := pem.Decode(keyPEM); block != nil {
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY":
			return tls.Certificate{}, fail("tls-key", fmt.Sprintf("%q is a PKCS #8 encrypted key, which Go cannot decrypt: convert it (openssl pkcs8 -in KEY -out PLAIN.key, protected by file permissions)", t.KeyFile), nil)
		//lint:ignore SA1019 legacy PEM encryption is what tls-key-password reads; see TLS.KeyPassword
		case x509.IsEncryptedPEMBlock(block): //nolint:staticcheck
			if t.KeyPassword == "" {
				return tls.Certificate{}, fail("tls-key", fmt.Sprintf("%q is encrypted: set tls-key-password", t.KeyFile), nil)
			}
			if fips {
				return tls.Certificate{}, fail("tls-key-password", "passphrase-protected keys are not FIPS-approved", nil)
			}
			der, err := x509.DecryptPEMBlock(block, []byte(t.KeyPassword.Reveal())) //nolint:staticcheck
			if err != nil {
				if errors.Is(err, x509.IncorrectPasswordError) {
					return tls.Certificate{}, fail("tls-key-password", fmt.Sprintf("does not decrypt tls-key %q", t.KeyFile), err)
				}
				return tls.Certificate{}, fail("tls-key", fmt.Sprintf("%q: %v", t.KeyFile, err), err)
			}
			keyPEM = pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
		case t.KeyPassword != "":
			return tls.Certificate{}, fail("tls-key-password", fmt.Sprintf("set, but tls-key %q is not encrypted", t.KeyFile), nil)
		}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fail("tls-cert", fmt.Sprintf("%q with tls-key %q: %v", t.CertFile, t.KeyFile, err), err)
	}
	return pair, nil
}

// appendDir adds the certificates of every regular file in dir to pool, in
// name order (os.ReadDir sorts), and returns how many files contributed.
func appendDir(pool *x509.CertPool, dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows links, as c_rehash's are
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return n, err
		}
		if pool.AppendCertsFromPEM(pem) {
			n++
		}
	}
	return n, nil
}
