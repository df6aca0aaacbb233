package config

import (
	"crypto/fips140"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeyLen is the length in bytes of encryption-key, encryption-old-keys
// and hash-key (written as twice as many hex digits).
const KeyLen = 32

// checkKey returns what is wrong with a hex key, without quoting it.
func checkKey(s Secret) string {
	v := s.Reveal()
	if len(v) != 2*KeyLen {
		return fmt.Sprintf("%d characters, want %d hex digits (%d bytes; make one with: openssl rand -hex %d)", len(v), 2*KeyLen, KeyLen, KeyLen)
	}
	if i := strings.IndexFunc(v, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	}); i >= 0 {
		return fmt.Sprintf("character %d is not a hex digit (want %d hex digits)", i+1, 2*KeyLen)
	}
	return ""
}

func decodeKey(s Secret) []byte {
	b, _ := hex.DecodeString(s.Reveal()) // checked by Validate
	return b
}

// Keys returns the current key and the old keys as bytes (nil current
// when encryption-key is not set). The configuration must have passed
// Validate.
func (e *Encryption) Keys() (current []byte, old [][]byte) {
	if e.Key != "" {
		current = decodeKey(e.Key)
	}
	for _, k := range e.OldKeys {
		old = append(old, decodeKey(k))
	}
	return current, old
}

// Enabled reports whether records are sealed or may be: a current key or
// old keys are configured.
func (e *Encryption) Enabled() bool { return e.Key != "" || len(e.OldKeys) > 0 }

// HashKeyBytes returns hash-key as bytes, or nil when hash-session-keys
// is off. The configuration must have passed Validate.
func (p *Persistence) HashKeyBytes() []byte {
	if !p.HashSessionKeys {
		return nil
	}
	return decodeKey(p.HashKey)
}

// fipsEnabled is fips140.Enabled, a variable for tests.
var fipsEnabled = fips140.Enabled

// validateSecurity checks the TLS version, encryption, key hashing and
// FIPS options.
func (c *Config) validateSecurity(check func(section, option string, f func() (string, error))) {
	const P, S = SectionPersistence, SectionSCXML
	p := &c.Persistence
	check(P, "tls-min-version", func() (string, error) {
		switch p.TLS.MinVersion {
		case 0, tls.VersionTLS12, tls.VersionTLS13:
			return "", nil
		}
		return fmt.Sprintf("%#04x is not TLS 1.2 (%#04x) or 1.3 (%#04x)", p.TLS.MinVersion, tls.VersionTLS12, tls.VersionTLS13), nil
	})
	check(P, "tls-key-password", func() (string, error) {
		switch {
		case p.TLS.KeyPassword != "" && p.TLS.KeyFile == "":
			return "set without tls-key", nil
		case p.TLS.KeyPassword != "" && c.FIPS:
			return "passphrase-protected keys (legacy PEM encryption, MD5-based) are not FIPS-approved: give tls-key unencrypted, protected by file permissions", nil
		}
		return "", nil
	})
	check(S, "fips-enabled", func() (string, error) {
		if c.FIPS && !fipsEnabled() {
			return "true, but Go's FIPS 140-3 module is not active: start with GODEBUG=fips140=on (or build with GOFIPS140=latest)", nil
		}
		return "", nil
	})
	e := &p.Encryption
	check(P, "encryption-key", func() (string, error) {
		if e.Key == "" {
			return "", nil
		}
		return checkKey(e.Key), nil
	})
	check(P, "encryption-old-keys", func() (string, error) {
		var msgs []string
		seen := map[Secret]int{}
		for i, k := range e.OldKeys {
			if msg := checkKey(k); msg != "" {
				msgs = append(msgs, fmt.Sprintf("key %d: %s", i+1, msg))
				continue
			}
			k = Secret(strings.ToLower(k.Reveal()))
			if strings.EqualFold(k.Reveal(), e.Key.Reveal()) {
				msgs = append(msgs, fmt.Sprintf("key %d is encryption-key itself", i+1))
			} else if j, ok := seen[k]; ok {
				msgs = append(msgs, fmt.Sprintf("key %d is key %d again", i+1, j))
			}
			seen[k] = i + 1
		}
		return strings.Join(msgs, "; "), nil
	})
	check(P, "encryption-accept-plaintext", func() (string, error) {
		if e.AcceptPlaintext && e.Key == "" {
			return "set without encryption-key (there is nothing to migrate to)", nil
		}
		return "", nil
	})
	check(P, "hash-key", func() (string, error) {
		switch {
		case p.HashKey == "" && p.HashSessionKeys:
			return "required when hash-session-keys is true", nil
		case p.HashKey == "":
			return "", nil
		}
		return checkKey(p.HashKey), nil
	})
}
