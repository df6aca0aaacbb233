// Package recovery puts a failed node's sessions back to work on another
// node: the switchover half of high availability.
//
// Orchestration Server runs nodes in HA pairs, a primary and a backup. The
// primary runs sessions and checkpoints its voice sessions (package
// engine, package persist); the backup waits. When the primary fails, the
// HA controller (Solution Control Server, a Kubernetes operator, ...)
// tells the backup to switch over: it becomes the primary, finds the
// failed node's sessions in the shared store through the per-node index
// (persist.Store.ListNode, no key-space scan), and resumes each where its
// last checkpoint left it. Digital sessions were never written, so they
// are never resumed: their media server re-queues the interactions.
//
// Recovery fences the failed node first (persist.Fencer.Promote): from
// then on the store refuses every write of a failed node that was only
// paused or cut off, so it cannot overwrite or delete the sessions taken
// from it (it stops serving them: engine.ErrFenced). Choosing when to
// switch over is the controller's job (or the lease's: Lease).
//
// Two ways to take over. Eager (Recover, and Switchover by default) lists
// the failed node's sessions, loads their records in pipelined batches,
// checks them and moves them to this node in the store (a store that
// implements persist.Mover: one pipelined round trip per batch), each on
// condition that nobody took it meanwhile, and installs each session
// hibernated (engine.Engine.TakeOver): no interpreter session is built
// until its first event, query or delayed send, which wakes it from the
// record just written. A session that has something to do at once (a
// delayed send that fell due during the outage, an event in its queue,
// invoked sessions) is restored and run at once, as Options.Build
// restores every session. Lazy (Options.Lazy: engine.Adopt) loads
// nothing: the switchover takes the time of one promotion, whatever the
// number of sessions, and each session is loaded when an event, a send or
// its next timer needs it.
//
// Recovery is idempotent: a session already resumed here is skipped, and
// one that could not be resumed keeps its record and index entry, so the
// next attempt retries it. A session moves from the failed node's index
// to this node's in the same atomic step as its first checkpoint here, so
// a failure at any point leaves it listed by exactly one node.
package recovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// Sentinel errors.
var (
	// ErrUnknownDocument: no document with the name and hash a record
	// names is known (Documents). The session's record is kept.
	ErrUnknownDocument = errors.New("recovery: document of the session is not known")
	// ErrNoStore: the engine has no store to recover from.
	ErrNoStore = errors.New("recovery: engine has no store")
	// ErrNotBackup: Switchover was called on a node that is not a backup.
	ErrNotBackup = errors.New("recovery: node is not a backup")
)

// Documents finds the document a session ran, by the name and SHA-256
// hash its record carries. A session resumes only on the very document
// it was checkpointed with (interp refuses another), so a resolver that
// has only a newer version must return ErrUnknownDocument.
type Documents interface {
	Document(ctx context.Context, name string, hash [32]byte) (*scxml.Document, error)
}

// Library is a Documents holding parsed documents in memory, by hash. It
// is safe for concurrent use.
type Library struct {
	mu   sync.RWMutex
	docs map[[32]byte]*scxml.Document
}

// NewLibrary returns a Library of docs.
func NewLibrary(docs ...*scxml.Document) *Library {
	l := &Library{docs: make(map[[32]byte]*scxml.Document)}
	for _, d := range docs {
		l.Add(d)
	}
	return l
}

// Add makes doc known. Keep older versions of a document in the library
// while sessions of them may still be recorded.
func (l *Library) Add(doc *scxml.Document) {
	l.mu.Lock()
	l.docs[doc.Hash] = doc
	l.mu.Unlock()
}

// Document implements Documents.
func (l *Library) Document(_ context.Context, name string, hash [32]byte) (*scxml.Document, error) {
	l.mu.RLock()
	d := l.docs[hash]
	l.mu.RUnlock()
	if d == nil {
		return nil, fmt.Errorf("document %q (sha256 %x): %w", name, hash[:6], ErrUnknownDocument)
	}
	return d, nil
}

