package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

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
// The request's own event is checkpointed before the answer is sent,
// like any event's; an answer given by a later macrostep (a timer, an
// event from elsewhere) is sent as that macrostep runs, before its
// checkpoint is written.

// Namespace is the XML namespace of the engine's own elements
// (<response>).
const Namespace = "urn:orsgo:engine"

// RequestType is the _event.origintype of a request's event: a <send> of
// this type to _event.origin answers the request.
const RequestType = "urn:orsgo:engine:request"

// requests are the requests waiting for their session's answer.
type requests struct {
	mu      sync.Mutex
	waiting map[string]chan any
}

func (r *requests) open() (string, chan any) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "req-" + hex.EncodeToString(b[:])
	ch := make(chan any, 1)
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

// answer hands v to the request id; false when nobody waits for it.
func (r *requests) answer(id string, v any) bool {
	r.mu.Lock()
	ch := r.waiting[id]
	delete(r.waiting, id)
	r.mu.Unlock()
	if ch == nil {
		return false
	}
	ch <- v
	return true
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
	if !s.reqs.answer(id, v) {
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

func (p requestProcessor) Send(_ context.Context, from, target string, ev engine.Event) error {
	if !p.s.reqs.answer(target, ev.Data) {
		return fmt.Errorf("request %s: %w", target, errNoRequest)
	}
	return nil
}
