// Package config holds the engine's persistence and HA configuration under
// the option names of Genesys Orchestration Server (ORS) 8.1.4, read from an
// INI-style file or from a map of sections.
//
// The options and where their names come from:
//
//	[persistence]                 ORS 8.1.4 Redis supplement
//	type                          none | memory | redis
//	redis-nodes                   host:port list, separated by ";" or ","
//	username, password            Redis ACL credentials
//	tls-enabled                   true | false
//	tls-cert, tls-key             client certificate and key (PEM files)
//	tls-cacert, tls-cacertdir     CA certificates (PEM file, directory)
//	tls-sni                       server name sent and verified
//	tls-min-version               1.2 | 1.3      } not in the supplement:
//	tls-key-password              key passphrase } names and units are
//	redis-connect-timeout         milliseconds   } this package's choice
//	redis-socket-timeout          milliseconds   }
//	session-ttl                   seconds        }
//	encryption-key                64 hex digits  } records sealed with
//	encryption-old-keys           list of same   } AES-256-GCM (persist)
//	encryption-accept-plaintext   true | false   }
//	hash-session-keys             true | false   } HMAC-SHA-256 of the
//	hash-key                      64 hex digits  } session id in keys
//
//	[orchestration]
//	sessionid-with-nodeid         true | false   (named by the supplement)
//	node-id                       this node's id } not in the supplement:
//	cluster-name                  ORS cluster    } this package's choice
//
//	[scxml]
//	fips-enabled                  true | false   (named by the supplement)
//
// Options holding a secret (password, tls-key-password, encryption-key,
// encryption-old-keys, hash-key) may be given as a reference instead:
// env:NAME reads environment variable NAME, file:PATH the file at PATH
// (less a trailing newline). References are resolved when the option is
// read (Parse, FromMap, Set); the values are kept as Secret, which never
// prints, and no error quotes them.
//
// The supplement names sessionid-with-nodeid without its section; ORS keeps
// its general options in [orchestration], so it lives there. Timeouts are
// in milliseconds as ORS's other timeouts (call-watching-timeout) are; the
// TTL is in seconds as Redis EXPIRE is.
//
// Loading starts from Defaults, applies the options found, then runs
// Validate; every problem is reported at once (errors.Join of *Error, each
// naming the file, line, section and option), and each wraps ErrInvalid.
// Option and section names are matched case-insensitively; sections other
// than the ones above are ignored (an ORS application has many: log,
// agent, ...), except one whose name is a typo of a known one
// ([persistance]): that is an error with a suggestion. An unknown option
// in [persistence] or [orchestration] is an error, so that a typo does not
// silently leave the default in force; [scxml] holds many ORS options
// this package does not read, so only a typo of fips-enabled is an error
// there. An empty value means "not set": the default applies.
//
// The package does not import a Redis client: the engine maps Persistence
// onto go-redis options itself, and TLSConfig builds the crypto/tls side.
package config

import (
	"bufio"
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orsgo/engine/ids"
)

// ErrInvalid is wrapped by every configuration error; test with errors.Is.
var ErrInvalid = errors.New("config: invalid configuration")

// Section names.
const (
	SectionPersistence   = "persistence"
	SectionOrchestration = "orchestration"
	// SectionSCXML is ORS's [scxml] section, of which this package reads
	// fips-enabled only.
	SectionSCXML = "scxml"
)

// PersistenceType is the value of [persistence] type.
type PersistenceType string

// Values of [persistence] type.
const (
	// TypeNone: sessions are not persisted and are lost with their node.
	TypeNone PersistenceType = "none"
	// TypeMemory: sessions are checkpointed in the process's memory (the
	// reference store, for tests and single-process use; nothing survives
	// the process).
	TypeMemory PersistenceType = "memory"
	// TypeRedis: sessions are checkpointed in Redis under
	// ORS:<cluster-name>, for recovery by another node after a switchover.
	TypeRedis PersistenceType = "redis"
)

