package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/persist"
)

// The HTTP API (README "scxml serve" has curl examples). Every answer is
// a JSON object; an error is {"error": message} with a 4xx status for a
// bad request (nothing changed) and 503 when this node cannot serve now
// (a backup, promoting, fenced, draining; a checkpoint not written),
// with "owner" naming the node that runs the session when it is known
// and not this one.

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /scxml/session/start", s.handleStart)
	m.HandleFunc("POST /scxml/session/{id}/event/{name}", s.handleEvent)
	m.HandleFunc("POST /scxml/session/{id}/request/{name}", s.handleRequest)
	m.HandleFunc("GET /scxml/session/{id}/query", s.handleQuery)
	m.HandleFunc("POST /scxml/session/{id}/terminate", s.handleTerminate)
	m.HandleFunc("GET /admin/health", s.handleHealth)
	m.HandleFunc("POST /admin/promote", s.handlePromote)
	m.HandleFunc("GET /admin/sessions", s.handleSessions)
	m.HandleFunc("GET /admin/metrics", s.handleMetrics)
	return m
}

// ServeHTTP answers with the API, with JSON errors for unknown resources
// (404) and methods a resource does not take (405).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		fail(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	fail(w, http.StatusNotFound, fmt.Errorf("%s %s: no such resource (see /scxml/session/..., /admin/...)", r.Method, r.URL.Path))
}

// apiError is an error with its HTTP status and, when known, the node
// that owns the session.
type apiError struct {
	status int
	owner  string
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, err: fmt.Errorf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers err: an *apiError with its status and owner, others with
// status.
func fail(w http.ResponseWriter, status int, err error) {
	body := map[string]any{"error": err.Error()}
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.status
		if ae.owner != "" {
			body["owner"] = ae.owner
		}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// serving returns nil when the node serves sessions, else the 503 to
// answer.
func (s *Server) serving() *apiError {
	if err := s.fenced(); err != nil {
		return &apiError{status: http.StatusServiceUnavailable, owner: s.e.Node(),
			err: fmt.Errorf("this process lost node %s to another process that promoted it (it serves the node's sessions now); this one serves nothing more: %w", s.e.Node(), err)}
	}
	switch st := s.State(); st {
	case StateServing:
		return nil
	case StateBackup:
		return errorf(http.StatusServiceUnavailable, "node %s: this process is its backup and serves no session until promoted (POST /admin/promote)", s.e.Node())
	case StatePromoting:
		return errorf(http.StatusServiceUnavailable, "node %s: promotion under way, retry shortly", s.e.Node())
	default:
		return errorf(http.StatusServiceUnavailable, "node %s: %s, not serving", s.e.Node(), st)
	}
}

// params reads a request's parameters: its query string, and its body,
// form-encoded or JSON (at most [node] max-body bytes). A JSON body that
// is an object is merged with the query parameters (the body's win); any
// other JSON value is returned as body with the query parameters in q.
func (s *Server) params(w http.ResponseWriter, r *http.Request) (q map[string]any, body any, hasBody bool, err error) {
	q = map[string]any{}
	qs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, false, errorf(http.StatusBadRequest, "query string: %v", err)
	}
	addValues(q, qs)
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.Node.MaxBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, false, errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes ([node] max-body)", s.opts.Node.MaxBody)
		}
		return nil, nil, false, errorf(http.StatusBadRequest, "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return q, nil, false, nil
	}
	ct := r.Header.Get("Content-Type")
	mt := "application/x-www-form-urlencoded"
	if ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, nil, false, errorf(http.StatusUnsupportedMediaType, "Content-Type %q: %v", ct, err)
		}
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return nil, nil, false, errorf(http.StatusBadRequest, "malformed JSON body: %v", err)
		}
		if dec.More() {
			return nil, nil, false, errorf(http.StatusBadRequest, "malformed JSON body: more than one value")
		}
		if obj, ok := body.(map[string]any); ok {
			for k, v := range obj {
				q[k] = v
			}
			return q, nil, false, nil
		}
		return q, body, true, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, nil, false, errorf(http.StatusBadRequest, "malformed form body: %v", err)
		}
		addValues(q, form)
		return q, nil, false, nil
	}
	return nil, nil, false, errorf(http.StatusUnsupportedMediaType, "Content-Type %q: want application/json or application/x-www-form-urlencoded", ct)
}

// addValues adds form values: one value as a string, several as a list.
func addValues(dst map[string]any, v url.Values) {
	for k, vs := range v {
		if len(vs) == 1 {
			dst[k] = vs[0]
			continue
		}
		l := make([]any, len(vs))
		for i, x := range vs {
			l[i] = x
		}
		dst[k] = l
	}
}

