package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLSConfig returns the TLS configuration for Redis connections described
// by p.TLS, or nil, nil when tls-enabled is false. It reads the certificate
// files: the client key pair from tls-cert and tls-key, and the CA
// certificates from tls-cacert and every file of tls-cacertdir that holds
// PEM certificates (others are skipped, as OpenSSL's hashed-name links and
// CRLs may sit beside them). With neither CA option, the system roots are
// used. Errors are *Error naming the option, wrapping ErrInvalid and the
// file system error if there is one.
func (p *Persistence) TLSConfig() (*tls.Config, error) {
	t := &p.TLS
	if !t.Enabled {
		return nil, nil
	}
	fail := func(option, msg string, err error) error {
		return &Error{Section: SectionPersistence, Option: option, Msg: msg, Err: err}
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: t.ServerName,
	}

	switch {
	case t.CertFile != "" && t.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fail("tls-cert", fmt.Sprintf("%q with tls-key %q: %v", t.CertFile, t.KeyFile, err), err)
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
