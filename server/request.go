package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	engine "github.com/orsgo/engine"
)

// Answering requests. POST /scxml/session/{id}/request/{name} delivers
// the event name with _event.sendid and _event.origin set to a fresh
// request id and _event.origintype to RequestType, then waits ([node]
// request-timeout) for the session to answer, in either of two ways:
//
//	<scxml xmlns:ors="urn:orsgo:engine" ...>
//	  <transition event="balance">
//	    <ors:response expr="{balance: account.balance}"/>
//	  </transition>
//
// <response> (in Namespace) answers the request with the value of expr,
// or an object of the variables of namelist, or null; requestid (an
// expression) names the request, by default _event.sendid, so that a
// later macrostep can answer a request it kept the id of. Or with
// standard SCXML, a send to the request's origin:
//
//	<send event="answer" targetexpr="_event.origin" typeexpr="_event.origintype" namelist="balance"/>
//
// whose data is the answer. An answer to a request nobody waits for any
// more (timed out, or lost with its node) is dropped. Requests are not
// recovered: a client whose node failed over asks again.
//
// An answer is sent only once the macrostep that gave it is durably
// checkpointed, like the answer to an event: the request's own event
// and an answer given by a later macrostep (a timer, an event from
// elsewhere) alike. The answer is held until that macrostep's run ends
// (its checkpoint written or failed); when the checkpoint failed, the
// request answers 503 (the session may roll back to before the answer
// in a failover), and the client asks again. A send to the origin is
// dispatched while its macrostep may still run: it is held the same way,
// until the session's run in flight has ended. A session that is not
// persisted (a digital one) answers at the end of the macrostep.

// Namespace is the XML namespace of the engine's own elements
// (<response>).
const Namespace = "urn:orsgo:engine"

// RequestType is the _event.origintype of a request's event: a <send> of
// this type to _event.origin answers the request.
const RequestType = "urn:orsgo:engine:request"

// reply is what a waiting request receives: the answer, or why it
// cannot be given.
type reply struct {
	v   any
	err error
}

// requests are the requests waiting for their session's answer, and the
// answers held until their macrostep's checkpoint is written.
type requests struct {
	mu      sync.Mutex
	waiting map[string]chan reply
	// held are the answers given in a run whose checkpoint is not known
	// yet, by top-level session id.
	held  map[string][]heldAnswer
	nheld atomic.Int64 // answers in held: the observers' fast path
	// failed holds the top-level sessions whose last checkpoint failed.
	failed sync.Map
}

// heldAnswer is an answer to request req, held until its checkpoint.
type heldAnswer struct {
	req string
	v   any
}

func (r *requests) open() (string, chan reply) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "req-" + hex.EncodeToString(b[:])
	ch := make(chan reply, 1)
	r.mu.Lock()
	r.waiting[id] = ch
	r.mu.Unlock()
	return id, ch
}

func (r *requests) close(id string) {
	r.mu.Lock()
	delete(r.waiting, id)
	r.mu.Unlock()
}

// answer hands rep to the request id; false when nobody waits for it.
func (r *requests) answer(id string, rep reply) bool {
	r.mu.Lock()
	ch := r.waiting[id]
	delete(r.waiting, id)
	r.mu.Unlock()
	if ch == nil {
		return false
	}
	ch <- rep
	return true
}

// closeAll answers every waiting request err: the node shuts down.
func (r *requests) closeAll(err error) {
	r.mu.Lock()
	waiting := r.waiting
	r.waiting = map[string]chan reply{}
	r.held = nil
	r.nheld.Store(0)
	r.mu.Unlock()
	for _, ch := range waiting {
		ch <- reply{err: err}
	}
}

// hold keeps the answer v to request req, given by session sid (a
// top-level id), until release; false when nobody waits for req.
func (r *requests) hold(sid, req string, v any) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting[req] == nil {
		return false
	}
	if r.held == nil {
		r.held = map[string][]heldAnswer{}
	}
	r.held[sid] = append(r.held[sid], heldAnswer{req: req, v: v})
	r.nheld.Add(1)
	return true
}