// Defaults of the options that have one besides the zero value.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultSocketTimeout  = 3 * time.Second
	// DefaultSessionTTL equals persist.DefaultTTL (not imported: persist
	// pulls in the Redis client).
	DefaultSessionTTL = 24 * time.Hour
)

// Config is the engine's persistence and HA configuration. Start from
// Defaults (or Parse, FromMap), not from a zero Config: zero timeouts are
// rejected by Validate rather than read as "no timeout".
type Config struct {
	// Node is this node's id, put into session ids when
	// SessionIDWithNodeID is true so that a backup can find the sessions
	// of a failed node. 1 to 32 characters of [A-Za-z0-9_-].
	// option: [orchestration] node-id
	// default: "" (required when sessionid-with-nodeid is true)
	Node ids.NodeID

	// Cluster names the ORS cluster; Redis keys are rooted at
	// ORS:<Cluster>. 1 to 64 characters of [A-Za-z0-9_.-], so that it
	// needs no escaping in keys and cannot break a hash tag.
	// option: [orchestration] cluster-name
	// default: "" (required when type is redis)
	Cluster string

	// SessionIDWithNodeID puts Node into every session id (see package
	// ids). Without it recovery cannot attribute sessions to nodes, so the
	// supplement requires it for Redis persistence.
	// option: [orchestration] sessionid-with-nodeid
	// default: false
	SessionIDWithNodeID bool

	// Persistence configures session persistence.
	Persistence Persistence

	// FIPS requires Go's FIPS 140-3 module to be active (GODEBUG=fips140=on,
	// or a build with GOFIPS140): Validate fails otherwise. With it, TLS
	// is limited to approved versions, cipher suites and curves, and a
	// passphrase-protected tls-key (legacy PEM encryption, built on MD5)
	// is refused; records are sealed with AES-256-GCM and key names hashed
	// with HMAC-SHA-256 as always, both approved.
	// option: [scxml] fips-enabled (as ORS names it)
	// default: false
	FIPS bool

	// origin records where each option was set ("ors.ini:12"), so that
	// Validate can point at the line.
	origin map[optionKey]origin
}

// Persistence is the [persistence] section.
type Persistence struct {
	// Type selects the store; "" means TypeNone.
	// option: [persistence] type
	// default: TypeNone
	Type PersistenceType

	// RedisNodes lists host:port addresses of Redis Cluster nodes to
	// bootstrap from (the others are discovered). Written separated by
	// ";" or ","; IPv6 hosts in brackets.
	// option: [persistence] redis-nodes
	// default: none (at least one required when type is redis)
	RedisNodes []string

	// Username and Password authenticate to Redis (AUTH); a username needs
	// a password. Password may be a secret reference (env:NAME,
	// file:PATH).
	// option: [persistence] username, [persistence] password
	// default: "" (no authentication)
	Username string
	Password Secret

	// TLS configures the connection to Redis.
	TLS TLS

	// ConnectTimeout bounds establishing a connection to a Redis node.
	// option: [persistence] redis-connect-timeout, in milliseconds
	// default: DefaultConnectTimeout (5000)
	ConnectTimeout time.Duration

	// SocketTimeout bounds each read and write on a Redis connection.
	// option: [persistence] redis-socket-timeout, in milliseconds
	// default: DefaultSocketTimeout (3000)
	SocketTimeout time.Duration

	// SessionTTL is how long a session's record outlives its last
	// checkpoint, so that records of sessions nobody ends do not
	// accumulate (the supplement's "expiry time (TTL)").
	// option: [persistence] session-ttl, in seconds
	// default: DefaultSessionTTL (86400)
	SessionTTL time.Duration

	// Encryption seals records at rest.
	Encryption Encryption

	// HashSessionKeys replaces the session id in every Redis key (and in
	// the node indexes) with its HMAC-SHA-256 under HashKey, so that
	// session ids, which carry node ids and may carry caller data, cannot
	// be read from Redis. Records written without it are not found with
	// it, and the other way round: switch it on or off only with no
	// session in flight.
	// option: [persistence] hash-session-keys
	// default: false
	HashSessionKeys bool

	// HashKey is the HMAC key of HashSessionKeys: 64 hex digits (32
	// bytes), or a secret reference. Every node of the cluster must use
	// the same one, and it cannot be rotated without rewriting every key.
	// option: [persistence] hash-key
	// default: "" (required when hash-session-keys is true)
	HashKey Secret
}

