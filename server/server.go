// Package server runs one engine node as a network service: the session
// HTTP API of Orchestration Server (/scxml/session/...), admin endpoints
// (/admin/health, /admin/promote, /admin/sessions) and the node's HA
// lifecycle. `scxml serve` is a thin command around it; tests run it in
// process too.
//
// # Lifecycle
//
// A node has a node id ([orchestration] node-id) and a role ([node]
// role). A primary promotes its node id at start (raising the id's epoch
// in the store, which fences any earlier holder of the id: a process it
// replaces) and adopts the sessions the id left in the store, lazily
// (engine.Adopt): each is loaded when a request, a send or its next timer
// needs it. A backup opens the same store and the same documents and
// waits: its session endpoints answer 503 until POST /admin/promote makes
// it do what a primary does at start. When the store refuses one of the
// node's writes as fenced (another process promoted the id), the node
// stops serving: every session endpoint answers 503 naming the node and
// epochs, and /admin/health reports state "fenced". A watcher also reads
// the id's epoch every FenceCheck, so that a node that writes nothing
// learns it too.
//
// Serve stops on its context (SIGTERM in `scxml serve`) and drains,
// within [node] drain-timeout: it stops accepting connections (requests
// not yet in the engine answer 503: draining) and shuts the engine down
// (engine.Shutdown): from then on no timer starts a macrostep (a
// delayed send falling due fires at the backup that takes over), the
// macrosteps in flight, those of requests and of timers alike, finish
// and write their checkpoints, and every checkpoint whose last write
// failed is written again; requests still waiting for an answer get 503.
// Serve returns nil then. When the timeout ends first, the scripts still
// running are interrupted, the checkpoints of the macrosteps in flight
// may not be written (those sessions resume from their previous
// checkpoint, where the timer fires again) and Serve returns an error
// naming drain-timeout.
//
// # Durability of answers
//
// Start and event requests answer after the store acknowledged the
// checkpoint of the macrostep they caused (engine's durability
// contract); a failed checkpoint answers 503 and the client should
// resend. A request (POST .../request/NAME) answers when the session
// runs <response> (see Namespace) or sends to the request's origin, once
// the checkpoint of the macrostep that answered is written (request.go).
package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/orsgo/engine/metrics"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
)

// State is where a node stands in its lifecycle (/admin/health "state").
type State string

// States.
const (
	// StateBackup: waiting to be promoted; sessions are not served.
	StateBackup State = "backup"
	// StatePromoting: POST /admin/promote is under way (503s meanwhile).
	StatePromoting State = "promoting"
	// StateServing: the node serves its sessions.
	StateServing State = "serving"
	// StateFenced: another process promoted this node id; this one
	// serves nothing more and never writes again.
	StateFenced State = "fenced"
	// StateDraining: Serve's context ended; requests in flight finish.
	StateDraining State = "draining"
	// StateClosed: the engine is closed.
	StateClosed State = "closed"
)

// FenceCheck is how often a serving node reads its node id's epoch in the
// store to learn that another process promoted it, even while it writes
// nothing.
const FenceCheck = time.Second

// Options configure a Server.
type Options struct {
	// Config is the ORS configuration: [persistence] chooses the store
	// (type none: no checkpoints, no failover), [orchestration] node-id
	// the node id. Required.
	Config *config.Config
	// Node is the [node] section. Required.
	Node *config.Node
	// Engine are further engine options (Log, OnError, Extensions,
	// Clock, ...). Node and Store must be left zero: Config sets them.
	// default: zero engine.Options
	Engine engine.Options
	// Store, when set, is used instead of the store [persistence] would
	// open (in-process tests share one MemoryStore between a primary and
	// its backup this way); the caller closes it.
	// default: nil, [persistence] decides
	Store persist.Store
	// Logf receives the node's own log lines (role changes, fencing,
	// store errors).
	// default: discarded
	Logf func(format string, args ...any)
}

