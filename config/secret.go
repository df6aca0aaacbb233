package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Secret is an option value that must not be shown: a password, an
// encryption key, a key passphrase. Printed with any fmt verb (and
// through String, GoString, MarshalText) it reads "[secret]", or "" when
// empty, so that logging a Config, a Persistence or an error that quotes
// one shows no secret. Reveal returns the value.
type Secret string

// redacted is what a set Secret prints as.
const redacted = "[secret]"

// Reveal returns the secret's value, for the code that uses it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[secret]", or "" when s is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so that %#v shows no secret either.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format prints String for every verb (%x and %q included).
func (s Secret) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, s.String()) }

// MarshalText returns String, for encoders (JSON, YAML loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Secret references: instead of the secret itself, an option whose value
// is a secret may name where to read it.
const (
	// EnvPrefix: "env:NAME" is the value of environment variable NAME.
	EnvPrefix = "env:"
	// FilePrefix: "file:PATH" is the content of the file at PATH, less
	// one trailing newline (as echo and editors leave it).
	FilePrefix = "file:"
)

// resolveSecret returns v, or what it refers to when it is a secret
// reference. Errors never quote a secret: they name the variable or file.
// A secret that itself begins with "env:" or "file:" must be given
// through a reference.
func resolveSecret(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, EnvPrefix):
		name := strings.TrimPrefix(v, EnvPrefix)
		if name == "" {
			return "", errors.New(`"env:" without a variable name`)
		}
		s, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		if s == "" {
			return "", fmt.Errorf("environment variable %s is empty", name)
		}
		return s, nil
	case strings.HasPrefix(v, FilePrefix):
		path := strings.TrimPrefix(v, FilePrefix)
		if path == "" {
			return "", errors.New(`"file:" without a path`)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("secret file %s: %v", path, pe.Err)
			}
			return "", fmt.Errorf("secret file %s: %v", path, err)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if s == "" {
			return "", fmt.Errorf("secret file %s is empty", path)
		}
		return s, nil
	}
	return v, nil
}

// secretSetter reads a secret option, resolving a reference.
func secretSetter(field func(*Config) *Secret) setter {
	return func(c *Config, v string) error {
		s, err := resolveSecret(v)
		if err != nil {
			return err
		}
		*field(c) = Secret(s)
		return nil
	}
}

// secretListSetter reads a list of secrets separated by ";" or ",", each
// possibly a reference.
func secretListSetter(field func(*Config) *[]Secret) setter {
	return func(c *Config, v string) error {
		var out []Secret
		for i, e := range splitList(v) {
			s, err := resolveSecret(e)
			if err != nil {
				return fmt.Errorf("element %d: %w", i+1, err)
			}
			out = append(out, Secret(s))
		}
		*field(c) = out
		return nil
	}
}

// ResolveSecret returns v, or the secret it refers to when it is a
// reference (env:NAME, file:PATH), for tools that take a secret on their
// command line. Errors never quote the secret.
func ResolveSecret(v string) (Secret, error) {
	s, err := resolveSecret(v)
	return Secret(s), err
}
