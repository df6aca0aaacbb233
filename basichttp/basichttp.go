// Package basichttp is the Basic HTTP Event I/O Processor of the SCXML
// Recommendation (appendix C.2) for the engine: a net/http listener turns
// POSTs into external events of the session named in the URL, and
// <send type="http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"> posts
// events out.
//
// Inbound requests are POSTs to Location(sessionID), i.e.
// http://<addr>/scxml/<sessionid>. The event name is the _scxmleventname
// parameter (query or form), else "HTTP.POST". Form bodies become an
// object of their parameters, JSON bodies (Content-Type application/json)
// their parsed value, anything else a string. _event.raw holds the request
// as received.
//
// A <send> to an address this processor serves for a session of its own
// engine is delivered in process (see Options.DisableLoopback): the event
// is the one ServeHTTP would make of the request Send would post, and it
// keeps its place among the sender's other sends.
package basichttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	engine "github.com/orsgo/engine"
)

// Type is the processor's type URI; "basichttp" is its short name.
const Type = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"

const (
	eventParam  = "_scxmleventname"
	originHdr   = "X-Scxml-Origin"
	pathPrefix  = "/scxml/"
	maxBodySize = 1 << 20
)

// Options configure a Processor. The zero value is usable.
type Options struct {
	// Addr is the listen address.
	// default: "127.0.0.1:0" (loopback, a free port)
	Addr string
	// Client posts outbound events. Close closes its idle connections.
	// default: an http.Client of its own with a 10s timeout
	Client *http.Client
	// Listener, when set, is used instead of listening on Addr.
	// default: nil
	Listener net.Listener
	// DisableLoopback posts every <send> over HTTP, even to an address
	// this processor serves for a session of its own engine (scheme http,
	// the host:port Location publishes, path /scxml/<id> of a session the
	// engine runs).
	//
	// By default such a send is delivered in process: the event is the
	// one ServeHTTP would make of the request Send would post (name,
	// data, origin, origintype, and _event.raw as the request would
	// arrive from Client), but it needs no connection, cannot time out,
	// and keeps its place among the sender's sends. A session that sends
	// to its own location finds the event in its external queue before
	// anything it sends itself afterwards (W3C test 201); another session
	// receives it in order with the SCXML events it is sent. Over HTTP
	// the event arrives whenever the round trip ends. Disable it to make
	// such sends go through the network anyway, through a proxy or a
	// RoundTripper of Client's that must see them, say.
	// default: false (in-process delivery)
	DisableLoopback bool
}

// Processor is the Basic HTTP Event I/O Processor. Create it with New and
// pass it in engine.Options.IOProcessors.
type Processor struct {
	opts   Options
	ln     net.Listener
	srv    *http.Server
	base   string
	eng    *engine.Engine
	served chan error
}

// New listens on opts.Addr. The server starts when the engine opens the
// processor.
func New(opts Options) (*Processor, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Client == nil {
		// A transport of its own: Close closes its idle connections
		// without touching http.DefaultTransport's.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		opts.Client = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", opts.Addr); err != nil {
			return nil, fmt.Errorf("basichttp: option Addr %q: %w", opts.Addr, err)
		}
	}
	p := &Processor{opts: opts, ln: ln, base: "http://" + ln.Addr().String(), served: make(chan error, 1)}
	return p, nil
}

// Name implements engine.IOProcessor.
func (p *Processor) Name() string { return "basichttp" }

// Types implements engine.IOProcessor.
func (p *Processor) Types() []string { return []string{Type, "basichttp"} }

// Addr is the address the processor listens on.
func (p *Processor) Addr() string { return p.ln.Addr().String() }

// Location implements engine.IOProcessor.
func (p *Processor) Location(sessionID string) string {
	return p.base + pathPrefix + url.PathEscape(sessionID)
}

// Open implements engine.IOProcessor: it starts serving.
func (p *Processor) Open(e *engine.Engine) error {
	if p.eng != nil {
		return errors.New("basichttp: processor already opened by an engine")
	}
	p.eng = e
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { p.served <- p.srv.Serve(p.ln) }()
	return nil
}

