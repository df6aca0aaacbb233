package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The [node] section configures `scxml serve`, one engine node as a
// process: where it listens, which documents it serves, its HA role and
// timing. Its options are this package's choice (ORS takes them from its
// Configuration Server application object, not from a file):
//
//	[node]
//	listen            host:port of the HTTP API        (default 127.0.0.1:7070)
//	documents         directories or .scxml files, ";" or "," separated (required)
//	role              primary | backup                 (default primary)
//	max-body          bytes of a request body           (default 1048576)
//	request-timeout   milliseconds a request waits for the session's answer (default 5000)
//	promote-timeout   milliseconds a promotion may take (default 10000)
//	drain-timeout     milliseconds SIGTERM may take to drain (default 30000)
//	adopt-horizon     milliseconds of the due-time index armed ahead (default 60000)
//	wait-replicas     replicas that must have each checkpoint before it is acknowledged (default 0)
//	wait-timeout      milliseconds each WAIT for them may take (default 1000)
//	idealtime-horizon milliseconds ahead a start's idealtime may be (default 60000)
//
// The node's id is [orchestration] node-id: a primary and its backup
// share it, the backup taking it over (with a higher epoch, fencing the
// primary) when promoted.

// SectionNode is the section of the node's options.
const SectionNode = "node"

// Role is a node's HA role, [node] role.
type Role string

// Roles.
const (
	// RolePrimary serves its node id at once: it promotes the id (fencing
	// any earlier holder) and adopts the sessions it left.
	RolePrimary Role = "primary"
	// RoleBackup waits until it is promoted (POST /admin/promote).
	RoleBackup Role = "backup"
)

// Defaults of the [node] options.
const (
	DefaultListen         = "127.0.0.1:7070"
	DefaultMaxBody        = 1 << 20
	DefaultRequestTimeout = 5 * time.Second
	DefaultPromoteTimeout = 10 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultAdoptHorizon   = time.Minute
	DefaultWaitTimeout    = time.Second
	DefaultIdealHorizon   = time.Minute
)

// Node is the [node] section.
type Node struct {
	// Listen is the address of the HTTP API.
	// option: [node] listen
	// default: DefaultListen (127.0.0.1:7070)
	Listen string
	// Documents are directories (every *.scxml file in them, not
	// recursively) and files of the SCXML documents the node serves; a
	// start request names one by file name, with or without .scxml.
	// option: [node] documents
	// default: none (at least one required)
	Documents []string
	// Role is the node's HA role at start.
	// option: [node] role
	// default: RolePrimary
	Role Role
	// MaxBody bounds a request body; a larger one is refused (413).
	// option: [node] max-body, in bytes
	// default: DefaultMaxBody (1 MiB)
	MaxBody int64
	// RequestTimeout is how long POST .../request/NAME waits for the
	// session's answer (504 after it).
	// option: [node] request-timeout, in milliseconds
	// default: DefaultRequestTimeout (5000)
	RequestTimeout time.Duration
	// PromoteTimeout bounds a promotion (raising the epoch, adopting).
	// option: [node] promote-timeout, in milliseconds
	// default: DefaultPromoteTimeout (10000)
	PromoteTimeout time.Duration
	// DrainTimeout bounds the drain on SIGTERM: requests in flight
	// finish, last checkpoints are written.
	// option: [node] drain-timeout, in milliseconds
	// default: DefaultDrainTimeout (30000)
	DrainTimeout time.Duration
	// AdoptHorizon is how far ahead the due-time index of adopted
	// sessions is armed (engine.AdoptOptions.Horizon).
	// option: [node] adopt-horizon, in milliseconds
	// default: DefaultAdoptHorizon (60000)
	AdoptHorizon time.Duration
	// WaitReplicas, when positive, makes every checkpoint wait (Redis
	// WAIT) until that many replicas of its master have it before the
	// request it belongs to is answered (persist.RedisOptions.WaitReplicas):
	// an acknowledged event then survives the failure of its master.
	// option: [node] wait-replicas
	// default: 0, acknowledged once the master has it
	WaitReplicas int
	// WaitTimeout bounds each WAIT of WaitReplicas; a checkpoint fewer
	// replicas acknowledged in time fails (503: resend).
	// option: [node] wait-timeout, in milliseconds
	// default: DefaultWaitTimeout (1000)
	WaitTimeout time.Duration
	// IdealHorizon bounds how far ahead a start request's idealtime
	// (milliseconds since the epoch: start the session then) may be:
	// the request is held until that time (on the engine's Clock), and
	// one further ahead is refused (400).
	// option: [node] idealtime-horizon, in milliseconds
	// default: DefaultIdealHorizon (60000)
	IdealHorizon time.Duration

	origin map[string]string // option → "file:line"
}