// Server is one node: an engine, its documents and its HTTP API. It is
// safe for concurrent use.
type Server struct {
	opts Options
	e    *engine.Engine
	lib  *recovery.Library
	docs map[string]*scxml.Document // by the names a start request may give
	mux  *http.ServeMux

	mu    sync.Mutex
	state State
	// promoted is closed when a promotion in flight ends.
	promoted chan struct{}
	epoch    atomic.Uint64

	reqs  requests
	ended endedSet

	// stopping is closed when the node begins to drain or close:
	// starts waiting for their idealtime give up.
	stopping     chan struct{}
	stoppingOnce sync.Once

	stopWatch chan struct{}
	watchDone chan struct{}
	closeOnce sync.Once
	ownStore  persist.Store // opened by New: Close closes it

	metrics *metrics.Metrics // the node's figures (GET /admin/metrics)
}

// New opens the node's store and engine, loads and compiles its
// documents and, for a primary, promotes its node id and adopts what the
// id left in the store. Errors name the option or file:line:col.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Config == nil || opts.Node == nil {
		return nil, errors.New("server: options Config and Node are required")
	}
	if err := opts.Node.Validate(); err != nil {
		return nil, err
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &Server{opts: opts, lib: recovery.NewLibrary(), docs: map[string]*scxml.Document{}, state: StateBackup, stopping: make(chan struct{})}
	s.reqs.waiting = map[string]chan reply{}
	s.metrics = metrics.New()
	eo := opts.Engine
	eo.Observer = engine.JoinObservers(s.metrics.Observer(), s.observer(), eo.Observer)
	eo.Extensions = append(slices.Clone(eo.Extensions), s.extension())
	eo.IOProcessors = append(slices.Clone(eo.IOProcessors), requestProcessor{s})
	userStoreErr := eo.OnStoreError
	eo.OnStoreError = func(id string, err error) {
		if errors.Is(err, engine.ErrFenced) {
			s.setFenced(err)
		}
		if userStoreErr != nil {
			userStoreErr(id, err)
		}
	}
	e, err := s.openEngine(ctx, eo)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.e = e
	s.metrics.Track(e)
	if err := s.loadDocuments(); err != nil {
		e.Close()
		return nil, err
	}
	s.mux = s.routes()
	if opts.Node.Role == config.RolePrimary {
		if err := s.Promote(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	return s, nil
}

// openEngine opens the store ([persistence], with [node] wait-replicas)
// unless Options.Store gives one, and the engine on it, as engine.Open
// would.
func (s *Server) openEngine(ctx context.Context, eo engine.Options) (*engine.Engine, error) {
	cfg := s.opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eo.Store != nil {
		return nil, errors.New("option Engine.Store is set, but [persistence] (or Options.Store) chooses the store")
	}
	if cfg.Node != "" {
		if eo.Node != "" && eo.Node != string(cfg.Node) {
			return nil, fmt.Errorf("option Engine.Node %q differs from [orchestration] node-id %q", eo.Node, cfg.Node)
		}
		eo.Node = string(cfg.Node)
	}
	if !cfg.SessionIDWithNodeID && eo.NewID == nil {
		eo.NewID = func() string { return ids.New("").String() }
	}
	st := s.opts.Store
	if st == nil {
		var err error
		st, err = persist.OpenWith(ctx, cfg, persist.OpenOptions{Redis: persist.RedisOptions{
			WaitReplicas: s.opts.Node.WaitReplicas,
			WaitTimeout:  s.opts.Node.WaitTimeout,
		}})
		if err != nil {
			return nil, err
		}
		s.ownStore = st
	}
	eo.Store = st
	e, err := engine.New(eo)
	if err != nil && s.ownStore != nil {
		s.ownStore.Close()
	}
	return e, err
}

// Metrics returns the node's figures: what GET /admin/metrics answers.
// Publish them through expvar (Metrics.Publish) to have them at
// /debug/vars of a process that serves expvar's handler.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Engine returns the node's engine.
func (s *Server) Engine() *engine.Engine { return s.e }

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler { return s }

// State returns the node's state.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// loadDocuments reads the [node] documents: each directory's *.scxml
// files and each file named, parsed and compiled once per content (by
// SHA-256), and known to the recovery library.
func (s *Server) loadDocuments() error {
	var files []string
	var errs []error
	for _, p := range s.opts.Node.Documents {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("server: [node] documents: %w", err))
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.scxml"))
		if err != nil {
			errs = append(errs, fmt.Errorf("server: [node] documents: %s: %w", p, err))
			continue
		}
		if len(m) == 0 {
			errs = append(errs, fmt.Errorf("server: [node] documents: %s: no *.scxml file", p))
		}
		files = append(files, m...)
	}
	byHash := map[[32]byte]*scxml.Document{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("server: [node] documents: %w", err))
			continue
		}
		doc := byHash[sha256.Sum256(src)]
		if doc == nil {
			if doc, err = scxml.Parse(src, s.e.ParseOptions(f)); err == nil {
				_, err = s.e.Compile(doc)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			byHash[doc.Hash] = doc
			s.lib.Add(doc)
		}
		base := filepath.Base(f)
		for _, name := range []string{base, strings.TrimSuffix(base, ".scxml")} {
			if old := s.docs[name]; old != nil && old != doc {
				errs = append(errs, fmt.Errorf("server: [node] documents: two documents are named %s (%s and %s)", name, old.File, f))
			}
			s.docs[name] = doc
		}
	}
	return errors.Join(errs...)
}