// Encryption is the encryption-* part of the [persistence] section.
type Encryption struct {
	// Key is the current key: 64 hex digits (32 bytes, AES-256), or a
	// secret reference to them. Every record is sealed with it.
	// option: [persistence] encryption-key
	// default: "" (records are stored in clear)
	Key Secret

	// OldKeys are keys that records may still be sealed with: they are
	// opened with them and sealed again with Key at their next
	// checkpoint (or by scxml rekey). Each 64 hex digits or a reference;
	// separated by ";" or ",". With OldKeys and no Key, sealed records
	// are read and written back in clear (the way out of encryption).
	// option: [persistence] encryption-old-keys
	// default: none
	OldKeys []Secret

	// AcceptPlaintext lets a store with Key read records stored in clear
	// (written before encryption was turned on), during the migration;
	// without it such a record is an error.
	// option: [persistence] encryption-accept-plaintext
	// default: false
	AcceptPlaintext bool
}

// TLS is the tls-* part of the [persistence] section. The supplement notes
// ORS itself does not support Redis TLS on Windows; this engine does.
type TLS struct {
	// Enabled turns TLS on for Redis connections.
	// option: [persistence] tls-enabled
	// default: false
	Enabled bool

	// CertFile and KeyFile are the client certificate and its private key
	// (PEM). Both or neither.
	// option: [persistence] tls-cert, [persistence] tls-key
	// default: "" (no client certificate)
	CertFile, KeyFile string

	// CACertFile is a PEM file of CA certificates to verify Redis with.
	// option: [persistence] tls-cacert
	// default: "" (system roots, unless CACertDir is set)
	CACertFile string

	// CACertDir is a directory whose PEM files hold CA certificates; it
	// can be used instead of, or with, CACertFile.
	// option: [persistence] tls-cacertdir
	// default: ""
	CACertDir string

	// ServerName is the name sent in SNI and checked against the server's
	// certificate.
	// option: [persistence] tls-sni
	// default: "" (the host of the address dialled)
	ServerName string

	// MinVersion is the lowest TLS version accepted: tls.VersionTLS12 or
	// tls.VersionTLS13 (written 1.2 or 1.3); 0 means TLS 1.2.
	// option: [persistence] tls-min-version
	// default: 1.2
	MinVersion uint16

	// KeyPassword decrypts KeyFile when it is encrypted with a
	// passphrase in the legacy PEM format (Proc-Type: 4,ENCRYPTED, as
	// openssl -traditional writes). Go cannot read PKCS #8 encrypted
	// keys (BEGIN ENCRYPTED PRIVATE KEY); convert those. May be a secret
	// reference.
	// option: [persistence] tls-key-password
	// default: "" (tls-key is not encrypted)
	KeyPassword Secret
}

// Defaults returns the configuration every loader starts from.
func Defaults() *Config {
	return &Config{
		Persistence: Persistence{
			Type:           TypeNone,
			ConnectTimeout: DefaultConnectTimeout,
			SocketTimeout:  DefaultSocketTimeout,
			SessionTTL:     DefaultSessionTTL,
		},
	}
}

// Error is one configuration problem. It wraps ErrInvalid and, when there is
// one, the underlying error (a file that cannot be read, say).
type Error struct {
	Pos     string // "file:line", or "" for values set in code or from a map
	Section string // "" for a syntax error outside any option
	Option  string // "" for a syntax error or a section-level problem
	Msg     string
	Err     error // underlying cause, or nil

	line int // for ordering errors by position
}