// Close implements engine.IOProcessor.
func (p *Processor) Close() error {
	if p.srv == nil {
		return p.ln.Close()
	}
	// Connections our own client opened but never used (the transport
	// dials one while waiting for a busy one, say) sit in StateNew, which
	// Shutdown waits on for 5s before treating it as idle: close them
	// first. Whatever is still open when the grace period ends is closed.
	p.opts.Client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if err != nil {
		_ = p.srv.Close()
	}
	if serr := <-p.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

var (
	_ engine.IOProcessor   = (*Processor)(nil)
	_ engine.TargetChecker = (*Processor)(nil)
	_ engine.LocalResolver = (*Processor)(nil)
)

// ServeHTTP turns a POST into an external event.
func (p *Processor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sid, ev, status, err := inbound(r)
	if err != nil {
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		http.Error(w, err.Error(), status)
		return
	}
	if err := p.eng.Send(r.Context(), sid, ev); err != nil {
		if errors.Is(err, engine.ErrNoSession) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// inbound is the receiving end of a request, shared by ServeHTTP and
// in-process delivery so that both make the same event: the session the
// request addresses and its event, or the HTTP status and reason of a
// refusal.
func inbound(r *http.Request) (sessionID string, ev engine.Event, status int, err error) {
	sid, ok := strings.CutPrefix(r.URL.Path, pathPrefix)
	if !ok || sid == "" {
		return "", ev, http.StatusNotFound, errors.New("not an SCXML session address")
	}
	if r.Method != http.MethodPost {
		return "", ev, http.StatusMethodNotAllowed, errors.New("use POST")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodySize+1))
	if err != nil {
		return "", ev, http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxBodySize {
		return "", ev, http.StatusRequestEntityTooLarge, errors.New("body too large")
	}
	if ev, err = decode(r, body); err != nil {
		return "", ev, http.StatusBadRequest, err
	}
	ev.Origin = r.Header.Get(originHdr)
	ev.OriginType = Type
	return sid, ev, http.StatusOK, nil
}

func decode(r *http.Request, body []byte) (engine.Event, error) {
	ev := engine.Event{Name: r.URL.Query().Get(eventParam), Raw: raw(r, body)}
	// Media types are case-insensitive (RFC 9110 8.3.1).
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	}
	switch {
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &ev.Data); err != nil {
				return ev, fmt.Errorf("JSON body: %w", err)
			}
		}
	case ct == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return ev, fmt.Errorf("form body: %w", err)
		}
		if name := vals.Get(eventParam); name != "" {
			ev.Name = name
		}
		vals.Del(eventParam)
		if len(vals) == 1 && !bytes.ContainsRune(body, '=') {
			// A bare url-encoded string: <content> sent by us.
			for k := range vals {
				ev.Data = k
			}
			break
		}
		if len(vals) > 0 {
			data := make(map[string]any, len(vals))
			for k, v := range vals {
				if len(v) == 1 {
					data[k] = v[0]
				} else {
					// []any, not []string: event data is JSON-like
					// (interp.Event), and becomes a real array.
					items := make([]any, len(v))
					for i, x := range v {
						items[i] = x
					}
					data[k] = items
				}
			}
			ev.Data = data
		}
	default:
		if len(body) > 0 {
			ev.Data = string(body)
		}
	}
	if ev.Name == "" {
		ev.Name = "HTTP." + r.Method
	}
	return ev, nil
}

// raw renders the request as it arrived, for _event.raw.
func raw(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", r.Method, r.URL.RequestURI(), r.Proto)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.String()
}

// CheckTarget implements engine.TargetChecker: a target must be an
// absolute http or https URL.
func (p *Processor) CheckTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("basichttp: target %q is not an http(s) URL", target)
	}
	return nil
}

// Send implements engine.IOProcessor: it POSTs ev to target (see request).
func (p *Processor) Send(ctx context.Context, from, target string, ev engine.Event) error {
	req, err := p.request(ctx, target, ev)
	if err != nil {
		return err
	}
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("basichttp: post %q to %s: %w", ev.Name, target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodySize))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("basichttp: post %q to %s: %s", ev.Name, target, resp.Status)
	}
	return nil
}