// Options configure Recover and a Node.
type Options struct {
	// Documents resolves the document of each session. Required.
	Documents Documents
	// Parallel is how many sessions are restored at once (with Build,
	// or those that have something to do at once: see Recover).
	// default: 32 × GOMAXPROCS (restoring waits on the store)
	Parallel int
	// Build makes Recover restore every session's interpreter session
	// and run its first macrostep at once (engine.Engine.ResumeRecord),
	// writing its checkpoint under this node through the store's group
	// committer, instead of taking it over hibernated
	// (engine.Engine.TakeOver). Recovery then costs what building an
	// interpreter session (an ECMAScript runtime) per session costs,
	// several times the CPU (BenchmarkRecoverRedisCluster/build), in
	// exchange for sessions that are all in memory when it returns.
	// default: false
	Build bool
	// OnSession is told of each session as it is resumed (err nil) or
	// fails to be (err says why; the record is kept). Calls are
	// serialised, not concurrent.
	// default: nil
	OnSession func(sessionID string, err error)
	// Lazy makes Switchover adopt the failed node's sessions
	// (engine.Adopt) instead of resuming them all at once: see the
	// package documentation.
	// default: false
	Lazy bool
	// Horizon is engine.AdoptOptions.Horizon, for Lazy.
	// default: engine.DefaultHorizon
	Horizon time.Duration
}

// Batch is how many records Recover loads, checks and moves at once (in
// pipelined round trips of up to 1000 reads, and one of moves): big
// enough that a move script serves several sessions of each shard.
const Batch = 4000

// batchers × GOMAXPROCS batches are loaded and taken over at once.
const batchers = 2

// Report says what a recovery did.
type Report struct {
	// Node is the failed node whose sessions were recovered.
	Node string
	// Listed is how many sessions its index held.
	Listed int
	// Resumed is how many now run on this node; Ended of them ended in
	// their first macrostep (a timer that fell due while the node was
	// down ended the call, say) and were deleted.
	Resumed, Ended int
	// Hibernated is how many of Resumed were taken over hibernated
	// (engine.Engine.TakeOver): their interpreter sessions are built at
	// their first event, query or timer. Zero with Options.Build.
	Hibernated int
	// Skipped is how many already ran on this node.
	Skipped int
	// Epoch is the epoch the failed node was raised to (fenced at).
	Epoch uint64
	// Lazy says the sessions were adopted, not resumed: Listed, Resumed
	// and the rest are zero, and each session is loaded on demand.
	Lazy bool
	// NotRecovered are the sessions the failed node ran without
	// persisting them (digital sessions, documents with
	// _persist="false"; persist.Volatile), by id, with their type: they
	// are gone, and the platform should requeue their interactions. Each
	// is reported once: the registry is cleared.
	NotRecovered map[string]string
	// Failed holds, by session id, why a session was not resumed. Their
	// records are kept for another attempt. A session whose first
	// checkpoint on this node failed (engine.ErrCheckpoint) is counted
	// in Resumed and in Failed: it runs, but is not yet safe.
	Failed map[string]error
	// Elapsed is how long the recovery took.
	Elapsed time.Duration
}

// Err returns nil when every session was recovered, else an error naming
// how many were not and the first (by session id) with its cause.
func (r *Report) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(r.Failed))
	for id := range r.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return fmt.Errorf("recovery: node %s: %d of %d sessions not recovered; first: %w", r.Node, len(r.Failed), r.Listed, r.Failed[ids[0]])
}

