// Package ids makes and parses node-tagged session ids.
//
// ORS recovers sessions after a switchover from persistent storage; to know
// which sessions belonged to the failed node, a session id can carry the id
// of the node that created it (ORS option sessionid-with-nodeid, which the
// ORS 8.1.4 Redis supplement requires to be true for Redis persistence; see
// package config). The supplement does not describe the string form; the one
// below is this package's choice.
//
// # String form
//
// A session id is 128 random bits (a version 4 UUID, RFC 9562) written as
// 32 upper-case hexadecimal digits without dashes, followed, when it carries
// a node id, by "-" and the node id:
//
//	6BA7B8109DAD41D180B400C04FD430C8             (sessionid-with-nodeid=false)
//	6BA7B8109DAD41D180B400C04FD430C8-ors-node-1  (sessionid-with-nodeid=true)
//
// The hex part has a fixed length and no dashes, so the first 32 characters
// are always the UUID and everything after the 33rd is the node id, even
// though node ids may themselves contain "-". There is exactly one string
// for each id (upper case only), so the string can be used as a key as is.
// The alphabet is [0-9A-F], "-" and the node id's [A-Za-z0-9_-]: no "{",
// "}", ":", "#", "/", spaces or glob characters, so the string is safe in a
// Redis Cluster hash tag (ORS:<cluster>:session:{<id>}), in an SCXML target
// "#_scxml_<id>", in a URL path segment and in a Redis MATCH pattern.
//
// The UUID part is a random (version 4) github.com/google/uuid UUID.
package ids

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ErrInvalid is wrapped by every error this package returns for a malformed
// node id or session id; test with errors.Is.
var ErrInvalid = errors.New("ids: invalid id")

// MaxNodeIDLen is the longest node id ParseNodeID accepts.
const MaxNodeIDLen = 32

// hexLen is the length of the UUID part of a session id.
const hexLen = 32

// NodeID names one ORS node (one HA pair member) of a cluster. A valid node
// id has 1 to MaxNodeIDLen characters from [A-Za-z0-9_-], which keeps it
// safe inside Redis keys, hash tags and session ids. The empty NodeID means
// "no node": the session id form used when sessionid-with-nodeid is false.
//
// NodeID is a string type so that constants and persist's string node
// names convert freely; values that did not come from ParseNodeID should be
// checked with Valid before use.
type NodeID string

// ParseNodeID returns s as a NodeID if it is a valid node id (see NodeID).
// The error names s and the first offending character and wraps ErrInvalid.
func ParseNodeID(s string) (NodeID, error) {
	if err := checkNode(s); err != nil {
		return "", &ParseError{What: "node id", Input: s, Reason: err.Error()}
	}
	return NodeID(s), nil
}

// Valid reports whether n is a valid, non-empty node id.
func (n NodeID) Valid() bool { return checkNode(string(n)) == nil }

// String returns n as a string.
func (n NodeID) String() string { return string(n) }

func checkNode(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNodeIDLen:
		return fmt.Errorf("%d characters, longer than %d", len(s), MaxNodeIDLen)
	}
	for i := 0; i < len(s); i++ {
		if !nodeChar(s[i]) {
			return fmt.Errorf("character %s at offset %d is not one of [A-Za-z0-9_-]", quoteByte(s[i]), i)
		}
	}
	return nil
}

func nodeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// SessionID identifies one session: a 128-bit UUID and, optionally, the node
// that created it. The zero SessionID is not a valid id (IsZero reports it).
// SessionIDs are comparable and can be map keys; two SessionIDs are equal
// exactly when their strings are.
type SessionID struct {
	uuid uuid.UUID
	node NodeID
	ok   bool // distinguishes the all-zero UUID from the zero SessionID
}

// New returns a new random session id owned by node (no node id in it when
// node is ""), reading 16 bytes from crypto/rand.
//
// It is the engine's default generator: engine.Options.NewID defaults to
// ids.New(node).String() with the engine's Options.Node, and engine.Open
// uses ids.New("") when the configuration sets sessionid-with-nodeid to
// false. An embedder that makes its own ids (StartOptions.ID) can call it
// the same way to keep the node tag that recovery relies on.
//
// node must be "" or valid (see NodeID); New panics otherwise, because
// that is a programming error that no input can cause once the node id has
// been through ParseNodeID or config validation. Use NewGenerator to get an
// error instead.
func New(node NodeID) SessionID {
	if node != "" && !node.Valid() {
		panic(fmt.Sprintf("ids.New: invalid node id %q", string(node)))
	}
	return SessionID{uuid: uuid.New(), node: node, ok: true}
}

// FromUUID returns the session id made of u and node (no node id when node
// is ""). u is used as is, whatever its version. The error, for an invalid
// node, wraps ErrInvalid.
func FromUUID(u uuid.UUID, node NodeID) (SessionID, error) {
	if node != "" {
		if _, err := ParseNodeID(string(node)); err != nil {
			return SessionID{}, err
		}
	}
	return SessionID{uuid: u, node: node, ok: true}, nil
}