// NodeDefaults returns the [node] section every loader starts from.
func NodeDefaults() *Node {
	return &Node{
		Listen:         DefaultListen,
		Role:           RolePrimary,
		MaxBody:        DefaultMaxBody,
		RequestTimeout: DefaultRequestTimeout,
		PromoteTimeout: DefaultPromoteTimeout,
		DrainTimeout:   DefaultDrainTimeout,
		AdoptHorizon:   DefaultAdoptHorizon,
		WaitTimeout:    DefaultWaitTimeout,
		IdealHorizon:   DefaultIdealHorizon,
	}
}

var nodeOptions = map[string]func(n *Node, v string) error{
	"listen":    func(n *Node, v string) error { n.Listen = v; return nil },
	"documents": func(n *Node, v string) error { n.Documents = splitList(v); return nil },
	"role":      func(n *Node, v string) error { n.Role = Role(strings.ToLower(v)); return nil },
	"max-body": func(n *Node, v string) error {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number of bytes", v)
		}
		n.MaxBody = x
		return nil
	},
	"request-timeout":   nodeDuration(func(n *Node) *time.Duration { return &n.RequestTimeout }),
	"promote-timeout":   nodeDuration(func(n *Node) *time.Duration { return &n.PromoteTimeout }),
	"drain-timeout":     nodeDuration(func(n *Node) *time.Duration { return &n.DrainTimeout }),
	"adopt-horizon":     nodeDuration(func(n *Node) *time.Duration { return &n.AdoptHorizon }),
	"wait-timeout":      nodeDuration(func(n *Node) *time.Duration { return &n.WaitTimeout }),
	"idealtime-horizon": nodeDuration(func(n *Node) *time.Duration { return &n.IdealHorizon }),
	"wait-replicas": func(n *Node, v string) error {
		x, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number of replicas", v)
		}
		n.WaitReplicas = x
		return nil
	},
}

func nodeDuration(field func(*Node) *time.Duration) func(*Node, string) error {
	return func(n *Node, v string) error {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil || x > int64(time.Duration(1<<62)/time.Millisecond) {
			return fmt.Errorf("%q is not a duration in milliseconds", v)
		}
		*field(n) = time.Duration(x) * time.Millisecond
		return nil
	}
}

// Set sets one [node] option as if read from a file (a command-line
// override); an empty value leaves it as it is. It does not validate.
func (n *Node) Set(option, value string) error {
	option = strings.ToLower(strings.TrimSpace(option))
	set, ok := nodeOptions[option]
	if !ok {
		return &Error{Section: SectionNode, Option: option, Msg: "unknown option" + suggestNode(option)}
	}
	if value = strings.TrimSpace(value); value == "" {
		return nil
	}
	if err := set(n, value); err != nil {
		return &Error{Pos: n.origin[option], Section: SectionNode, Option: option, Msg: err.Error()}
	}
	return nil
}

func suggestNode(option string) string {
	for _, k := range slices.Sorted(mapKeys(nodeOptions)) {
		if closeTo(option, k) {
			return fmt.Sprintf(" (did you mean %s?)", k)
		}
	}
	return ""
}

// Override sets one [node] option from the command line (--listen ...):
// as Set, but errors found later by Validate name the flag, not the
// file's line.
func (n *Node) Override(option, value string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	if err := n.Set(option, value); err != nil {
		return err
	}
	if n.origin == nil {
		n.origin = map[string]string{}
	}
	n.origin[strings.ToLower(option)] = "--" + strings.ToLower(option)
	return nil
}

// ParseNode reads the [node] section of an INI-style file (the same file
// Parse reads: Parse skips [node], ParseNode skips every other section),
// starting from NodeDefaults and ending with Validate. name is used in
// error positions. Syntax errors outside [node] are Parse's to report.
func ParseNode(r io.Reader, name string) (*Node, error) {
	return readNode(r, name, true)
}

