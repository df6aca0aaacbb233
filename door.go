package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Input checked at the door: what a caller hands the engine (contexts,
// session ids and types, events) is checked when it comes in, and refused
// there with an error that names it, rather than failing later (at a
// checkpoint, in the store, in another session) far from its cause.

// Sentinel errors of input checks.
var (
	// ErrInvalidID is wrapped by the error for a session id that is
	// empty, too long or holds a character outside [A-Za-z0-9_:@+=-].
	ErrInvalidID = errors.New("engine: invalid session id")
	// ErrInvalidType is wrapped by the error for a session type that is
	// not one of the SessionType constants.
	ErrInvalidType = errors.New("engine: invalid session type")
	// ErrInvalidEvent is wrapped by the error for an event whose name is
	// empty, too long, or not a sequence of dot-separated tokens
	// (section 3.12.1).
	ErrInvalidEvent = errors.New("engine: invalid event")
)

// MaxIDLen is the longest session id the engine accepts.
const MaxIDLen = 128

// MaxEventNameLen is the longest event name the engine accepts.
const MaxEventNameLen = 256

var sessionTypes = []SessionType{Voice, Chat, Email, SMS, Social, Workitem}

// ready checks what every call needs: a context, not done, and an engine
// not closed.
// op and id name the call in errors; they are joined only then, so that a
// Send allocates nothing for them.
func (e *Engine) ready(ctx context.Context, op, id string) error {
	if ctx == nil {
		return fmt.Errorf("engine: %s: nil context", what(op, id))
	}
	if e.closed.Load() {
		return fmt.Errorf("engine: %s: %w", what(op, id), ErrClosed)
	}
	return ctx.Err()
}

func what(op, id string) string {
	if id == "" {
		return op
	}
	return op + " " + id
}

// open checks that the engine is not closed, for calls without context.
func (e *Engine) open(op, id string) error {
	if e.closed.Load() {
		return fmt.Errorf("engine: %s: %w", what(op, id), ErrClosed)
	}
	return nil
}

// checkID checks a session id; what names where it came from.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("engine: %s: empty session id: %w", what, ErrInvalidID)
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("engine: %s %.20q...: %d bytes, longer than %d: %w", what, id, len(id), MaxIDLen, ErrInvalidID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_:@+=-", c) >= 0 {
			continue
		}
		return fmt.Errorf("engine: %s %q: character %q at offset %d is not one of [A-Za-z0-9_:@+=-]: %w", what, id, c, i, ErrInvalidID)
	}
	return nil
}

// checkType checks a session type.
func checkType(what string, t SessionType) error {
	if slices.Contains(sessionTypes, t) {
		return nil
	}
	hint := ""
	if l := SessionType(strings.ToLower(strings.TrimSpace(string(t)))); slices.Contains(sessionTypes, l) {
		hint = fmt.Sprintf(" (did you mean %q?)", l)
	}
	return fmt.Errorf("engine: %s %q: not a session type%s; want one of %q: %w", what, t, hint, sessionTypes, ErrInvalidType)
}

// checkEvent checks an event coming in through op, and converts its data
// to the JSON-like form the datamodel takes (typed slices and maps
// become []any and map[string]any; any other Go type is refused, named
// with its path).
func checkEvent(op, id string, ev *Event) error {
	if err := checkEventName(ev.Name); err != nil {
		return fmt.Errorf("engine: %s: %w", what(op, id), err)
	}
	if ev.Data != nil {
		d, err := jsonLike(ev.Data, "Event.Data")
		if err != nil {
			return fmt.Errorf("engine: %s %q to %s: %w", strings.TrimSuffix(op, " to"), ev.Name, id, err)
		}
		ev.Data = d
	}
	return nil
}

func checkEventName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("event with no name: %w", ErrInvalidEvent)
	case len(name) > MaxEventNameLen:
		return fmt.Errorf("event name %.20q...: %d bytes, longer than %d: %w", name, len(name), MaxEventNameLen, ErrInvalidEvent)
	case name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, ".."):
		return fmt.Errorf("event name %q: an empty token (names are dot-separated tokens): %w", name, ErrInvalidEvent)
	}
	for i, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '*' || r == unicode.ReplacementChar {
			return fmt.Errorf("event name %q: character %q at offset %d is not allowed in an event name: %w", name, r, i, ErrInvalidEvent)
		}
	}
	return nil
}