// release sends the answers held for session sid (only the one to
// request only, when not empty): their values when err is nil, err
// otherwise. It returns how many it took.
func (r *requests) release(sid, only string, err error) int {
	if r.nheld.Load() == 0 {
		return 0
	}
	r.mu.Lock()
	var out []heldAnswer
	if only == "" {
		out = r.held[sid]
		delete(r.held, sid)
	} else {
		l := r.held[sid]
		for i, h := range l {
			if h.req == only {
				out = []heldAnswer{h}
				l = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(r.held, sid)
		} else {
			r.held[sid] = l
		}
	}
	r.nheld.Add(-int64(len(out)))
	r.mu.Unlock()
	for _, h := range out {
		rep := reply{v: h.v, err: err}
		r.answer(h.req, rep)
	}
	return len(out)
}

// lastCheckpoint returns the error of session sid's last checkpoint, or
// nil when it was written (or the session is not persisted).
func (r *requests) lastCheckpoint(sid string) error {
	if _, ok := r.failed.Load(sid); ok {
		return errAnswerNotDurable
	}
	return nil
}

// forget drops what failed holds of a session that ended.
func (r *requests) forget(sid string) {
	if _, ok := r.failed.Load(sid); ok {
		r.failed.Delete(sid)
	}
}

// errAnswerNotDurable is the cause of a 503 to a request answered in a
// macrostep whose checkpoint was not written.
var errAnswerNotDurable = fmt.Errorf("the session answered, but the checkpoint of the macrostep that gave the answer was not written (a failover now would resume the session from before it); ask again: %w", engine.ErrCheckpoint)

// rootID is the top-level session of session id: an invoked child's id
// is "<parent id>.<invokeid>", and a session id holds no dot.
func rootID(id string) string {
	if i := strings.IndexByte(id, '.'); i >= 0 {
		return id[:i]
	}
	return id
}

// observer releases held answers when their run's checkpoint is known:
// at the end of each run (Macrostep, after its checkpoint), and when a
// session ends otherwise (Cancel) or is lost. It also notes which
// sessions' last checkpoint failed, for answers dispatched after their
// run (sends to the origin).
func (s *Server) observer() *engine.Observer {
	r := &s.reqs
	return &engine.Observer{
		// Time nothing on our account: the metrics' sampling decides.
		TimingSample: 1 << 30,
		Checkpoint: func(ci engine.CheckpointInfo) {
			if ci.Err != nil {
				r.failed.Store(ci.SessionID, struct{}{})
			} else if _, ok := r.failed.Load(ci.SessionID); ok {
				r.failed.Delete(ci.SessionID)
			}
		},
		Macrostep: func(mi engine.MacrostepInfo) {
			var err error
			if errors.Is(mi.Err, engine.ErrCheckpoint) || errors.Is(mi.Err, engine.ErrFenced) {
				err = fmt.Errorf("%w (%w)", errAnswerNotDurable, mi.Err)
				r.failed.Store(mi.SessionID, struct{}{})
			}
			r.release(mi.SessionID, "", err)
		},
		Session: func(ev engine.SessionEvent) {
			switch ev.Kind {
			case engine.SessionEnded:
				r.release(ev.SessionID, "", r.lastCheckpoint(ev.SessionID))
				r.forget(ev.SessionID)
			case engine.SessionFenced, engine.SessionLost:
				r.release(ev.SessionID, "", fmt.Errorf("%w (session %s %s)", errAnswerNotDurable, ev.SessionID, ev.Kind))
				r.forget(ev.SessionID)
			}
		},
	}
}

// extension is the engine extension running <response>.
func (s *Server) extension() *engine.Extension {
	return &engine.Extension{
		Name:      "ors",
		Namespace: Namespace,
		Actions:   map[string]engine.Action{"response": s.response},
	}
}

// response runs <ors:response requestid? expr? namelist?>.
func (s *Server) response(c *engine.ActionContext) error {
	idExpr := "_event.sendid"
	if v, ok := c.Attr("requestid"); ok {
		idExpr = v
	}
	idv, err := c.Eval(idExpr)
	if err != nil {
		return fmt.Errorf("requestid: %w", err)
	}
	id, _ := idv.(string)
	if id == "" {
		return fmt.Errorf("requestid %q: %v is not a request id", idExpr, idv)
	}
	var v any
	if expr, ok := c.Attr("expr"); ok {
		if v, err = c.Eval(expr); err != nil {
			return fmt.Errorf("expr: %w", err)
		}
	} else if nl, ok := c.Attr("namelist"); ok {
		m := map[string]any{}
		for _, name := range strings.Fields(nl) {
			if m[name], err = c.Eval(name); err != nil {
				return fmt.Errorf("namelist %s: %w", name, err)
			}
		}
		v = m
	}
	// Held until the checkpoint of this run: the observer releases it.
	if !s.reqs.hold(rootID(c.Session().ID()), id, v) {
		s.opts.Logf("session %s: <response> to request %s, which nobody waits for", c.Session().ID(), id)
	}
	return nil
}

// requestProcessor is the I/O processor of RequestType: a send to a
// request's origin answers it.
type requestProcessor struct{ s *Server }

func (p requestProcessor) Name() string                     { return "request" }
func (p requestProcessor) Types() []string                  { return []string{RequestType} }
func (p requestProcessor) Open(*engine.Engine) error        { return nil }
func (p requestProcessor) Location(sessionID string) string { return "" }
func (p requestProcessor) Close() error                     { return nil }

// errNoRequest is the error.communication cause of a send to a request
// nobody waits for.
var errNoRequest = errors.New("no request waits for this answer (timed out, or answered already)")

// Send holds the answer until the run that dispatched it has ended: the
// observer releases it then or, when that run ended before the hold, a
// goroutine that waits for the session's run in flight (by taking its
// lock, which a caller of Send may hold) releases it, with the outcome
// of the session's last checkpoint.
func (p requestProcessor) Send(_ context.Context, from, target string, ev engine.Event) error {
	sid := rootID(from)
	if !p.s.reqs.hold(sid, target, ev.Data) {
		return fmt.Errorf("request %s: %w", target, errNoRequest)
	}
	go func() {
		if sess, err := p.s.e.Session(sid); err == nil {
			sess.Running() // returns once the run in flight, if any, has ended
		}
		p.s.reqs.release(sid, target, p.s.reqs.lastCheckpoint(sid))
	}()
	return nil
}
