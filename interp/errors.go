package interp

import "errors"

// Sentinel errors callers can branch on.
var (
	// ErrNoDocument is returned by Compile for a nil or empty document.
	ErrNoDocument = errors.New("interp: no document")
	// ErrUnsupportedDatamodel is returned by Compile for a datamodel other
	// than "ecmascript" and "null".
	ErrUnsupportedDatamodel = errors.New("interp: unsupported datamodel")
	// ErrNotStarted is returned when a session is used before Start.
	ErrNotStarted = errors.New("interp: session not started")
	// ErrLivelock is returned when a macrostep takes more microsteps than
	// Options.MaxMicrosteps (the chart loops on eventless transitions or
	// internal events), or one Run more macrosteps than
	// Options.MaxMacrosteps (it keeps sending itself events). The session
	// stays consistent at a step boundary; the caller decides whether to
	// cancel it.
	ErrLivelock = errors.New("interp: macrostep does not terminate")

	// ErrUnreachable is returned by a Host whose target cannot be reached;
	// the sending session gets error.communication (section 6.2).
	ErrUnreachable = errors.New("interp: send target unreachable")
	// ErrInvalidTarget is returned by a Host for a target it cannot
	// interpret; the sending session gets error.execution.
	ErrInvalidTarget = errors.New("interp: invalid send target")
	// ErrUnsupportedType is returned by a Host for an event I/O processor
	// type it does not implement; the sending session gets error.execution.
	ErrUnsupportedType = errors.New("interp: unsupported event I/O processor type")
)