// checkName checks an event name: an SCXML event name is tokens of
// letters, digits, "_", "-" and ":" separated by dots.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty event name")
	}
	for _, tok := range strings.Split(name, ".") {
		if tok == "" {
			return fmt.Errorf("event name %q: empty token between dots", name)
		}
		for _, c := range tok {
			if !(c == '_' || c == '-' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return fmt.Errorf("event name %q: character %q is not allowed (letters, digits, _ - : and dots)", name, c)
			}
		}
	}
	return nil
}

// startParams are the parameters of a start request that are not data.
var startParams = map[string]bool{"src": true, "session-type": true, "idealtime": true}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	if ae := s.serving(); ae != nil {
		fail(w, 0, ae)
		return
	}
	q, body, hasBody, err := s.params(w, r)
	if err != nil {
		fail(w, 0, err)
		return
	}
	if hasBody {
		fail(w, http.StatusBadRequest, fmt.Errorf("start: the JSON body must be an object of parameters, not %T", body))
		return
	}
	src, _ := q["src"].(string)
	if src == "" {
		fail(w, http.StatusBadRequest, errors.New("start: parameter src (the document to run) is required"))
		return
	}
	doc, err := s.document(src)
	if err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("start: %w", err))
		return
	}
	typ := engine.Voice
	if v, ok := q["session-type"]; ok {
		str, _ := v.(string)
		switch t := engine.SessionType(strings.ToLower(str)); t {
		case engine.Voice, engine.Chat, engine.Email, engine.SMS, engine.Social, engine.Workitem:
			typ = t
		default:
			fail(w, http.StatusBadRequest, fmt.Errorf("start: session-type %v: not one of voice, chat, email, sms, social, workitem", v))
			return
		}
	}
	var ideal time.Time
	if v, ok := q["idealtime"]; ok {
		ms, err := json.Number(fmt.Sprint(v)).Int64()
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Errorf("start: idealtime %v: not milliseconds since the epoch", v))
			return
		}
		ideal = time.UnixMilli(ms)
		if ahead := ideal.Sub(s.clock().Now()); ahead > s.opts.Node.IdealHorizon {
			fail(w, http.StatusBadRequest, fmt.Errorf("start: idealtime %d is %v ahead, beyond [node] idealtime-horizon %v", ms, ahead.Round(time.Millisecond), s.opts.Node.IdealHorizon))
			return
		}
	}
	data := map[string]any{}
	for k, v := range q {
		if !startParams[k] {
			data[k] = v
		}
	}
	if !ideal.IsZero() {
		if ae := s.waitUntil(r.Context(), ideal); ae != nil {
			fail(w, 0, ae)
			return
		}
	}
	sess, err := s.e.Start(r.Context(), doc, engine.StartOptions{Type: typ, Data: data})
	if err != nil {
		fail(w, 0, s.sessionError("start", sess, err))
		return
	}
	if !sess.Running() {
		s.ended.add(sess.ID())
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionid": sess.ID()})
}

// waitUntil holds a start request until its idealtime on the engine's
// clock. Nothing exists meanwhile: a client whose node fails over (or
// drains) before then gets no answer, or 503, and asks the backup.
func (s *Server) waitUntil(ctx context.Context, at time.Time) *apiError {
	clk := s.clock()
	if d := at.Sub(clk.Now()); d > 0 {
		due := make(chan struct{})
		t := clk.AfterFunc(d, func() { close(due) })
		defer t.Stop()
		select {
		case <-due:
		case <-ctx.Done():
			return &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("start: waiting for idealtime %d: %w", at.UnixMilli(), ctx.Err())}
		case <-s.stopping:
			return errorf(http.StatusServiceUnavailable, "start: node %s stopped before idealtime %d; no session was started (its backup starts it once promoted)", s.e.Node(), at.UnixMilli())
		}
	}
	return s.serving()
}

// sessionError maps an engine error of a call on sess (nil for Start
// that failed before the session existed) to its answer.
func (s *Server) sessionError(op string, sess *engine.Session, err error) *apiError {
	id := ""
	if sess != nil {
		id = " " + sess.ID()
	}
	switch {
	case errors.Is(err, engine.ErrInvalidData):
		return &apiError{status: http.StatusBadRequest, err: fmt.Errorf("%s%s: %w", op, id, err)}
	case errors.Is(err, engine.ErrFenced):
		s.setFenced(err)
		return &apiError{status: http.StatusServiceUnavailable, owner: s.e.Node(), err: fmt.Errorf("%s%s: this process lost the session to another: %w", op, id, err)}
	case errors.Is(err, engine.ErrCheckpoint):
		return &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("%s%s: the macrostep ran but its checkpoint was not written; resend once the store is back: %w", op, id, err)}
	case errors.Is(err, engine.ErrClosed), errors.Is(err, engine.ErrWake):
		return &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("%s%s: %w", op, id, err)}
	case errors.Is(err, engine.ErrNoSession):
		return &apiError{status: http.StatusGone, err: fmt.Errorf("%s%s: %w", op, id, err)}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("%s%s: %w", op, id, err)}
	}
	return &apiError{status: http.StatusInternalServerError, err: fmt.Errorf("%s%s: %w", op, id, err)}
}