// ResolveLocal implements engine.LocalResolver. Unless DisableLoopback, a
// target on this processor's own address (scheme http, the host:port
// Location publishes) with a session path resolves to that session and
// to the event ServeHTTP would make of the request Send would post, as
// that request would arrive (see received). Other targets, and paths of
// no session, are not local: Send posts them and the listener answers.
func (p *Processor) ResolveLocal(target string, ev engine.Event) (string, engine.Event, bool, error) {
	if p.opts.DisableLoopback || p.eng == nil {
		return "", engine.Event{}, false, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, p.Addr()) {
		return "", engine.Event{}, false, nil
	}
	req, err := p.request(context.Background(), target, ev)
	if err != nil {
		return "", engine.Event{}, false, err
	}
	r, err := p.received(req)
	if err != nil {
		return "", engine.Event{}, false, fmt.Errorf("basichttp: post %q to %s: %w", ev.Name, target, err)
	}
	sid, in, status, err := inbound(r)
	switch {
	case status == http.StatusNotFound:
		return "", engine.Event{}, false, nil
	case err != nil:
		return "", engine.Event{}, false, fmt.Errorf("basichttp: post %q to %s: %d %s: %w", ev.Name, target, status, http.StatusText(status), err)
	}
	return sid, in, true, nil
}

// received is req as this processor's listener would read it once Client
// sent it: with what http.Client adds (basic auth from the URL's user
// info, the cookies of its Jar) and what net/http's Transport adds
// (Accept-Encoding: gzip unless DisableCompression, Connection: close
// with DisableKeepAlives), written by Request.Write and parsed by
// ReadRequest, the code the client and the server run on the wire. What a
// RoundTripper of another kind would change is not seen.
func (p *Processor) received(req *http.Request) (*http.Request, error) {
	c := p.opts.Client
	if u := req.URL.User; u != nil {
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
	}
	if c.Jar != nil {
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
	}
	t, _ := c.Transport.(*http.Transport)
	if c.Transport == nil {
		t, _ = http.DefaultTransport.(*http.Transport)
	}
	if t != nil {
		if !t.DisableCompression {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		if t.DisableKeepAlives {
			req.Header.Set("Connection", "close")
		}
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	return http.ReadRequest(bufio.NewReader(&b))
}

// request is the POST that carries ev to target. Key-value data
// (namelist, <param>) is form-encoded with the event name in
// _scxmleventname; string <content> is sent url-encoded as the body; other
// content as JSON. The sender's location goes in X-Scxml-Origin.
func (p *Processor) request(ctx context.Context, target string, ev engine.Event) (*http.Request, error) {
	if err := p.CheckTarget(target); err != nil {
		return nil, err
	}
	u, _ := url.Parse(target)
	var (
		body string
		ct   = "application/x-www-form-urlencoded"
	)
	switch d := ev.Data.(type) {
	case nil:
		body = form(ev.Name, nil)
	case map[string]any:
		body = form(ev.Name, d)
	case string:
		// %20 rather than '+' for spaces: either is valid in a form
		// body, and %20 reads the same in a URL.
		body = strings.ReplaceAll(url.QueryEscape(d), "+", "%20")
		if ev.Name != "" {
			q := u.Query()
			q.Set(eventParam, ev.Name)
			u.RawQuery = q.Encode()
		}
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("basichttp: event %q data: %w", ev.Name, err)
		}
		body, ct = string(b), "application/json"
		if ev.Name != "" {
			q := u.Query()
			q.Set(eventParam, ev.Name)
			u.RawQuery = q.Encode()
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("basichttp: %w", err)
	}
	req.Header.Set("Content-Type", ct)
	if ev.Origin != "" {
		req.Header.Set(originHdr, ev.Origin)
	}
	return req, nil
}

// formValue is a form parameter's text: strings as they are, anything else
// as JSON (never Go syntax such as map[a:1]).
func formValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func form(name string, data map[string]any) string {
	vals := url.Values{}
	if name != "" {
		vals.Set(eventParam, name)
	}
	for k, v := range data {
		switch x := v.(type) {
		case string:
			vals.Add(k, x)
		case []any:
			// One parameter per element, as a repeated key arrives.
			for _, e := range x {
				vals.Add(k, formValue(e))
			}
		default:
			vals.Add(k, formValue(x))
		}
	}
	return vals.Encode()
}
