package basichttp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/basichttp"
	"github.com/orsgo/engine/scxml"
)

// rig is an engine with a Basic HTTP processor on loopback, recording the
// <log> output of its sessions and counting the connections its listener
// accepts.
type rig struct {
	t    *testing.T
	e    *engine.Engine
	p    *basichttp.Processor
	ln   *countingListener
	mu   sync.Mutex
	logs map[string][]string // by session: "label=value"
	errs []string
}

// countingListener counts accepted connections: zero means nothing
// reached the processor over the network.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func newRig(t *testing.T) *rig { return newRigWith(t, basichttp.Options{}) }

// newRigWith builds a rig whose processor has opts, listening on a free
// port of 127.0.0.1 through a countingListener.
func newRigWith(t *testing.T, opts basichttp.Options) *rig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	opts.Listener = cl
	p, err := basichttp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, p: p, ln: cl, logs: map[string][]string{}}
	r.e, err = engine.New(engine.Options{
		IOProcessors: []engine.IOProcessor{p},
		Log: func(sid, label string, v any) {
			r.mu.Lock()
			r.logs[sid] = append(r.logs[sid], fmt.Sprintf("%s=%v", label, v))
			r.mu.Unlock()
		},
		OnError: func(sid string, ev *engine.Event, cause error) {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Sprintf("%s %s: %v", sid, ev.Name, cause))
			r.mu.Unlock()
		},
	})
	if err != nil {
		_ = p.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.e.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return r
}

func (r *rig) start(id, src string) *engine.Session {
	r.t.Helper()
	doc, err := scxml.Parse([]byte(src), &scxml.Options{File: id + ".scxml"})
	if err != nil {
		r.t.Fatalf("parse: %v", err)
	}
	s, err := r.e.Start(context.Background(), doc, engine.StartOptions{ID: id})
	if err != nil {
		r.t.Fatalf("start %s: %v", id, err)
	}
	return s
}

func (r *rig) logsOf(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logs[id]...)
}

// waitFor polls cond until it holds or the deadline passes.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		if err := r.e.Quiesce(ctx); err != nil || ctx.Err() != nil {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.t.Fatalf("timed out waiting for %s; logs %q, errors %q", what, r.logs, r.errs)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// canonScript defines canon(v): v as JSON with object keys sorted (the
// order of event data keys is not specified).
const canonScript = `<script><![CDATA[
function canon(v) {
  if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
  if (v && typeof v === "object") return "{" + Object.keys(v).sort().map(function (k) { return JSON.stringify(k) + ":" + canon(v[k]) }).join(",") + "}";
  return v === undefined ? "undefined" : JSON.stringify(v);
}
]]></script>`

// echoDoc logs every event it receives as name|data-as-JSON|origintype.
const echoDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
` + canonScript + `
<state id="wait">
  <transition event="*"><log label="ev" expr="_event.name + '|' + canon(_event.data) + '|' + _event.origintype"/></transition>