// Error formats e as "file:line: [section] option: message".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos != "" {
		b.WriteString(e.Pos)
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "] ")
	}
	if e.Option != "" {
		b.WriteString(e.Option + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid and the underlying cause, if any.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

type optionKey struct{ section, option string }

type origin struct {
	pos  string
	line int
}

// errorList collects errors, each at most once per option so that one bad
// value does not also trigger every check that depends on it.
type errorList struct {
	errs []*Error
	bad  map[optionKey]bool
}

func (l *errorList) add(e *Error) {
	l.errs = append(l.errs, e)
	if e.Option != "" {
		if l.bad == nil {
			l.bad = map[optionKey]bool{}
		}
		l.bad[optionKey{e.Section, e.Option}] = true
	}
}

func (l *errorList) isBad(section, option string) bool {
	return l.bad[optionKey{section, option}]
}

// err joins the errors in file order (errors without a position last).
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		switch {
		case a.line == b.line:
			return 0
		case a.line == 0:
			return 1
		case b.line == 0:
			return -1
		}
		return cmp.Compare(a.line, b.line)
	})
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// An option's setter parses a non-empty value into c; its error message is
// wrapped into an *Error naming the option.
type setter func(c *Config, v string) error

var options = map[optionKey]setter{
	{SectionPersistence, "type"}: func(c *Config, v string) error {
		c.Persistence.Type = PersistenceType(strings.ToLower(v))
		return nil // checked by Validate, which also sees values set in code
	},
	{SectionPersistence, "redis-nodes"}: func(c *Config, v string) error {
		c.Persistence.RedisNodes = splitList(v)
		return nil
	},
	{SectionPersistence, "username"}: func(c *Config, v string) error {
		c.Persistence.Username = v
		return nil
	},
	{SectionPersistence, "password"}:    secretSetter(func(c *Config) *Secret { return &c.Persistence.Password }),
	{SectionPersistence, "tls-enabled"}: boolSetter(func(c *Config) *bool { return &c.Persistence.TLS.Enabled }),
	{SectionPersistence, "tls-cert"}:    stringSetter(func(c *Config) *string { return &c.Persistence.TLS.CertFile }),
	{SectionPersistence, "tls-key"}:     stringSetter(func(c *Config) *string { return &c.Persistence.TLS.KeyFile }),
	{SectionPersistence, "tls-cacert"}:  stringSetter(func(c *Config) *string { return &c.Persistence.TLS.CACertFile }),
	{SectionPersistence, "tls-cacertdir"}: stringSetter(func(c *Config) *string {
		return &c.Persistence.TLS.CACertDir
	}),
	{SectionPersistence, "tls-sni"}: stringSetter(func(c *Config) *string { return &c.Persistence.TLS.ServerName }),
	{SectionPersistence, "tls-min-version"}: func(c *Config, v string) error {
		switch v {
		case "1.2":
			c.Persistence.TLS.MinVersion = tls.VersionTLS12
		case "1.3":
			c.Persistence.TLS.MinVersion = tls.VersionTLS13
		default:
			return fmt.Errorf("%q is not 1.2 or 1.3", v)
		}
		return nil
	},
	{SectionPersistence, "tls-key-password"}: secretSetter(func(c *Config) *Secret { return &c.Persistence.TLS.KeyPassword }),
	{SectionPersistence, "encryption-key"}:   secretSetter(func(c *Config) *Secret { return &c.Persistence.Encryption.Key }),
	{SectionPersistence, "encryption-old-keys"}: secretListSetter(func(c *Config) *[]Secret {
		return &c.Persistence.Encryption.OldKeys
	}),
	{SectionPersistence, "encryption-accept-plaintext"}: boolSetter(func(c *Config) *bool {
		return &c.Persistence.Encryption.AcceptPlaintext
	}),
	{SectionPersistence, "hash-session-keys"}: boolSetter(func(c *Config) *bool { return &c.Persistence.HashSessionKeys }),
	{SectionPersistence, "hash-key"}:          secretSetter(func(c *Config) *Secret { return &c.Persistence.HashKey }),
	{SectionSCXML, "fips-enabled"}:            boolSetter(func(c *Config) *bool { return &c.FIPS }),
	{SectionPersistence, "redis-connect-timeout"}: durationSetter(time.Millisecond, "milliseconds",
		func(c *Config) *time.Duration { return &c.Persistence.ConnectTimeout }),
	{SectionPersistence, "redis-socket-timeout"}: durationSetter(time.Millisecond, "milliseconds",
		func(c *Config) *time.Duration { return &c.Persistence.SocketTimeout }),
	{SectionPersistence, "session-ttl"}: durationSetter(time.Second, "seconds",
		func(c *Config) *time.Duration { return &c.Persistence.SessionTTL }),

	{SectionOrchestration, "sessionid-with-nodeid"}: boolSetter(func(c *Config) *bool { return &c.SessionIDWithNodeID }),
	{SectionOrchestration, "node-id"}: func(c *Config, v string) error {
		c.Node = ids.NodeID(v)
		return nil // checked by Validate
	},
	{SectionOrchestration, "cluster-name"}: stringSetter(func(c *Config) *string { return &c.Cluster }),
}