// Recover fences node (unless it is e's own: e must have been promoted
// then, engine.Engine.Promote) and resumes on e every session that node's
// index lists in e's store: hibernated (see the package documentation),
// or restored at once with Options.Build or when it has something to do
// now. It returns an error only when it could not
// fence node or list its sessions (or ctx ended); per-session failures
// are in the Report (Report.Err sums them up).
func Recover(ctx context.Context, e *engine.Engine, node string, opts Options) (*Report, error) {
	start := time.Now()
	st := e.Store()
	if st == nil {
		return nil, ErrNoStore
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Parallel == 0 {
		// Resuming waits on the store: enough in flight for the group
		// committer to fill its batches.
		opts.Parallel = 32 * runtime.GOMAXPROCS(0)
	}
	epoch, err := fence(ctx, e, node)
	if err != nil {
		return nil, err
	}
	ids, err := st.ListNode(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("recovery: node %s: %w", node, err)
	}
	rep := &Report{Node: node, Listed: len(ids), Epoch: epoch, Failed: make(map[string]error)}
	if rep.NotRecovered, err = notRecovered(ctx, e, node); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	done := func(id string, ended, skipped, hibernated bool, err error) {
		mu.Lock()
		switch {
		case skipped:
			rep.Skipped++
		case err == nil || errors.Is(err, engine.ErrCheckpoint):
			rep.Resumed++
			if ended {
				rep.Ended++
			}
			if hibernated {
				rep.Hibernated++
			}
		}
		if err != nil {
			rep.Failed[id] = err
		}
		if opts.OnSession != nil && !skipped {
			opts.OnSession(id, err)
		}
		mu.Unlock()
	}
	type item struct {
		id  string
		rec *persist.Record
		doc *scxml.Document // nil: not resolved yet
		err error
	}
	// Sessions restored at once (Options.Build, or those TakeOver leaves
	// because they have something to do now) go to Parallel workers.
	work := make(chan item, Batch)
	var wg sync.WaitGroup
	for range min(opts.Parallel, max(1, len(ids))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				ended, skipped, err := resume(ctx, e, it.id, it.rec, it.doc, it.err, opts.Documents)
				done(it.id, ended, skipped, false, err)
			}
		}()
	}
	send := func(it item) bool {
		select {
		case work <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// Records are loaded Batch at a time in one round trip (a store that
	// implements persist.Loader).
	load := func(ids []string) ([]*persist.Record, []error) {
		if l, ok := st.(persist.Loader); ok {
			return l.LoadMany(ctx, ids)
		}
		recs, errs := make([]*persist.Record, len(ids)), make([]error, len(ids))
		for i, id := range ids {
			recs[i], errs[i] = st.Load(ctx, id)
		}
		return recs, errs
	}
	// batch loads one batch and takes its sessions over (or hands them
	// to the workers, with Build).
	batch := func(chunk []string) {
		// Sessions that already run here are not loaded.
		need := chunk[:0:0]
		for _, id := range chunk {
			if _, err := e.Session(id); err == nil {
				done(id, false, true, false, nil)
				continue
			}
			need = append(need, id)
		}
		if len(need) == 0 {
			return
		}
		recs, errs := load(need)
		if opts.Build {
			for i, id := range need {
				if !send(item{id: id, rec: recs[i], err: errs[i]}) {
					return
				}
			}
			return
		}
		var trecs []*persist.Record
		var tdocs []*scxml.Document
		for i, id := range need {
			if errs[i] != nil {
				done(id, false, false, false, errs[i])
				continue
			}
			doc, err := opts.Documents.Document(ctx, recs[i].Doc, recs[i].DocHash)
			if err != nil {
				done(id, false, false, false, fmt.Errorf("session %s: %w", id, err))
				continue
			}
			trecs, tdocs = append(trecs, recs[i]), append(tdocs, doc)
		}
		for i, t := range e.TakeOver(ctx, node, trecs, tdocs) {
			id := trecs[i].SessionID
			switch {
			case t.Session != nil:
				done(id, false, false, true, nil)
			case t.Resume:
				if !send(item{id: id, rec: trecs[i], doc: tdocs[i]}) {
					return
				}
			case errors.Is(t.Err, engine.ErrSessionExists):
				done(id, false, true, false, nil)
			default:
				done(id, false, false, false, t.Err)
			}
		}
	}
	// A few batches at once: one's round trips overlap another's
	// decoding.
	chunks := make(chan []string)
	var bwg sync.WaitGroup
	for range min(batchers*runtime.GOMAXPROCS(0), max(1, (len(ids)+Batch-1)/Batch)) {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for chunk := range chunks {
				batch(chunk)
			}
		}()
	}
feed:
	for off := 0; off < len(ids); off += Batch {
		select {
		case chunks <- ids[off:min(len(ids), off+Batch)]:
		case <-ctx.Done():
			break feed
		}
	}
	close(chunks)
	bwg.Wait()
	close(work)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.observe(e, ctx.Err())
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("recovery: node %s: %w", node, err)
	}
	return rep, nil
}