</state>
</scxml>`

// testClient keeps no connections open that would hold up Close.
var testClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func post(t *testing.T, method, u, ctype, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestInbound(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name, query, ctype, body string
		want                     string // logged by echoDoc
	}{
		{"form with name and data", "", form, "_scxmleventname=foo&x=1&y=a+b", `ev=foo|{"x":"1","y":"a b"}|` + basichttp.Type},
		{"form without name", "", form, "x=1", `ev=HTTP.POST|{"x":"1"}|` + basichttp.Type},
		{"form name only", "", form, "_scxmleventname=bar.baz", `ev=bar.baz|undefined|` + basichttp.Type},
		{"form repeated key", "", form, "_scxmleventname=rep&x=1&x=2", `ev=rep|{"x":["1","2"]}|` + basichttp.Type},
		{"form +json media type", "?_scxmleventname=j", "application/ld+json", `{"@id":"x"}`, `ev=j|{"@id":"x"}|` + basichttp.Type},
		{"name in query", "?_scxmleventname=q.ev", form, "k=v", `ev=q.ev|{"k":"v"}|` + basichttp.Type},
		{"form name overrides query", "?_scxmleventname=q", form, "_scxmleventname=f", `ev=f|undefined|` + basichttp.Type},
		{"bare url-encoded string", "?_scxmleventname=s", form, "hello%20world", `ev=s|"hello world"|` + basichttp.Type},
		{"JSON body", "?_scxmleventname=j", "application/json", `{"a":[1,2.5,true,"s"],"b":{"c":"d"}}`, `ev=j|{"a":[1,2.5,true,"s"],"b":{"c":"d"}}|` + basichttp.Type},
		{"JSON with charset", "?_scxmleventname=j", "application/json; charset=utf-8", `[1,"x"]`, `ev=j|[1,"x"]|` + basichttp.Type},
		{"JSON media type in capitals", "?_scxmleventname=j", "Application/JSON", `{"z":1}`, `ev=j|{"z":1}|` + basichttp.Type},
		{"empty JSON body", "?_scxmleventname=j", "application/json", ``, `ev=j|undefined|` + basichttp.Type},
		{"plain body", "?_scxmleventname=p", "text/plain", "just text\nline 2", `ev=p|"just text\nline 2"|` + basichttp.Type},
		{"plain body no name", "", "text/plain", "t", `ev=HTTP.POST|"t"|` + basichttp.Type},
		{"no body no type", "", "", "", `ev=HTTP.POST|undefined|` + basichttp.Type},
	}
	r := newRig(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("in-%d", i)
			r.start(id, echoDoc)
			code, body, _ := post(t, http.MethodPost, r.p.Location(id)+c.query, c.ctype, c.body)
			if code != http.StatusOK {
				t.Fatalf("status %d %q", code, body)
			}
			// The engine processes the event before the POST is answered.
			if got := r.logsOf(id); len(got) != 1 || got[0] != c.want {
				t.Errorf("logged %q, want %q", got, c.want)
			}
		})
	}
}

// TestInboundRepeatedKey: a repeated form key gives a real ECMAScript
// array, not a wrapped Go slice.
func TestInboundRepeatedKey(t *testing.T) {
	r := newRig(t)
	s := r.start("rep", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <transition event="e" cond="Array.isArray(_event.data.x) &amp;&amp; Object.getPrototypeOf(_event.data.x) === Array.prototype &amp;&amp; _event.data.x.join('+') === '1+2+3'" target="pass"/>
  <transition event="*" target="fail"/>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	if code, body, _ := post(t, http.MethodPost, r.p.Location("rep"), "application/x-www-form-urlencoded", "_scxmleventname=e&x=1&x=2&x=3"); code != http.StatusOK {
		t.Fatalf("status %d %q", code, body)
	}
	if s.Final() != "pass" {
		t.Errorf("final %q", s.Final())
	}
}

// TestInboundEventFields: origin, origintype and raw reach _event.
func TestInboundEventFields(t *testing.T) {
	r := newRig(t)
	s := r.start("fields", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <transition event="e" cond="_event.origin === 'http://127.0.0.1:1/scxml/peer' &amp;&amp; _event.origintype === 'http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor' &amp;&amp; _event.type === 'external' &amp;&amp; _event.raw.indexOf('POST /scxml/fields') === 0 &amp;&amp; _event.raw.indexOf('\r\n\r\n_scxmleventname=e&amp;k=v') > 0" target="pass"/>
  <transition event="*" target="fail"><log label="raw" expr="_event.raw + ' origin=' + _event.origin"/></transition>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	req, _ := http.NewRequest(http.MethodPost, r.p.Location("fields"), strings.NewReader("_scxmleventname=e&k=v"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Scxml-Origin", "http://127.0.0.1:1/scxml/peer")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.Final() != "pass" {
		t.Errorf("final %q, logs %q", s.Final(), r.logsOf("fields"))
	}
}

func TestInboundErrors(t *testing.T) {
	r := newRig(t)
	r.start("live", echoDoc)
	live := r.p.Location("live")
	base := "http://" + r.p.Addr()
	big := strings.Repeat("a", 1<<20)
	cases := []struct {
		name, method, url, ctype, body string
		code                           int
	}{
		{"unknown session", http.MethodPost, r.p.Location("nobody"), "text/plain", "x", http.StatusNotFound},
		{"not a session path", http.MethodPost, base + "/other/live", "text/plain", "x", http.StatusNotFound},
		{"empty session id", http.MethodPost, base + "/scxml/", "text/plain", "x", http.StatusNotFound},
		{"GET", http.MethodGet, live, "", "", http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, live, "text/plain", "x", http.StatusMethodNotAllowed},
		{"DELETE", http.MethodDelete, live, "", "", http.StatusMethodNotAllowed},
		{"malformed JSON", http.MethodPost, live, "application/json", "{nope", http.StatusBadRequest},
		{"malformed form", http.MethodPost, live, "application/x-www-form-urlencoded", "a=%zz", http.StatusBadRequest},
		{"body over 1 MiB", http.MethodPost, live, "text/plain", big + "b", http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, hdr := post(t, c.method, c.url, c.ctype, c.body)
			if code != c.code {
				t.Fatalf("status %d %q, want %d", code, body, c.code)
			}
			if strings.TrimSpace(body) == "" {
				t.Errorf("no explanation in the body")
			}
			if c.code == http.StatusMethodNotAllowed && hdr.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q, want POST", hdr.Get("Allow"))
			}
			if c.name == "unknown session" && !strings.Contains(body, "nobody") {
				t.Errorf("body %q does not name the session", body)
			}
		})
	}
	if got := r.logsOf("live"); len(got) != 0 {
		t.Errorf("rejected requests reached the session: %q", got)
	}
	// A body of exactly the limit is accepted.
	if code, body, _ := post(t, http.MethodPost, live+"?_scxmleventname=big", "text/plain", big); code != http.StatusOK {
		t.Fatalf("1 MiB body: status %d %q", code, body)
	}
	if got := r.logsOf("live"); len(got) != 1 || !strings.HasPrefix(got[0], "ev=big|\"aaa") {
		t.Errorf("1 MiB body: logged %d entries", len(got))
	}
}

// TestLocation: _ioprocessors publishes the session's address under the
// short name and the type URI, on loopback, and it reaches the session.
func TestLocation(t *testing.T) {
	r := newRig(t)
	s := r.start("loc", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry>
    <log label="loc" expr="_ioprocessors['basichttp'].location"/>
    <log label="same" expr="_ioprocessors['http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor'].location === _ioprocessors.basichttp.location"/>
  </onentry>
  <transition event="ping" target="done"/>
</state>
<final id="done"/>
</scxml>`)
	want := r.p.Location("loc")
	got := r.logsOf("loc")
	if len(got) != 2 || got[0] != "loc="+want || got[1] != "same=true" {
		t.Fatalf("logged %q, want loc=%s and same=true", got, want)
	}
	u, err := url.Parse(want)
	if err != nil || u.Scheme != "http" || u.Path != "/scxml/loc" {
		t.Fatalf("location %q", want)
	}
	if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" {
		t.Errorf("location host %q, want 127.0.0.1", host)
	}
	if code, body, _ := post(t, http.MethodPost, want, "application/x-www-form-urlencoded", "_scxmleventname=ping"); code != http.StatusOK {
		t.Fatalf("status %d %q", code, body)
	}
	if s.Final() != "done" {
		t.Errorf("final %q, want done", s.Final())
	}
}