func stringSetter(field func(*Config) *string) setter {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

// boolSetter accepts only true and false (any case), as ORS documents:
// "yes" or "1" is more likely a mistake than a preference.
func boolSetter(field func(*Config) *bool) setter {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true":
			*field(c) = true
		case "false":
			*field(c) = false
		default:
			return fmt.Errorf("%q is not a boolean (true or false)", v)
		}
		return nil
	}
}

// durationSetter reads a whole number of units; range checks are Validate's.
func durationSetter(unit time.Duration, unitName string, field func(*Config) *time.Duration) setter {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("%q is too large", v)
			}
			return fmt.Errorf("%q is not a duration in %s", v, unitName)
		}
		if n > int64(math.MaxInt64/unit) || n < int64(math.MinInt64/unit) {
			return fmt.Errorf("%q %s is too large", v, unitName)
		}
		*field(c) = time.Duration(n) * unit
		return nil
	}
}

// splitList splits a redis-nodes value on ";" and ",", dropping empty
// elements so that a trailing separator is harmless.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// knownSection reports whether section holds options of this package.
func knownSection(section string) bool {
	return section == SectionPersistence || section == SectionOrchestration || section == SectionSCXML
}

// partialSection reports whether section is read for some options only,
// the others being ORS's that this package ignores.
func partialSection(section string) bool { return section == SectionSCXML }

// suggestSection names the known section that an unknown section name is
// probably a typo of, or returns "".
func suggestSection(section string) string {
	if section == SectionNode {
		return "" // ParseNode's (node.go); Parse skips it
	}
	for _, k := range []string{SectionPersistence, SectionOrchestration, SectionSCXML, SectionNode} {
		if closeTo(section, k) {
			return k
		}
	}
	return ""
}

// sectionTypo returns the error for an unknown section that looks like a
// typo of a known one, or nil.
func sectionTypo(o origin, section string) *Error {
	if k := suggestSection(section); k != "" {
		return &Error{Pos: o.pos, line: o.line, Section: section, Msg: fmt.Sprintf("unknown section (did you mean [%s]?)", k)}
	}
	return nil
}

// set applies one option, recording where it came from.
func (c *Config) set(l *errorList, o origin, section, option, value string) {
	section, option = strings.ToLower(section), strings.ToLower(option)
	key := optionKey{section, option}
	fail := func(msg string, err error) {
		l.add(&Error{Pos: o.pos, line: o.line, Section: section, Option: option, Msg: msg, Err: err})
	}
	setOption, ok := options[key]
	if !ok {
		hint := suggest(section, option)
		if partialSection(section) && hint == "" {
			return // one of ORS's options that this package does not read
		}
		fail("unknown option"+hint, nil)
		return
	}
	if c.origin == nil {
		c.origin = map[optionKey]origin{}
	}
	if prev, ok := c.origin[key]; ok && o.pos != "" {
		at := ""
		if prev.pos != "" {
			at = " (first set at " + prev.pos + ")"
		}
		fail("set more than once"+at, nil)
		return
	}
	c.origin[key] = o
	value = strings.TrimSpace(value)
	if value == "" {
		return // not set: keep the default
	}
	if err := setOption(c, value); err != nil {
		fail(err.Error(), nil)
	}
}