// check validates the options.
func (o *Options) check() error {
	if o.Documents == nil {
		return errors.New("recovery: option Documents: required")
	}
	if o.Parallel < 0 {
		return fmt.Errorf("recovery: option Parallel %d: negative", o.Parallel)
	}
	if o.Horizon < 0 {
		return fmt.Errorf("recovery: option Horizon %v: negative", o.Horizon)
	}
	return nil
}

// fence promotes node in e's store, so that it writes no more: another
// node's id is promoted here; e's own must have been (Engine.Promote).
func fence(ctx context.Context, e *engine.Engine, node string) (uint64, error) {
	if node == e.Node() {
		if e.Epoch() == 0 {
			return 0, fmt.Errorf("recovery: node %s is this engine's own: promote it first (engine.Engine.Promote)", node)
		}
		return e.Epoch(), nil
	}
	f, ok := e.Store().(persist.Fencer)
	if !ok {
		return 0, fmt.Errorf("recovery: node %s: store %T cannot fence a node (persist.Fencer)", node, e.Store())
	}
	epoch, err := f.Promote(ctx, node)
	if err != nil {
		return 0, fmt.Errorf("recovery: fence node %s: %w", node, err)
	}
	return epoch, nil
}

// resume resumes one session from its loaded record (or reports why it
// could not be loaded), finding its document unless doc is given.
func resume(ctx context.Context, e *engine.Engine, id string, rec *persist.Record, doc *scxml.Document, err error, docs Documents) (ended, skipped bool, _ error) {
	if err != nil {
		return false, false, err
	}
	if doc == nil {
		if doc, err = docs.Document(ctx, rec.Doc, rec.DocHash); err != nil {
			return false, false, fmt.Errorf("session %s: %w", id, err)
		}
	}
	s, err := e.ResumeRecord(ctx, rec, doc)
	if errors.Is(err, engine.ErrSessionExists) {
		return false, true, nil
	}
	if s == nil {
		return false, false, err
	}
	return !s.Running(), false, err
}

// Role is an HA role.
type Role int

// Roles.
const (
	// Backup: the node waits for its primary to fail.
	Backup Role = iota
	// Primary: the node runs sessions.
	Primary
)