// sink is an HTTP server on loopback recording what is posted to it.
type sink struct {
	srv  *http.Server
	url  string
	mu   sync.Mutex
	reqs []recorded
	code int
}

type recorded struct {
	method, path, ctype, origin, body string
	query                             url.Values
	form                              url.Values
}

func newSink(t *testing.T, code int) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{url: "http://" + ln.Addr().String(), code: code}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		rec := recorded{method: req.Method, path: req.URL.Path, ctype: req.Header.Get("Content-Type"),
			origin: req.Header.Get("X-Scxml-Origin"), body: string(b), query: req.URL.Query()}
		rec.form, _ = url.ParseQuery(string(b))
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		w.WriteHeader(s.code)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func (s *sink) got() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func TestOutbound(t *testing.T) {
	r := newRig(t)
	sk := newSink(t, http.StatusOK)
	out := r.start("out", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<datamodel>
  <data id="a" expr="'alpha beta'"/>
  <data id="n" expr="42"/>
  <data id="obj" expr="({k: [1, 'two']})"/>
  <data id="list" expr="[{x: 1}, 'y']"/>
</datamodel>
<state id="wait">
  <onentry>
    <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" target="`+sk.url+`/in/one" event="hello.world" namelist="a n">
      <param name="p" expr="'p&amp;q=r'"/>
    </send>
    <send type="basichttp" target="`+sk.url+`/in/two" event="objs" namelist="obj list"/>
    <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" target="`+sk.url+`/in/three" event="txt"><content>some text &amp; more</content></send>
    <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" target="`+sk.url+`/in/four" event="js"><content expr="[{deep: {v: [1, null]}}, 2]"/></send>
  </onentry>
  <transition event="error.*" target="failed"/>
</state>
<final id="failed"/>
</scxml>`)
	r.waitFor("four posts", func() bool { return len(sk.got()) == 4 })
	loc := r.p.Location("out")
	byPath := map[string]recorded{}
	for _, q := range sk.got() {
		if q.method != http.MethodPost {
			t.Errorf("%s: method %s", q.path, q.method)
		}
		if q.origin != loc {
			t.Errorf("%s: origin %q, want %q", q.path, q.origin, loc)
		}
		byPath[q.path] = q
	}
	one := byPath["/in/one"]
	if one.ctype != "application/x-www-form-urlencoded" || one.form.Get("_scxmleventname") != "hello.world" ||
		one.form.Get("a") != "alpha beta" || one.form.Get("n") != "42" || one.form.Get("p") != "p&q=r" {
		t.Errorf("namelist/param post: %+v", one)
	}
	two := byPath["/in/two"]
	if two.form.Get("_scxmleventname") != "objs" || two.form.Get("obj") != `{"k":[1,"two"]}` {
		t.Errorf("object namelist post: %+v", two)
	}
	if l := two.form["list"]; len(l) != 2 || l[0] != `{"x":1}` || l[1] != "y" {
		t.Errorf("array namelist post: list=%q (want JSON for the object element)", l)
	}
	three := byPath["/in/three"]
	if three.query.Get("_scxmleventname") != "txt" {
		t.Errorf("content post: %+v", three)
	}
	if s, err := url.QueryUnescape(three.body); err != nil || s != "some text & more" {
		t.Errorf("content post body %q", three.body)
	}
	four := byPath["/in/four"]
	if four.ctype != "application/json" || four.query.Get("_scxmleventname") != "js" || four.body != `[{"deep":{"v":[1,null]}},2]` {
		t.Errorf("JSON content post: %+v", four)
	}
	if out.Final() != "" {
		t.Errorf("session ended in %q: errors %q", out.Final(), r.errs)
	}
}

// TestRoundTrip: one session posts to another's location, which answers
// to _event.origin: in process by default, over the listener with
// DisableLoopback.
func TestRoundTrip(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableLoopback=%v", disable), func(t *testing.T) { testRoundTrip(t, disable) })
	}
}

func testRoundTrip(t *testing.T, disableLoopback bool) {
	r := newRigWith(t, basichttp.Options{DisableLoopback: disableLoopback})
	r.start("b", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <transition event="ping" cond="_event.data.n === '7'" target="done">
    <send type="basichttp" targetexpr="_event.origin" event="pong"><param name="m" expr="Number(_event.data.n) * 6"/></send>
  </transition>
</state>
<final id="done"/>
</scxml>`)
	a := r.start("a", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<datamodel><data id="n" expr="7"/></datamodel>
<state id="wait">
  <onentry><send type="basichttp" targetexpr="_ioprocessors.basichttp.location.replace('/scxml/a', '/scxml/b')" event="ping" namelist="n"/></onentry>
  <transition event="pong" cond="_event.data.m === '42' &amp;&amp; _event.origin === _ioprocessors.basichttp.location.replace('/scxml/a', '/scxml/b')" target="pass"/>
  <transition event="*" target="fail"><log label="ev" expr="_event.name"/></transition>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	r.waitFor("pong", func() bool { return a.Final() != "" })
	if a.Final() != "pass" {
		t.Errorf("a ended in %q, logs %q, errors %q", a.Final(), r.logsOf("a"), r.errs)
	}
	if n := r.ln.n.Load(); disableLoopback != (n > 0) {
		t.Errorf("DisableLoopback %v, but the listener accepted %d connections", disableLoopback, n)
	}
}

// TestOutboundFailures: an unreachable target or a refusing server gives
// error.communication in the sending session, with the send id.
func TestOutboundFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/gone"
	ln.Close()
	refusing := newSink(t, http.StatusInternalServerError)
	cases := []struct{ name, target string }{
		{"unreachable", closed},
		{"server error", refusing.url + "/x"},
	}
	r := newRig(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("fail-%d", i)
			s := r.start(id, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<datamodel><data id="sid" expr="''"/></datamodel>
<state id="wait">
  <onentry><send id="s1" type="basichttp" target="`+c.target+`" event="lost"/></onentry>
  <transition event="error.communication" cond="_event.sendid === 's1' &amp;&amp; _event.type === 'platform'" target="commerr"/>
  <transition event="*" target="other"><log label="ev" expr="_event.name"/></transition>
</state>
<final id="commerr"/><final id="other"/>
</scxml>`)
			r.waitFor("error.communication", func() bool { return s.Final() != "" })
			if s.Final() != "commerr" {
				t.Errorf("final %q, logs %q", s.Final(), r.logsOf(id))
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			found := false
			for _, e := range r.errs {
				found = found || strings.HasPrefix(e, id+" error.communication")
			}
			if !found {
				t.Errorf("OnError not told why: %q", r.errs)
			}
		})
	}
}

// TestSendWithoutTarget: a basichttp <send> without target raises
// error.communication (W3C test 577).
func TestSendWithoutTarget(t *testing.T) {
	r := newRig(t)
	s := r.start("notarget", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry><send type="basichttp" event="x"/></onentry>
  <transition event="error.communication" target="pass"/>
  <transition event="*" target="fail"/>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	r.waitFor("end", func() bool { return s.Final() != "" })
	if s.Final() != "pass" {
		t.Errorf("final %q", s.Final())
	}
}

// TestSendMalformedTarget: a target that is not an http(s) URL is an
// error in the document: error.execution at once (6.2.4), not
// error.communication later.
func TestSendMalformedTarget(t *testing.T) {
	r := newRig(t)
	s := r.start("badtarget", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry><send type="basichttp" target="ftp://example.invalid/x" event="x"/></onentry>
  <transition event="error.execution" target="pass"/>
  <transition event="*" target="fail"/>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	if s.Final() != "pass" {
		t.Errorf("final %q, want pass at once (error.execution in the same macrostep)", s.Final())
	}
}

func TestCloseStopsListening(t *testing.T) {
	p, err := basichttp.New(basichttp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(p.Addr()); host != "127.0.0.1" {
		t.Errorf("default address %q is not loopback", p.Addr())
	}
	e, err := engine.New(engine.Options{IOProcessors: []engine.IOProcessor{p}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Post(p.Location("x"), "text/plain", strings.NewReader("x")); err == nil {
		resp.Body.Close()
		t.Errorf("still serving after Close: %s", resp.Status)
	}
}

// orderDoc sends itself basichttp and SCXML events alternately in one
// onentry, logs each event it receives and ends after the fourth.
const orderDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<datamodel><data id="n" expr="0"/></datamodel>
<state id="wait">
  <onentry>
    <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" targetexpr="_ioprocessors['basichttp']['location']" event="e1"/>
    <send event="e2"/>
    <send type="basichttp" targetexpr="_ioprocessors.basichttp.location" event="e3"><param name="p" expr="'v'"/></send>
    <send event="e4"/>
  </onentry>
  <transition event="*" cond="n &lt; 3"><log label="ev" expr="_event.name"/><assign location="n" expr="n + 1"/></transition>
  <transition event="*" target="done"><log label="ev" expr="_event.name"/></transition>
</state>
<final id="done"/>
</scxml>`

// TestLoopbackSelfOrder: a Basic HTTP send of a session to its own
// location is in its external queue before the SCXML sends that follow
// it (W3C test 201), and never touches the network.
func TestLoopbackSelfOrder(t *testing.T) {
	r := newRig(t)
	s := r.start("self", orderDoc)
	// In order, and already processed when Start returns: the events were
	// queued during the <send>s themselves.
	want := []string{"ev=e1", "ev=e2", "ev=e3", "ev=e4"}
	if got := r.logsOf("self"); strings.Join(got, " ") != strings.Join(want, " ") || s.Final() != "done" {
		t.Errorf("logged %q (final %q), want %q at once; errors %q", got, s.Final(), want, r.errs)
	}
	if n := r.ln.n.Load(); n != 0 {
		t.Errorf("the listener accepted %d connections, want none", n)
	}
}

// TestLoopbackDisabled: with DisableLoopback the same sends go over HTTP,
// and so arrive after the SCXML ones (today's behaviour without the
// option, and what W3C test 201 does not expect).
func TestLoopbackDisabled(t *testing.T) {
	r := newRigWith(t, basichttp.Options{DisableLoopback: true})
	s := r.start("self", orderDoc)
	r.waitFor("four events", func() bool { return s.Final() != "" })
	got := r.logsOf("self")
	if len(got) != 4 || got[0] != "ev=e2" || got[1] != "ev=e4" ||
		!(got[2] == "ev=e1" && got[3] == "ev=e3" || got[2] == "ev=e3" && got[3] == "ev=e1") {
		t.Errorf("logged %q, want e2 e4 then e1 and e3 over HTTP", got)
	}
	if n := r.ln.n.Load(); n == 0 {
		t.Errorf("the listener accepted no connection: the sends did not go over HTTP")
	}
}

// TestLoopbackOtherSession: a Basic HTTP send to another session of the
// engine is queued for it in order with the SCXML sends between them.
func TestLoopbackOtherSession(t *testing.T) {
	r := newRig(t)
	r.start("dst", echoDoc)
	dst := r.p.Location("dst")
	src := r.start("src", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry>
    <send type="basichttp" target="`+dst+`" event="a"><param name="k" expr="'v'"/></send>
    <send target="#_scxml_dst" event="b"/>
    <send type="basichttp" target="`+dst+`" event="c"><content>text</content></send>
  </onentry>
  <transition event="*" target="fail"><log label="ev" expr="_event.name"/></transition>
</state>
<final id="fail"/>
</scxml>`)
	// Start returns once the events it routed to dst are processed.
	want := []string{
		`ev=a|{"k":"v"}|` + basichttp.Type,
		`ev=b|undefined|` + scxmlType,
		`ev=c|"text"|` + basichttp.Type,
	}
	if got := r.logsOf("dst"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dst logged %q, want %q", got, want)
	}
	if src.Final() != "" {
		t.Errorf("src ended in %q: logs %q, errors %q", src.Final(), r.logsOf("src"), r.errs)
	}
	if n := r.ln.n.Load(); n != 0 {
		t.Errorf("the listener accepted %d connections, want none", n)
	}
}

const scxmlType = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"

// TestLoopbackSameEventAsHTTP: an event delivered in process has the
// fields (name, type, sendid, origin, origintype, invokeid, raw, data)
// of the one the same send delivers over HTTP, here posted by a second
// processor that is not open on the engine.
func TestLoopbackSameEventAsHTTP(t *testing.T) {
	r := newRig(t)
	r.start("dst", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
`+canonScript+`
<state id="wait">
  <transition event="*"><log label="ev" expr="[_event.name, _event.type, _event.sendid, _event.origin, _event.origintype, _event.invokeid, _event.raw, _event.data].map(canon).join('|')"/></transition>
</state>
</scxml>`)
	dst := r.p.Location("dst")
	r.start("src", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry>
    <send id="s1" type="basichttp" target="`+dst+`" event="form.ev"><param name="a" expr="'x y&amp;z'"/><param name="n" expr="42"/></send>
    <send id="s2" type="basichttp" target="`+dst+`" event="text.ev"><content>some text &amp; more</content></send>
    <send id="s3" type="basichttp" target="`+dst+`" event="json.ev"><content expr="({d: {v: null}, k: [1, 'two']})"/></send>
    <send id="s4" type="basichttp" target="`+dst+`"><content>bare</content></send>
  </onentry>
</state>
</scxml>`)
	loop := r.logsOf("dst")
	if len(loop) != 4 {
		t.Fatalf("in process: dst logged %q, want 4 events at once; errors %q", loop, r.errs)
	}
	if n := r.ln.n.Load(); n != 0 {
		t.Fatalf("in process: the listener accepted %d connections, want none", n)
	}

	// The same sends, as the engine hands them to Send, over HTTP.
	client, err := basichttp.New(basichttp.Options{DisableLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	origin := r.p.Location("src")
	for _, ev := range []engine.Event{
		{Name: "form.ev", SendID: "s1", Data: map[string]any{"a": "x y&z", "n": int64(42)}},
		{Name: "text.ev", SendID: "s2", Data: "some text & more"},
		{Name: "json.ev", SendID: "s3", Data: map[string]any{"d": map[string]any{"v": nil}, "k": []any{int64(1), "two"}}},
		{SendID: "s4", Data: "bare"},
	} {
		ev.Origin, ev.OriginType = origin, basichttp.Type
		if err := client.Send(context.Background(), "src", dst, ev); err != nil {
			t.Fatalf("HTTP send %q: %v", ev.Name, err)
		}
	}
	if n := r.ln.n.Load(); n == 0 {
		t.Fatalf("over HTTP: the listener accepted no connection")
	}
	all := r.logsOf("dst")
	if len(all) != 8 {
		t.Fatalf("dst logged %d events, want 8: %q", len(all), all)
	}
	for i, http := range all[4:] {
		if loop[i] != http {
			t.Errorf("event %d differs\nin process: %q\nover HTTP:  %q", i+1, loop[i], http)
		}
	}
	// And they are what the HTTP path makes: a spot check of each field.
	wantPrefix := `ev="form.ev"|"external"|undefined|"` + origin + `"|"` + basichttp.Type + `"|undefined|"POST /scxml/dst HTTP/1.1\r\n`
	if !strings.HasPrefix(loop[0], wantPrefix) || !strings.HasSuffix(loop[0], `\r\n\r\n_scxmleventname=form.ev&a=x+y%26z&n=42"|{"a":"x y&z","n":"42"}`) {
		t.Errorf("form event %q", loop[0])
	}
	if !strings.HasPrefix(loop[3], `ev="HTTP.POST"|`) || !strings.HasSuffix(loop[3], `|"bare"`) {
		t.Errorf("nameless event %q", loop[3])
	}
}

// TestLoopbackRefused: a request the listener would refuse (a body over
// 1 MiB) gives error.communication at once, without the network.
func TestLoopbackRefused(t *testing.T) {
	r := newRig(t)
	s := r.start("big", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry><send id="s1" type="basichttp" targetexpr="_ioprocessors.basichttp.location" event="big"><content expr="new Array(1100000).join('a')"/></send></onentry>
  <transition event="error.communication" cond="_event.sendid === 's1'" target="pass"/>
  <transition event="*" target="fail"><log label="ev" expr="_event.name"/></transition>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
	if s.Final() != "pass" {
		t.Errorf("final %q, want pass at once; logs %q", s.Final(), r.logsOf("big"))
	}
	if n := r.ln.n.Load(); n != 0 {
		t.Errorf("the listener accepted %d connections, want none", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "413") {
		t.Errorf("OnError heard %q, want the 413", r.errs)
	}
}

// TestLoopbackNotLocal: an address of ours that names no session of the
// engine, or no session at all, still goes over HTTP, where the listener
// answers 404: error.communication.
func TestLoopbackNotLocal(t *testing.T) {
	r := newRig(t)
	for i, target := range []string{r.p.Location("nobody"), "http://" + r.p.Addr() + "/other/path"} {
		id := fmt.Sprintf("nl-%d", i)
		s := r.start(id, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<state id="wait">
  <onentry><send id="s1" type="basichttp" target="`+target+`" event="lost"/></onentry>
  <transition event="error.communication" cond="_event.sendid === 's1'" target="pass"/>
  <transition event="*" target="fail"/>
</state>
<final id="pass"/><final id="fail"/>
</scxml>`)
		r.waitFor("error.communication", func() bool { return s.Final() != "" })
		if s.Final() != "pass" {
			t.Errorf("%s: final %q", target, s.Final())
		}
		r.mu.Lock()
		heard := false
		for _, e := range r.errs {
			heard = heard || strings.HasPrefix(e, id+" error.communication") && strings.Contains(e, "404 Not Found")
		}
		if !heard {
			t.Errorf("%s: OnError did not hear the listener's 404: %q", target, r.errs)
		}
		r.mu.Unlock()
	}
	if r.ln.n.Load() == 0 {
		t.Errorf("no send went over HTTP")
	}
}

// childDoc invokes an SCXML child that has a Basic HTTP location of its
// own: the child tells its parent that location, the parent sends "ping"
// to it over Basic HTTP, and the child answers "pong" to the parent's
// location the same way.
const childDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="run">
<datamodel><data id="kid" expr="''"/></datamodel>
<state id="run">
  <invoke id="k" type="scxml">
    <param name="parent" expr="_ioprocessors['basichttp'].location"/>
    <content>
      <scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="c">
        <datamodel><data id="parent" expr="''"/></datamodel>
        <state id="c">
          <onentry>
            <send event="hello" target="#_parent" namelist="_sessionid"><param name="loc" expr="_ioprocessors['basichttp'].location"/></send>
          </onentry>
          <transition event="ping" target="end">
            <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" targetexpr="parent" event="pong"><param name="origintype" expr="_event.origintype"/></send>
          </transition>
        </state>
        <final id="end"/>
      </scxml>
    </content>
  </invoke>
  <transition event="hello">
    <log label="child" expr="_event.data._sessionid + ' at ' + _event.data.loc"/>
    <assign location="kid" expr="_event.data.loc"/>
    <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor" targetexpr="kid" event="ping"/>
  </transition>
  <transition event="pong" target="done"><log label="pong" expr="_event.data.origintype"/></transition>
</state>
<final id="done"/>
</scxml>`

// TestInvokedChildLocation: an invoked child has a Basic HTTP location of
// its own (its session id, <parent>.<invokeid>), reachable in process and
// over HTTP.
func TestInvokedChildLocation(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableLoopback=%v", disable), func(t *testing.T) {
			r := newRigWith(t, basichttp.Options{DisableLoopback: disable})
			s := r.start("parent", childDoc)
			r.waitFor("the pong", func() bool { return s.Final() != "" })
			want := []string{
				"child=parent.k at " + r.p.Location("parent.k"),
				"pong=" + basichttp.Type,
			}
			if got := r.logsOf("parent"); strings.Join(got, " ") != strings.Join(want, " ") || s.Final() != "done" {
				t.Errorf("logged %q (final %q), want %q; errors %q", got, s.Final(), want, r.errs)
			}
			if n := r.ln.n.Load(); disable != (n > 0) {
				t.Errorf("DisableLoopback=%v: the listener accepted %d connections", disable, n)
			}
		})
	}
}