// session finds the session of a request's {id}: running here, or
// adopted and loaded now. Otherwise the answer says why: a malformed id
// (400), a session that ended (410), one another node owns (409, with
// owner), or none (404).
func (s *Server) session(ctx context.Context, id string) (*engine.Session, *apiError) {
	if ae := s.serving(); ae != nil {
		return nil, ae
	}
	sid, err := ids.Parse(id)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "session id %q: %v", id, err)
	}
	sess, err := s.e.Lookup(ctx, id)
	if err == nil {
		return sess, nil
	}
	if !errors.Is(err, engine.ErrNoSession) {
		if errors.Is(err, engine.ErrFenced) {
			return nil, s.sessionError("session", nil, err)
		}
		return nil, &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("session %s: %w", id, err)}
	}
	if s.ended.has(id) {
		return nil, errorf(http.StatusGone, "session %s has ended", id)
	}
	if st := s.e.Store(); st != nil {
		rec, lerr := st.Load(ctx, id)
		if lerr == nil && rec.Node != s.e.Node() {
			return nil, &apiError{status: http.StatusConflict, owner: rec.Node, err: fmt.Errorf("session %s is run by node %s, not by this node (%s)", id, rec.Node, s.e.Node())}
		}
		if lerr != nil && !errors.Is(lerr, persist.ErrNotFound) {
			return nil, &apiError{status: http.StatusServiceUnavailable, err: fmt.Errorf("session %s: %w", id, lerr)}
		}
	}
	if n := sid.Node(); n != "" && string(n) != s.e.Node() {
		return nil, &apiError{status: http.StatusNotFound, owner: string(n), err: fmt.Errorf("no session %s here: its id names node %s, this node is %s", id, n, s.e.Node())}
	}
	return nil, errorf(http.StatusNotFound, "no session %s (never started, or ended)", id)
}

// eventFor builds the event of an event or request call.
func (s *Server) eventFor(w http.ResponseWriter, r *http.Request) (engine.Event, *apiError) {
	name := r.PathValue("name")
	if err := checkName(name); err != nil {
		return engine.Event{}, errorf(http.StatusBadRequest, "%v", err)
	}
	q, body, hasBody, err := s.params(w, r)
	if err != nil {
		var ae *apiError
		errors.As(err, &ae)
		return engine.Event{}, ae
	}
	ev := engine.Event{Name: name}
	switch {
	case hasBody && len(q) > 0:
		return engine.Event{}, errorf(http.StatusBadRequest, "event %s: a JSON body that is not an object cannot be merged with query parameters", name)
	case hasBody:
		ev.Data = body
	case len(q) > 0:
		ev.Data = q
	}
	return ev, nil
}

// eventTo reads the event of an event or request call and finds its
// session; it answers the error itself and returns ok false when either
// fails.
func (s *Server) eventTo(w http.ResponseWriter, r *http.Request) (engine.Event, *engine.Session, bool) {
	ev, ae := s.eventFor(w, r)
	if ae != nil {
		fail(w, 0, ae)
		return engine.Event{}, nil, false
	}
	sess, ae := s.session(r.Context(), r.PathValue("id"))
	if ae != nil {
		fail(w, 0, ae)
		return engine.Event{}, nil, false
	}
	return ev, sess, true
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	ev, sess, ok := s.eventTo(w, r)
	if !ok {
		return
	}
	if err := sess.Send(r.Context(), ev); err != nil {
		fail(w, 0, s.sessionError("event "+ev.Name+" to", sess, err))
		return
	}
	writeJSON(w, http.StatusOK, s.afterEvent(sess))
}