// document finds the document a start request's src names: a served
// file's name, with or without .scxml, or a URL or path ending in one.
func (s *Server) document(src string) (*scxml.Document, error) {
	name := src
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if d := s.docs[name]; d != nil {
		return d, nil
	}
	var names []string
	for n := range s.docs {
		if strings.HasSuffix(n, ".scxml") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return nil, fmt.Errorf("src %q: not a document this node serves (it serves %s)", src, strings.Join(names, ", "))
}

// Promote makes a backup serve its node id: see the package
// documentation. A node that serves already returns nil at once; one
// that was fenced cannot be promoted again (restart it as a backup).
func (s *Server) Promote(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Node.PromoteTimeout)
	defer cancel()
	return s.promote(ctx)
}

func (s *Server) promote(ctx context.Context) error {
	for {
		s.mu.Lock()
		switch s.state {
		case StateServing:
			s.mu.Unlock()
			return nil
		case StatePromoting:
			ch := s.promoted
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return fmt.Errorf("server: promote node %s: %w", s.e.Node(), ctx.Err())
			}
		case StateBackup:
		default:
			st := s.state
			s.mu.Unlock()
			return fmt.Errorf("server: promote node %s: this process is %s: %w", s.e.Node(), st, ErrNotServing)
		}
		s.state = StatePromoting
		s.promoted = make(chan struct{})
		s.mu.Unlock()
		break
	}
	err := s.takeOver(ctx)
	_, fencer := s.e.Store().(persist.Fencer)
	s.mu.Lock()
	if err != nil {
		s.state = StateBackup
	} else if s.state == StatePromoting {
		s.state = StateServing
		if fencer {
			s.stopWatch, s.watchDone = make(chan struct{}), make(chan struct{})
			go s.watchEpoch(s.stopWatch, s.watchDone)
		}
	}
	close(s.promoted)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.opts.Logf("node %s: serving at epoch %d", s.e.Node(), s.epoch.Load())
	return nil
}