// Parse parses the string form of a session id (see the package
// documentation). It accepts only the canonical form String produces, so
// Parse(s).String() == s for every s it accepts. The error names s and
// what is wrong with it, and wraps ErrInvalid.
func Parse(s string) (SessionID, error) {
	fail := func(format string, args ...any) (SessionID, error) {
		return SessionID{}, &ParseError{What: "session id", Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	const want = "want 32 upper-case hex digits, optionally followed by \"-\" and a node id"
	switch {
	case s == "":
		return fail("empty")
	case isDashedUUID(s):
		return fail("UUID with dashes; %s", want)
	case len(s) < hexLen:
		return fail("%d characters; %s", len(s), want)
	}
	var id SessionID
	for i := 0; i < hexLen; i++ {
		c := s[i]
		v, ok := unhex(c)
		if !ok {
			if 'a' <= c && c <= 'f' {
				return fail("lower-case hex digit %s at offset %d; session ids are upper-case", quoteByte(c), i)
			}
			return fail("character %s at offset %d is not a hex digit; %s", quoteByte(c), i, want)
		}
		id.uuid[i/2] |= v << (4 * (1 - i%2))
	}
	if len(s) > hexLen && s[hexLen] != '-' {
		return fail("character %s at offset %d; %s", quoteByte(s[hexLen]), hexLen, want)
	}
	if len(s) > hexLen {
		node := s[hexLen+1:]
		if err := checkNode(node); err != nil {
			return fail("node id %q: %v", node, err)
		}
		id.node = NodeID(node)
	}
	id.ok = true
	return id, nil
}

// isDashedUUID reports the usual 8-4-4-4-12 UUID form, which deserves a
// clearer error than "not a hex digit".
func isDashedUUID(s string) bool {
	return len(s) >= 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
}

// quoteByte quotes one byte of the input for an error message; bytes of
// multi-byte UTF-8 sequences print as '\xNN', not as the Latin-1 letter.
func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf(`'\x%02x'`, c)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789ABCDEF"

// String returns the canonical string form of id (see the package
// documentation), or "" for the zero SessionID.
func (id SessionID) String() string {
	if !id.ok {
		return ""
	}
	n := hexLen
	if id.node != "" {
		n += 1 + len(id.node)
	}
	b := make([]byte, hexLen, n)
	for i, c := range id.uuid {
		b[2*i] = hexDigits[c>>4]
		b[2*i+1] = hexDigits[c&0x0f]
	}
	if id.node != "" {
		b = append(b, '-')
		b = append(b, id.node...)
	}
	return string(b)
}

// Node returns the node that created the session, or "" when id was made
// without a node id (sessionid-with-nodeid=false). Such a session cannot be
// attributed to a node by its id alone: recovery after a switchover has to
// find it some other way (a per-node index) or not at all.
func (id SessionID) Node() NodeID { return id.node }

// UUID returns the UUID part.
func (id SessionID) UUID() uuid.UUID { return id.uuid }

// IsZero reports whether id is the zero SessionID, which no function of this
// package returns without an error.
func (id SessionID) IsZero() bool { return !id.ok }

// MarshalText implements encoding.TextMarshaler with the string form. The
// zero SessionID marshals to an error wrapping ErrInvalid rather than to ""
// so that it cannot be stored by accident.
func (id SessionID) MarshalText() ([]byte, error) {
	if !id.ok {
		return nil, fmt.Errorf("ids: marshal zero session id: %w", ErrInvalid)
	}
	return []byte(id.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with Parse.
func (id *SessionID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseError describes a malformed node id or session id. It wraps
// ErrInvalid.
type ParseError struct {
	What   string // "node id" or "session id"
	Input  string // the offending input, as given
	Reason string // what is wrong with it
}

// maxQuoted bounds how much of a (possibly huge) input an error repeats.
const maxQuoted = 80

// Error implements error: the input (shortened) and what is wrong with it.
func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > maxQuoted {
		in = in[:maxQuoted] + "..."
	}
	return fmt.Sprintf("ids: invalid %s %q: %s", e.What, in, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// Generator makes session ids for one node from a chosen source of
// randomness, typically a seeded one for reproducible tests. It is safe for
// concurrent use: reads from the source are serialized.
type Generator struct {
	node NodeID

	mu   sync.Mutex
	rand io.Reader
}

// NewGenerator returns a Generator of ids owned by node ("" for ids without
// a node id) that reads 16 bytes per id from r; r == nil means crypto/rand
// (through uuid.NewRandom).
// The error, for an invalid node id, wraps ErrInvalid.
func NewGenerator(node NodeID, r io.Reader) (*Generator, error) {
	if node != "" {
		if _, err := ParseNodeID(string(node)); err != nil {
			return nil, err
		}
	}
	return &Generator{node: node, rand: r}, nil
}

// Node returns the node id put into the generated ids ("" for none).
func (g *Generator) Node() NodeID { return g.node }

// New returns a new session id. It fails only if the source of randomness
// does (for example a fixed test source that ran out).
func (g *Generator) New() (SessionID, error) {
	var (
		u   uuid.UUID
		err error
	)
	if g.rand == nil {
		u, err = uuid.NewRandom()
	} else {
		g.mu.Lock()
		u, err = uuid.NewRandomFromReader(g.rand)
		g.mu.Unlock()
	}
	if err != nil {
		return SessionID{}, fmt.Errorf("ids: read random bytes: %w", err)
	}
	return SessionID{uuid: u, node: g.node, ok: true}, nil
}