// ReadNodeFile is ParseNodeFile without Validate, for a caller that
// overrides options first (Override) and validates after.
func ReadNodeFile(path string) (*Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readNode(f, path, false)
}

func readNode(r io.Reader, name string, validate bool) (*Node, error) {
	n := NodeDefaults()
	n.origin = map[string]string{}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	section, lineNo := "", 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			section = ""
			if end > 0 {
				section = strings.ToLower(strings.TrimSpace(line[1:end]))
			}
		case section == SectionNode:
			option, value, ok := strings.Cut(line, "=")
			if !ok {
				continue // Parse reports it
			}
			option = strings.ToLower(strings.TrimSpace(option))
			pos := fmt.Sprintf("%s:%d", name, lineNo)
			if prev, dup := n.origin[option]; dup {
				errs = append(errs, &Error{Pos: pos, line: lineNo, Section: SectionNode, Option: option, Msg: "set more than once (first set at " + prev + ")"})
				continue
			}
			n.origin[option] = pos
			if err := n.Set(option, value); err != nil {
				var ce *Error
				if errors.As(err, &ce) {
					ce.Pos, ce.line = pos, lineNo
				}
				errs = append(errs, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &Error{Pos: fmt.Sprintf("%s:%d", name, lineNo+1), Msg: "read error", Err: err})
	}
	// Every problem at once: Validate's too, but not a second one for an
	// option that failed to parse.
	bad := map[string]bool{}
	for _, err := range errs {
		var ce *Error
		if errors.As(err, &ce) {
			bad[ce.Option] = true
		}
	}
	if validate {
		for _, err := range n.validate() {
			if !bad[err.Option] {
				errs = append(errs, err)
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b error) int {
		var x, y *Error
		errors.As(a, &x)
		errors.As(b, &y)
		if x == nil || y == nil || x.line == 0 || y.line == 0 {
			return 0
		}
		return x.line - y.line
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return n, nil
}

// ParseNodeFile opens the file at path and reads its [node] section (see
// ParseNode).
func ParseNodeFile(path string) (*Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseNode(f, path)
}

// Validate checks every [node] option, reporting all problems at once
// (errors.Join of *Error naming the option, wrapping ErrInvalid).
func (n *Node) Validate() error {
	var errs []error
	for _, e := range n.validate() {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func (n *Node) validate() []*Error {
	var errs []*Error
	fail := func(option, format string, args ...any) {
		pos := n.origin[option]
		line := 0
		if i := strings.LastIndexByte(pos, ':'); i >= 0 {
			line, _ = strconv.Atoi(pos[i+1:])
		}
		errs = append(errs, &Error{Pos: pos, line: line, Section: SectionNode, Option: option, Msg: fmt.Sprintf(format, args...)})
	}
	if host, port, err := net.SplitHostPort(n.Listen); err != nil {
		fail("listen", "%q is not host:port", n.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 || strings.ContainsAny(host, " \t") {
		fail("listen", "%q: port %q is not a number from 0 to 65535", n.Listen, port)
	}
	if len(n.Documents) == 0 {
		fail("documents", "at least one directory or .scxml file required")
	}
	switch n.Role {
	case RolePrimary, RoleBackup:
	default:
		fail("role", "%q is not one of primary, backup", n.Role)
	}
	if n.WaitReplicas < 0 {
		fail("wait-replicas", "%d is negative (0 does not wait)", n.WaitReplicas)
	}
	if n.MaxBody <= 0 {
		fail("max-body", "%d bytes must be greater than 0", n.MaxBody)
	}
	for _, d := range []struct {
		option string
		v      time.Duration
	}{
		{"request-timeout", n.RequestTimeout},
		{"promote-timeout", n.PromoteTimeout},
		{"drain-timeout", n.DrainTimeout},
		{"adopt-horizon", n.AdoptHorizon},
		{"wait-timeout", n.WaitTimeout},
		{"idealtime-horizon", n.IdealHorizon},
	} {
		if d.v <= 0 {
			fail(d.option, "%d milliseconds must be greater than 0", d.v/time.Millisecond)
		}
	}
	return errs
}