// takeOver promotes the node id and adopts its sessions (with a store
// that keeps epochs; without a store there is nothing to take over).
func (s *Server) takeOver(ctx context.Context) error {
	if _, ok := s.e.Store().(persist.Fencer); !ok {
		return nil
	}
	// A promotion that fails part way (a Redis master failing over) is
	// tried again: the next epoch covers every shard (persist.Fencer).
	var epoch uint64
	var err error
	for {
		if epoch, err = s.e.Promote(ctx); err == nil {
			break
		}
		s.opts.Logf("node %s: promote: %v (retrying)", s.e.Node(), err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: %w (%w)", err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	s.epoch.Store(epoch)
	_, err = s.e.Adopt(ctx, s.e.Node(), engine.AdoptOptions{
		Documents: s.lib.Document,
		Horizon:   s.opts.Node.AdoptHorizon,
		OnSession: func(id string, err error) {
			if err != nil {
				s.opts.Logf("node %s: session %s not adopted: %v", s.e.Node(), id, err)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// watchEpoch reads the node id's epoch every FenceCheck: a higher one
// than this process holds means another process took the id over.
func (s *Server) watchEpoch(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	f := s.e.Store().(persist.Fencer)
	t := time.NewTicker(FenceCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), FenceCheck)
		cur, err := f.Epoch(ctx, s.e.Node())
		cancel()
		if err == nil && cur > s.epoch.Load() {
			s.setFenced(fmt.Errorf("node %s: the store holds epoch %d, this process %d: %w", s.e.Node(), cur, s.epoch.Load(), engine.ErrFenced))
			return
		}
	}
}

// setFenced stops the node serving: another process holds its id.
func (s *Server) setFenced(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateFenced || s.state == StateClosed {
		return
	}
	s.state = StateFenced
	s.opts.Logf("node %s: fenced, serving nothing more: %v", s.e.Node(), cause)
}

// fenced reports whether the node lost its id, from the engine's view or
// the watcher's.
func (s *Server) fenced() error {
	if err := s.e.Fenced(); err != nil {
		s.setFenced(err)
		return err
	}
	if s.State() == StateFenced {
		return fmt.Errorf("node %s: %w", s.e.Node(), engine.ErrFenced)
	}
	return nil
}

// ErrNotServing is wrapped by errors of operations the node's state does
// not allow (promoting a fenced node, say).
var ErrNotServing = errors.New("server: node not serving")

// Serve answers HTTP on ln until ctx ends, then drains (see the package
// documentation): it returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	return s.drain(hs)
}

// clock is the engine's clock (engine.Options.Clock).
func (s *Server) clock() engine.Clock {
	if c := s.opts.Engine.Clock; c != nil {
		return c
	}
	return engine.RealClock{}
}

// stop tells what waits (starts held for their idealtime) that the node
// stops.
func (s *Server) stop() {
	s.stoppingOnce.Do(func() { close(s.stopping) })
}

func (s *Server) drain(hs *http.Server) error {
	s.stop()
	s.mu.Lock()
	if s.state != StateFenced {
		s.state = StateDraining // requests not yet in the engine answer 503
	}
	s.mu.Unlock()
	s.opts.Logf("node %s: draining (drain-timeout %v): no new connection, no new macrostep", s.e.Node(), s.opts.Node.DrainTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Node.DrainTimeout)
	defer cancel()
	// Stop accepting at once; the handlers in flight finish meanwhile.
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(ctx) }()
	var errs []error
	if err := s.shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := <-httpDone; err != nil {
		errs = append(errs, fmt.Errorf("server: drain: requests in flight: %w", err))
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("server: drain not finished within [node] drain-timeout %v", s.opts.Node.DrainTimeout))
	}
	return errors.Join(errs...)
}

// Close stops the node at once (no drain): the engine is closed, its
// sessions' checkpoints stay for another node.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), engine.CloseTimeout)
	defer cancel()
	return s.shutdown(ctx)
}

// shutdown closes the node once, within ctx: the engine
// (engine.Shutdown: no timer starts a macrostep any more, the
// macrosteps in flight, timers' and requests' alike, finish and write
// their checkpoints, and those whose last write failed are written
// again); the epoch watch; the requests still waiting for an answer
// (503); and the store it opened.
func (s *Server) shutdown(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.stop()
		s.mu.Lock()
		s.state = StateClosed
		stop, done := s.stopWatch, s.watchDone
		s.mu.Unlock()
		// The engine first: no timer starts a macrostep from now on.
		err = s.e.Shutdown(ctx)
		if stop != nil {
			close(stop)
			<-done
		}
		s.reqs.closeAll(fmt.Errorf("node %s shut down before the session answered; ask again (the node's backup serves the session once promoted): %w", s.e.Node(), engine.ErrClosed))
		if s.ownStore != nil {
			// A store that hangs (a Redis that does not answer) must not
			// hold the exit beyond ctx.
			closed := make(chan error, 1)
			go func() { closed <- s.ownStore.Close() }()
			select {
			case cerr := <-closed:
				err = errors.Join(err, cerr)
			case <-ctx.Done():
				err = errors.Join(err, fmt.Errorf("server: close the store: %w", ctx.Err()))
			}
		}
	})
	return err
}

// endedSet remembers the ids of the last sessions that ended through the
// API, so that an event for one answers 410 rather than 404.
type endedSet struct {
	mu   sync.Mutex
	ids  map[string]bool
	ring []string
	next int
}

const endedRemembered = 4096

func (e *endedSet) add(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ids == nil {
		e.ids = map[string]bool{}
		e.ring = make([]string, endedRemembered)
	}
	if e.ids[id] {
		return
	}
	if old := e.ring[e.next]; old != "" {
		delete(e.ids, old)
	}
	e.ring[e.next] = id
	e.next = (e.next + 1) % len(e.ring)
	e.ids[id] = true
}

func (e *endedSet) has(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ids[id]
}
