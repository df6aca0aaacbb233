package interp

// The outbox. What a macrostep does to the world outside its session tree
// (events for other sessions and I/O processors, services to start or
// stop, <log> output, the causes of error events) is not done during the
// macrostep: it is recorded, in the order it happened, as Effects in the
// outbox of the top-level session, which the caller takes after the
// macrostep (TakeOutbox) and carries out, the way raft's Ready is taken
// and acknowledged. Only what the algorithm needs at once stays
// synchronous: the Host's Route decides, without delivering anything,
// whether a target can be reached (an error there is raised in the same
// macrostep, before the next executable content: W3C tests 159, 194,
// 496), and events a session sends itself, whichever I/O processor they
// go through, enter its own external queue during the <send> (section
// 6.2; W3C test 201).

// EffectKind says what an Effect asks of the caller.
type EffectKind uint8

// Effect kinds.
const (
	// EffectSend delivers Message to a target outside the session tree:
	// another session ("#_scxml_<id>"), an I/O processor's target, or a
	// service the Host runs ("#_<invokeid>" with its invoke type)
	// (section 6.2).
	EffectSend EffectKind = iota + 1
	// EffectInvoke starts the service Invoke describes (section 6.4),
	// of a type the Host runs (see Invoker).
	EffectInvoke
	// EffectCancelInvoke stops the service InvokeID of type InvokeType:
	// its invoking state was exited, or the session ended (section
	// 6.4.5).
	EffectCancelInvoke
	// EffectLog is the output of a <log> element: Label and Value
	// (section 4.6).
	EffectLog
	// EffectError tells why the error event Event (error.execution or
	// error.communication) was raised: Cause (section 5.10.1). The event
	// itself is already on the session's internal queue: this is for
	// people and observers.
	EffectError
)

// Effect is one thing a macrostep asks the caller to do. It holds no
// reference to the session: it may be carried out on any goroutine, once
// the session is released.
type Effect struct {
	Kind EffectKind
	// From is the id of the session that did it: the top-level session's,
	// or an invoked child's own ("<parent id>.<invokeid>").
	From string
	// Doc is the name (or file) of From's document.
	Doc string
	// At is where in the document it comes from ("file:line:col:
	// <element>"), for the messages of failures found later; "" when
	// unknown.
	At string
	// Message is the event to deliver (EffectSend).
	Message Message
	// Invoke is the service to start (EffectInvoke).
	Invoke *InvokeRequest
	// InvokeID and InvokeType name the service to stop
	// (EffectCancelInvoke).
	InvokeID, InvokeType string
	// Label and Value are the <log> output (EffectLog).
	Label string
	Value any
	// Event and Cause are the error event raised and why (EffectError).
	Event *Event
	Cause error
}

// emit appends an effect of s to the outbox of its top-level session, so
// that the effects of a tree keep the order they happened in.
func (s *Session) emit(fx Effect) {
	fx.From = s.id
	if fx.Doc == "" {
		fx.Doc = s.docName()
	}
	t := s.top
	t.outbox = append(t.outbox, fx)
}

// TakeOutbox returns the effects of the macrosteps run since it was last
// called, in the order they happened, and empties the outbox; spare
// (emptied) becomes its storage, so that a caller handing back the slice
// it carried out allocates nothing from one macrostep to the next. The
// caller carries the effects out (see the package documentation);
// nothing else does. On an invoked child it returns nil: a child's
// effects are in its top-level session's outbox.
func (s *Session) TakeOutbox(spare []Effect) []Effect {
	out := s.outbox
	s.outbox = spare[:0]
	return out
}

// HasEffects reports whether the outbox holds effects.
func (s *Session) HasEffects() bool { return len(s.outbox) > 0 }