// suggest names a known option of the section that option is probably a
// typo of (same letters but one, or one missing or extra), if any.
func suggest(section, option string) string {
	var best string
	for k := range options {
		if k.section == section && closeTo(option, k.option) && (best == "" || k.option < best) {
			best = k.option
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// closeTo reports whether a and b are at most one edit apart, or equal
// once "-" and "_" are dropped.
func closeTo(a, b string) bool {
	strip := func(s string) string { return strings.NewReplacer("-", "", "_", "").Replace(s) }
	if strip(a) == strip(b) {
		return true
	}
	if d := len(a) - len(b); d < -1 || d > 1 {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case len(a) == len(b):
		return a[i+1:] == b[i+1:]
	case len(a) > len(b):
		return a[i+1:] == b[i:]
	default:
		return a[i:] == b[i+1:]
	}
}

// Set sets one option as if it had been read from a file, for overrides
// from a command line or a configuration service; it may replace a value
// set before, and an empty value leaves the option as it is. Unlike Parse
// and FromMap it refuses unknown sections, since the caller named one on
// purpose. It does not run Validate.
func (c *Config) Set(section, option, value string) error {
	var l errorList
	c.origin = maps.Clone(c.origin) // a copy of c may share the map
	if !knownSection(strings.ToLower(section)) {
		l.add(&Error{Section: section, Msg: "unknown section"})
	} else {
		c.set(&l, origin{}, section, option, value)
	}
	return l.err()
}

// FromMap builds a configuration from sections of options, as a
// configuration service delivers them (section name → option → value),
// starting from Defaults and ending with Validate. Sections other than
// persistence and orchestration are ignored.
func FromMap(sections map[string]map[string]string) (*Config, error) {
	c := Defaults()
	var l errorList
	for _, section := range slices.Sorted(mapKeys(sections)) {
		if !knownSection(strings.ToLower(section)) {
			if e := sectionTypo(origin{}, section); e != nil {
				l.add(e)
			}
			continue
		}
		opts := sections[section]
		for _, option := range slices.Sorted(mapKeys(opts)) {
			c.set(&l, origin{}, section, option, opts[option])
		}
	}
	c.validate(&l)
	if err := l.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// maxLine bounds a line of a configuration file.
const maxLine = 64 << 10

// Parse reads an INI-style file: "[section]" headers, "option = value"
// lines, and comment lines starting with "#" or ";". There are no inline
// comments (a password may contain "#") and no quoting; values are trimmed
// of surrounding spaces. name is used in error positions ("ors.ini:12").
// Parsing starts from Defaults and ends with Validate; all problems are
// reported together, in line order.
func Parse(r io.Reader, name string) (*Config, error) {
	c := Defaults()
	var l errorList
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	section := ""
	lineNo := 0
	for sc.Scan() {
		lineNo++
		o := origin{pos: fmt.Sprintf("%s:%d", name, lineNo), line: lineNo}
		syntax := func(format string, args ...any) {
			l.add(&Error{Pos: o.pos, line: o.line, Msg: "syntax error: " + fmt.Sprintf(format, args...)})
		}
		line := sc.Text()
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // BOM left by Windows editors
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.TrimSpace(line[end+1:]) != "" {
				syntax("%q is not a [section] header", truncate(line))
				section = "\x00" // ignore options up to the next good header
				continue
			}
			section = strings.ToLower(strings.TrimSpace(line[1:end]))
			if section == "" {
				syntax("empty section name")
				section = "\x00"
			} else if e := sectionTypo(o, section); e != nil && !knownSection(section) {
				l.add(e)
				section = "\x00" // its options are not checked against the wrong section
			}
		default:
			option, value, ok := strings.Cut(line, "=")
			option = strings.TrimSpace(option)
			switch {
			case !ok:
				syntax("%q is not an option = value line", truncate(line))
			case option == "":
				syntax("no option name before \"=\"")
			case section == "":
				syntax("option %q outside any [section]", truncate(option))
			case section == "\x00" || !knownSection(section):
				// Not ours (or under a broken header): skipped.
			default:
				c.set(&l, o, section, option, value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		msg := "read error"
		if errors.Is(err, bufio.ErrTooLong) {
			msg = fmt.Sprintf("line longer than %d bytes", maxLine)
		}
		l.add(&Error{Pos: fmt.Sprintf("%s:%d", name, lineNo+1), line: lineNo + 1, Msg: msg, Err: err})
	}
	c.validate(&l)
	if err := l.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// ParseFile opens and parses the file at path (see Parse). An error
// opening the file is returned as is: it is not a configuration error.
func ParseFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Validate checks c as a whole: each value's range and form, and the
// options that depend on each other. It reports every problem at once
// (errors.Join of *Error, wrapping ErrInvalid); for options read by Parse
// the errors carry their file and line. Files named by tls-* options must
// exist when tls-enabled is true; their contents are checked by TLSConfig.
func (c *Config) Validate() error {
	var l errorList
	c.validate(&l)
	return l.err()
}

func (c *Config) validate(l *errorList) {
	const P, O = SectionPersistence, SectionOrchestration
	p := &c.Persistence
	// A required option that is missing has no line of its own; its
	// error points at the option that requires it.
	cause := map[optionKey]optionKey{}
	fail := func(section, option, msg string, err error) {
		o, ok := c.origin[optionKey{section, option}]
		if !ok || o.pos == "" {
			if by, ok := cause[optionKey{section, option}]; ok {
				o = c.origin[by]
			}
		}
		l.add(&Error{Pos: o.pos, line: o.line, Section: section, Option: option, Msg: msg, Err: err})
	}
	// check runs f unless the option already failed to parse.
	check := func(section, option string, f func() (msg string, err error)) {
		if l.isBad(section, option) {
			return
		}
		if msg, err := f(); msg != "" {
			fail(section, option, msg, err)
		}
	}
	// Requirements hold only if the option that imposes them parsed: one
	// mistake, one error.
	redis := p.Type == TypeRedis && !l.isBad(P, "type")
	withNode := c.SessionIDWithNodeID && !l.isBad(O, "sessionid-with-nodeid")
	if redis {
		for _, k := range []optionKey{{O, "cluster-name"}, {O, "sessionid-with-nodeid"}, {P, "redis-nodes"}} {
			cause[k] = optionKey{P, "type"}
		}
	}
	if withNode {
		cause[optionKey{O, "node-id"}] = optionKey{O, "sessionid-with-nodeid"}
	}
	if p.HashSessionKeys {
		cause[optionKey{P, "hash-key"}] = optionKey{P, "hash-session-keys"}
	}

	check(O, "node-id", func() (string, error) {
		if c.Node == "" {
			if withNode {
				return "required when sessionid-with-nodeid is true", nil
			}
			return "", nil
		}
		if _, err := ids.ParseNodeID(string(c.Node)); err != nil {
			var pe *ids.ParseError
			if errors.As(err, &pe) {
				return fmt.Sprintf("%q: %s", pe.Input, pe.Reason), nil
			}
			return err.Error(), nil
		}
		return "", nil
	})
	check(O, "cluster-name", func() (string, error) {
		if c.Cluster == "" {
			if redis {
				return "required when [persistence] type is redis (keys are ORS:<cluster-name>)", nil
			}
			return "", nil
		}
		return checkClusterName(c.Cluster), nil
	})
	check(O, "sessionid-with-nodeid", func() (string, error) {
		if redis && !c.SessionIDWithNodeID {
			return "must be true when [persistence] type is redis, or a backup cannot tell which sessions to recover", nil
		}
		return "", nil
	})

	check(P, "type", func() (string, error) {
		switch p.Type {
		case "", TypeNone, TypeMemory, TypeRedis: // "" only from code: the default
			return "", nil
		case "cassandra":
			return `"cassandra" is not supported by this engine (use redis)`, nil
		}
		return fmt.Sprintf("%q is not one of none, memory, redis", p.Type), nil
	})
	check(P, "redis-nodes", func() (string, error) {
		if len(p.RedisNodes) == 0 {
			if redis {
				return "at least one host:port required when type is redis", nil
			}
			return "", nil
		}
		var msgs []string
		seen := map[string]bool{}
		for _, a := range p.RedisNodes {
			if msg := checkAddr(a); msg != "" {
				msgs = append(msgs, msg)
			} else if seen[a] {
				msgs = append(msgs, fmt.Sprintf("%q listed twice", a))
			}
			seen[a] = true
		}
		return strings.Join(msgs, "; "), nil
	})
	check(P, "username", func() (string, error) {
		if p.Username != "" && p.Password == "" {
			return "set without password (Redis AUTH needs both)", nil
		}
		return "", nil
	})
	for _, d := range []struct {
		option string
		v      time.Duration
		unit   time.Duration
	}{
		{"redis-connect-timeout", p.ConnectTimeout, time.Millisecond},
		{"redis-socket-timeout", p.SocketTimeout, time.Millisecond},
		{"session-ttl", p.SessionTTL, time.Second},
	} {
		check(P, d.option, func() (string, error) {
			if d.v <= 0 {
				return fmt.Sprintf("%s must be greater than 0", formatIn(d.v, d.unit)), nil
			}
			if d.v%d.unit != 0 {
				return fmt.Sprintf("%v is not a whole number of %s", d.v, unitName(d.unit)), nil
			}
			return "", nil
		})
	}

	t := &p.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		missing, other := "tls-key", "tls-cert"
		if t.CertFile == "" {
			missing, other = "tls-cert", "tls-key"
		}
		// Point at the option that is set: that is the line a reader has.
		check(P, other, func() (string, error) {
			return "set without " + missing + " (both or neither)", nil
		})
	}
	// Files are looked for only when TLS is on: the supplement's migration
	// has options configured before they are enabled, and a file not yet
	// deployed must not stop a node that does not use it.
	for _, f := range []struct {
		option, path string
		dir          bool
	}{
		{"tls-cert", t.CertFile, false},
		{"tls-key", t.KeyFile, false},
		{"tls-cacert", t.CACertFile, false},
		{"tls-cacertdir", t.CACertDir, true},
	} {
		if f.path == "" || !t.Enabled || l.isBad(P, "tls-enabled") {
			continue
		}
		check(P, f.option, func() (string, error) {
			fi, err := os.Stat(f.path)
			switch {
			case err != nil:
				return fmt.Sprintf("%q: %v", f.path, errors.Unwrap(err)), err
			case f.dir && !fi.IsDir():
				return fmt.Sprintf("%q is not a directory", f.path), nil
			case !f.dir && fi.IsDir():
				return fmt.Sprintf("%q is a directory, not a file", f.path), nil
			}
			return "", nil
		})
	}
	check(P, "tls-sni", func() (string, error) {
		if strings.ContainsFunc(t.ServerName, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Sprintf("%q contains spaces or control characters", t.ServerName), nil
		}
		return "", nil
	})
	c.validateSecurity(check)
}

// formatIn writes d in the option's unit, as the user would have typed it.
func formatIn(d, unit time.Duration) string {
	if d%unit == 0 {
		return fmt.Sprintf("%d %s", d/unit, unitName(unit))
	}
	return d.String()
}

func unitName(unit time.Duration) string {
	if unit == time.Second {
		return "seconds"
	}
	return "milliseconds"
}

// MaxClusterNameLen is the longest cluster-name Validate accepts.
const MaxClusterNameLen = 64

func checkClusterName(s string) string {
	if len(s) > MaxClusterNameLen {
		return fmt.Sprintf("%q: %d characters, longer than %d", truncate(s), len(s), MaxClusterNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Sprintf("%q: character %q at offset %d is not one of [A-Za-z0-9_.-] (the name goes into Redis keys ORS:<cluster-name>)", s, rune(c), i)
		}
	}
	return ""
}

// checkAddr checks one host:port of redis-nodes.
func checkAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", a)
	}
	if host == "" {
		return fmt.Sprintf("%q has no host", a)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Sprintf("%q: host contains spaces or control characters", a)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port %q is not a number from 1 to 65535", a, port)
	}
	return ""
}