// afterEvent is the answer to an event: the session's configuration.
func (s *Server) afterEvent(sess *engine.Session) map[string]any {
	running := sess.Running()
	if !running {
		s.ended.add(sess.ID())
	}
	return map[string]any{"sessionid": sess.ID(), "configuration": nonNil(sess.Configuration()), "running": running}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request) {
	ev, sess, ok := s.eventTo(w, r)
	if !ok {
		return
	}
	reqID, answer := s.reqs.open()
	defer s.reqs.close(reqID)
	ev.SendID, ev.Origin, ev.OriginType = reqID, reqID, RequestType
	if err := sess.Send(r.Context(), ev); err != nil {
		fail(w, 0, s.sessionError("request "+ev.Name+" to", sess, err))
		return
	}
	t := time.NewTimer(s.opts.Node.RequestTimeout)
	defer t.Stop()
	select {
	case rep := <-answer:
		if rep.err != nil {
			fail(w, http.StatusServiceUnavailable, fmt.Errorf("request %s (%s) to session %s: %w", ev.Name, reqID, sess.ID(), rep.err))
			return
		}
		out := s.afterEvent(sess)
		out["requestid"] = reqID
		out["response"] = rep.v
		writeJSON(w, http.StatusOK, out)
	case <-t.C:
		fail(w, http.StatusGatewayTimeout, fmt.Errorf("request %s to session %s: no <response> within %v ([node] request-timeout); the event was delivered", ev.Name, sess.ID(), s.opts.Node.RequestTimeout))
	case <-r.Context().Done():
	}
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	sess, ae := s.session(r.Context(), r.PathValue("id"))
	if ae != nil {
		fail(w, 0, ae)
		return
	}
	st, err := sess.State(r.Context())
	if err != nil {
		fail(w, 0, s.sessionError("query", sess, err))
		return
	}
	type delayed struct {
		SendID string    `json:"sendid"`
		Event  string    `json:"event"`
		Target string    `json:"target,omitempty"`
		Due    time.Time `json:"due"`
	}
	sends := []delayed{}
	for _, d := range st.Delayed {
		sends = append(sends, delayed{SendID: d.Event.SendID, Event: d.Event.Name, Target: d.Target, Due: d.Due})
	}
	children := st.Children
	if children == nil {
		children = []string{}
	}
	data := st.Data
	if data == nil {
		data = map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sessionid":     st.ID,
		"type":          st.Type,
		"running":       st.Running,
		"configuration": nonNil(st.Active),
		"atomic":        nonNil(st.Configuration),
		"datamodel":     data,
		"delayed":       sends,
		"children":      children,
		"persisted":     st.Persisted,
		"hibernated":    st.Hibernated,
		"owner":         st.Node,
		"epoch":         s.e.Epoch(),
		"seq":           st.Seq,
	})
}

func (s *Server) handleTerminate(w http.ResponseWriter, r *http.Request) {
	sess, ae := s.session(r.Context(), r.PathValue("id"))
	if ae != nil {
		fail(w, 0, ae)
		return
	}
	if err := sess.Cancel(); err != nil {
		fail(w, 0, s.sessionError("terminate", sess, err))
		return
	}
	s.ended.add(sess.ID())
	writeJSON(w, http.StatusOK, map[string]any{"sessionid": sess.ID(), "running": false})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	_ = s.fenced()
	st := s.State()
	body := map[string]any{
		"node":     s.e.Node(),
		"role":     s.opts.Node.Role,
		"state":    st,
		"ready":    st == StateServing,
		"epoch":    s.e.Epoch(),
		"sessions": s.e.Len(),
	}
	if err := s.e.Fenced(); err != nil {
		body["fenced"] = err.Error()
	}
	status := http.StatusOK
	if st != StateServing {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func (s *Server) handlePromote(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := s.Promote(r.Context()); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, ErrNotServing) {
			status = http.StatusConflict
		}
		fail(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": s.e.Node(), "state": s.State(), "epoch": s.e.Epoch(), "elapsed_ms": float64(time.Since(start).Microseconds()) / 1000})
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	node := r.URL.Query().Get("node")
	if node == "" {
		node = s.e.Node()
	}
	if _, err := ids.ParseNodeID(node); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("node %q: %v", node, err))
		return
	}
	type entry struct {
		ID            string   `json:"sessionid"`
		Type          string   `json:"type,omitempty"`
		Here          bool     `json:"here"`
		Hibernated    bool     `json:"hibernated,omitempty"`
		Persisted     bool     `json:"persisted"`
		Configuration []string `json:"configuration,omitempty"`
	}
	byID := map[string]*entry{}
	var list []*entry
	if node == s.e.Node() {
		for _, in := range s.e.Sessions() {
			en := &entry{ID: in.ID, Type: string(in.Type), Here: true, Hibernated: in.Hibernated, Persisted: in.Persisted, Configuration: in.Configuration}
			byID[in.ID] = en
			list = append(list, en)
		}
	}
	if st := s.e.Store(); st != nil {
		stored, err := st.ListNode(r.Context(), node)
		if err != nil {
			fail(w, http.StatusServiceUnavailable, fmt.Errorf("sessions of node %s: %w", node, err))
			return
		}
		for _, id := range stored {
			if en := byID[id]; en != nil {
				continue
			}
			en := &entry{ID: id, Persisted: true}
			list = append(list, en)
		}
	}
	if list == nil {
		list = []*entry{}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	writeJSON(w, http.StatusOK, map[string]any{"node": node, "sessions": list})
}

// handleMetrics answers the node's counters and histograms
// (metrics.Snapshot) as JSON.
func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.metrics.Snapshot())
}