// String returns "backup" or "primary".
func (r Role) String() string {
	switch r {
	case Backup:
		return "backup"
	case Primary:
		return "primary"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Node is one member of an HA pair: its engine, its role and the node it
// backs up.
type Node struct {
	e    *engine.Engine
	peer string
	opts Options

	mu   sync.Mutex
	role Role
}

// NewNode returns the HA member running e, starting in role, whose peer
// (the other member of its pair) is the node id peer.
func NewNode(e *engine.Engine, role Role, peer string, opts Options) (*Node, error) {
	if e == nil {
		return nil, errors.New("recovery: NewNode: nil engine")
	}
	if peer == "" || peer == e.Node() {
		return nil, fmt.Errorf("recovery: NewNode: peer %q: must name the other node of the pair", peer)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if e.Store() == nil {
		return nil, ErrNoStore
	}
	return &Node{e: e, peer: peer, opts: opts, role: role}, nil
}

// Role returns the node's current role.
func (n *Node) Role() Role {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.role
}

// Switchover makes a backup the primary and takes over its failed peer's
// sessions: it fences the peer, then recovers its sessions (Recover) or,
// with Options.Lazy, adopts them (engine.Engine.Adopt: the report then
// says only the epoch). The role changes before the first session is
// resumed, so that new calls can be accepted at once; the report says how
// the recovery went. A node that is already primary returns ErrNotBackup
// (call Recover to sweep up a node's sessions again).
func (n *Node) Switchover(ctx context.Context) (*Report, error) {
	n.mu.Lock()
	if n.role != Backup {
		n.mu.Unlock()
		return nil, fmt.Errorf("recovery: switchover of %s: %w (it is %s)", n.e.Node(), ErrNotBackup, n.role)
	}
	n.role = Primary
	n.mu.Unlock()
	if !n.opts.Lazy {
		return Recover(ctx, n.e, n.peer, n.opts)
	}
	start := time.Now()
	rep := &Report{Node: n.peer, Lazy: true, Failed: map[string]error{}}
	// The unpersisted sessions are listed while the peer is fenced: two
	// round trips to every shard, at once.
	var nerr error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		rep.NotRecovered, nerr = notRecovered(ctx, n.e, n.peer)
	}()
	epoch, err := n.e.Adopt(ctx, n.peer, engine.AdoptOptions{
		Documents: n.opts.Documents.Document,
		Horizon:   n.opts.Horizon,
		OnSession: n.opts.OnSession,
	})
	<-listed
	if err = cmp.Or(err, nerr); err != nil {
		return nil, fmt.Errorf("recovery: switchover of %s: %w", n.e.Node(), err)
	}
	rep.Epoch, rep.Elapsed = epoch, time.Since(start)
	return rep, nil
}

// notRecovered returns (and clears) node's registry of unpersisted
// sessions, if e's store keeps one.
func notRecovered(ctx context.Context, e *engine.Engine, node string) (map[string]string, error) {
	v, ok := e.Store().(persist.Volatile)
	if !ok || node == e.Node() {
		return nil, nil
	}
	vs, err := v.Volatile(ctx, node, true)
	if err != nil {
		return nil, fmt.Errorf("recovery: node %s: %w", node, err)
	}
	out := make(map[string]string, len(vs))
	for _, s := range vs {
		out[s.SessionID] = s.Type
	}
	return out, nil
}

// Demote makes the node a backup again (its peer came back as primary,
// say). Sessions it runs are not touched: an HA controller demotes a node
// after draining or fencing it.
func (n *Node) Demote() {
	n.mu.Lock()
	n.role = Backup
	n.mu.Unlock()
}

// Recover resumes here the sessions of any node (see the package Recover):
// for a node lost without its pair, or to retry the sessions an earlier
// switchover could not resume.
func (n *Node) Recover(ctx context.Context, node string) (*Report, error) {
	return Recover(ctx, n.e, node, n.opts)
}

// Orphans returns the nodes other than this one that have sessions in the
// store: after a switchover, the failed peer should not be among them.
// Other live nodes of the cluster are listed too; telling them apart is
// the HA controller's business.
func (n *Node) Orphans(ctx context.Context) ([]string, error) {
	st := n.e.Store()
	nodes, err := st.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	var out []string
	for _, nd := range nodes {
		if nd == n.e.Node() {
			continue
		}
		// The registry may still name a node whose last session just
		// ended or moved; its index says.
		ids, err := st.ListNode(ctx, nd)
		if err != nil {
			return nil, fmt.Errorf("recovery: %w", err)
		}
		if len(ids) > 0 {
			out = append(out, nd)
		}
	}
	return out, nil
}
