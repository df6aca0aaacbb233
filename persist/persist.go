// Package persist checkpoints sessions: it encodes interpreter snapshots
// (msgpack, inside a checked envelope) and keeps them in a Store, in memory
// (MemoryStore) or in Redis, standalone or Redis Cluster (RedisStore),
// under keys rooted at ORS:<cluster>.
//
// The interpreter never touches storage. The engine takes a snapshot after
// each macrostep of a persisted session and hands it to Store.Save; when
// the session ends it calls Store.Delete. After a node fails, a backup
// node asks Store.ListNode for the failed node's sessions and resumes each
// from Store.Load.
//
// # Fencing
//
// Every node id has an epoch in the store, zero until the node is first
// promoted. Fencer.Promote raises it atomically: a backup taking over a
// node id (or another node adopting a failed node's sessions) promotes the
// node, and from then on the store refuses, with ErrFenced, every write
// (Save, Delete, Touch, and the index entries they write) that carries the
// node with an older epoch: a paused or partitioned primary that comes
// back cannot overwrite, delete or keep alive the records of sessions it
// lost, whatever their Seq. The writer's node and epoch travel with each
// write (Record.Node and Record.Epoch, Writer); the check is in the same
// atomic step as the write and its Seq check (MemoryStore: under its lock;
// RedisStore: in the same Lua script, see RedisStore for how the epoch is
// kept in the record's cluster slot).
//
// A record and its node's index entry (and the session's next due time,
// Record.Due) are written in one atomic step too, so that a session is
// listed by exactly the node whose record owns it: a Save by another node
// moves the entry, a Delete removes it.
//
// Beyond Store, both stores implement Expirer (record time to live),
// Fencer (node epochs), Scheduler (due times in the index), Loader (many
// records per round trip), Leaser (leases for automatic failover) and
// Volatile (the registry of sessions a node runs unpersisted).
package persist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Stores wrap them with the session id ("session s1:
// ... : persist: not found"); branch on them with errors.Is.
var (
	// ErrNotFound: the session has no record (never saved, deleted, or
	// expired).
	ErrNotFound = errors.New("persist: not found")
	// ErrCorrupt: the stored bytes are not a record (truncated, checksum
	// mismatch, undecodable, or the record of another session).
	ErrCorrupt = errors.New("persist: corrupt record")
	// ErrVersion: the record was written in a format version (or with
	// format flags) that this build does not read.
	ErrVersion = errors.New("persist: unknown record format version")
	// ErrStale: Save was refused because the store holds a record of the
	// session with a higher Seq (a later checkpoint overtook this one).
	ErrStale = errors.New("persist: stale record")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("persist: store closed")
	// ErrFenced: the write was refused because its writer lost the
	// session: the writer's node was promoted since (its epoch in the
	// store is higher than the writer's), or, for Expirer.Touch, the
	// record belongs to another node now. Nothing was written. A node
	// that gets it must stop serving the session and never write it
	// again: another node runs it.
	ErrFenced = errors.New("persist: fenced: the writer lost the session")
	// ErrMoved: Mover.MoveMany was refused because the session's record
	// is not the one the mover read: another node took the session over,
	// or a later checkpoint was written, since. Nothing was written.
	ErrMoved = errors.New("persist: moved: the record changed since it was read")
)

// Writer names who writes: a node and the epoch it holds (zero for a node
// never promoted). A write whose Epoch is lower than the node's epoch in
// the store is refused with ErrFenced.
type Writer struct {
	Node  string
	Epoch uint64
}

// Record is what a Store keeps per session: one checkpoint.
type Record struct {
	// SessionID identifies the session. Required, non-empty.
	SessionID string
	// Node is the node that owns (runs) the session; ListNode(Node) lists
	// it, so that a backup can find a failed node's sessions. Save
	// writes as Node.
	Node string
	// Epoch is the writer's epoch for Node (see Writer): Save is refused
	// with ErrFenced when the store holds a higher epoch for Node. It is
	// checked, not kept: Load returns zero.
	Epoch uint64
	// Due is when the session's next delayed send falls due (zero if it
	// has none), kept in the node's index so that a node adopting the
	// sessions of a failed one can wake them when they fall due without
	// loading them first (Scheduler). It is kept in the index, not in the
	// record: Load returns zero.
	Due time.Time
	// Type is the session type ("voice").
	Type string
	// Seq is the checkpoint number, increasing with each macrostep. A
	// store refuses (ErrStale) a record whose Seq is lower than that of
	// the record it holds, so that a checkpoint delayed in flight cannot
	// overwrite a later one. Zero disables the check for this Save.
	Seq uint64
	// Doc and DocHash identify the document the session runs (its name
	// and the SHA-256 of its source), so that a node resuming the session
	// can find the document before decoding Data.
	Doc     string
	DocHash [32]byte
	// Created is when the session started; Updated when this checkpoint
	// was taken (the engine's clock, millisecond precision once stored).
	Created, Updated time.Time
	// Data is the encoded interpreter snapshot (snapshot.Encode), opaque
	// to the store.
	Data []byte
}

// Store keeps session records. Implementations are safe for concurrent
// use; each call is independent, and none keeps a reference to the
// caller's Record or its Data after it returns (Load returns a Record the
// caller owns). Every record carries a time to live, refreshed by each
// Save (and by Expirer.Touch, for stores that implement it); a record not
// saved again within it disappears, as if deleted.
//
// A record and its entry in its owner's index are written in one atomic
// step: ListNode(n) lists exactly the sessions whose last Save named n
// (and that were not deleted since), never a session another node took
// over. Records expire (see Expirer); ListNode drops the entries of
// expired records.
type Store interface {
	// Save writes rec, replacing the session's earlier record, refreshes
	// its time to live and puts the session in the index of rec.Node,
	// taking it out of the index of its previous owner, all at once. It
	// returns ErrFenced (wrapped) when the store holds a higher epoch for
	// rec.Node than rec.Epoch, and ErrStale when it holds a record of
	// the session with a higher Seq; it then changes nothing. When Save
	// returns any other error the record may or may not have been
	// written.
	Save(ctx context.Context, rec *Record) error
	// Load reads a session's record. It returns ErrNotFound, ErrCorrupt or
	// ErrVersion, wrapped in an error that names the session, when it
	// cannot.
	Load(ctx context.Context, sessionID string) (*Record, error)
	// Delete removes the session's record and its entry in its owner's
	// index, at once: the session ended. It returns ErrFenced (wrapped),
	// changing nothing, when the store holds a higher epoch for w.Node
	// than w.Epoch. Deleting a session that has no record is not an
	// error.
	Delete(ctx context.Context, w Writer, sessionID string) error
	// ListNode returns, sorted, the ids of the sessions in node's index:
	// those whose last Save named node and that were not deleted since,
	// whose record still exists. It reads the index, not the key space
	// (no scan). Entries whose record expired are removed from the index
	// and not returned. A store may read a large index in several steps
	// (RedisStore does, RedisOptions.PageSize): a session whose entry is
	// written or removed while ListNode runs may or may not be listed;
	// every other one is listed, once.
	ListNode(ctx context.Context, node string) ([]string, error)
	// Nodes returns, sorted, the nodes whose index holds at least one
	// session, so that an operator or a backup can see which nodes left
	// sessions behind. Like ListNode it reads a registry, not the key
	// space; it may list a node whose last sessions just ended.
	Nodes(ctx context.Context) ([]string, error)
	// Close releases the store's resources after finishing the Saves
	// already accepted; later calls return ErrClosed.
	Close() error
}

// Expirer is implemented by stores whose records expire (MemoryStore and
// RedisStore do): it tells their time to live and postpones it for
// sessions that are alive but not saved, such as the engine's hibernated
// sessions (engine.Options.HibernateAfter), which are written once and
// may then wait for days. A Store that does not implement it keeps its
// records for as long as it sees fit, and its callers cannot do more.
type Expirer interface {
	// TTL returns how long a record (and its node's index, and the node
	// registry) lives after the Save or Touch that last wrote or
	// refreshed it. It does not change. Zero or less: records never
	// expire, and Touch need not be called.
	TTL() time.Duration
	// Touch refreshes the time to live of the records of sessionIDs,
	// without reading or rewriting them, as if they had just been saved,
	// with their index entries (adding an entry under w.Node for a record
	// that has lost it). Each record is refreshed or not on its own, in
	// one atomic step with its fencing check: a record that another node
	// owns now is not touched (ErrFenced for that session), and when the
	// store holds a higher epoch for w.Node than w.Epoch nothing is.
	//
	// The error is nil when every record was refreshed. Otherwise it
	// holds, joined with errors.Join when there are several, one
	// *SessionError for each session whose record was not refreshed:
	// wrapping ErrNotFound for a record that no longer exists (deleted,
	// or expired: it cannot come back), ErrFenced, or the store's error;
	// and, not tied to a session, other errors. With no sessionIDs Touch
	// does nothing.
	Touch(ctx context.Context, w Writer, sessionIDs []string) error
}

// Fencer is implemented by stores that keep node epochs (MemoryStore and
// RedisStore do): see "Fencing" in the package documentation.
type Fencer interface {
	// Promote raises node's epoch by one, atomically, and returns the
	// new epoch: from when it returns, every write carrying node with a
	// lower epoch is refused (ErrFenced). The caller writes as node with
	// the epoch returned (a backup taking over the node id), or adopts
	// node's sessions as a node of its own (they move to it as it saves
	// them). Two promotions never return the same epoch.
	Promote(ctx context.Context, node string) (uint64, error)
	// Epoch returns node's current epoch (zero if never promoted).
	Epoch(ctx context.Context, node string) (uint64, error)
}

// DueSession is a session of a node's index whose next delayed send
// falls due at Due.
type DueSession struct {
	SessionID string
	Due       time.Time
}

// Scheduler is implemented by stores that keep each session's next due
// time in its node's index (MemoryStore and RedisStore do), written with
// the record (Record.Due).
type Scheduler interface {
	// DueBefore returns node's sessions whose next delayed send falls
	// due before t, in due-time order (then by id). Sessions without a
	// delayed send are not returned. A session whose record expired may
	// be returned until ListNode (or a sweep) drops its entry: loading it
	// finds nothing.
	DueBefore(ctx context.Context, node string, t time.Time) ([]DueSession, error)
}

// Loader is implemented by stores that read many records in one round
// trip (RedisStore pipelines the GETs; MemoryStore takes its lock once).
type Loader interface {
	// LoadMany reads the records of sessionIDs. recs[i] is the record of
	// sessionIDs[i], or nil when errs[i] says why not (as Load would).
	LoadMany(ctx context.Context, sessionIDs []string) (recs []*Record, errs []error)
}

// Move is one session moving to a new owner (Mover).
type Move struct {
	// Record is written as Save writes it: under Record.Node, fenced by
	// Record.Epoch, with the session's index entry moved to Record.Node.
	Record *Record
	// From is the node whose index must still list the session, and Seq
	// the checkpoint its record must still hold, for the move to happen.
	From string
	Seq  uint64
}

// Mover is implemented by stores that move many sessions to a new owner
// at once (RedisStore pipelines one script per session; MemoryStore takes
// its lock once): a node recovering a failed node's sessions
// (package recovery) writes their records under its own name without
// restoring them, on condition that nobody took them meanwhile.
type Mover interface {
	// MoveMany writes each move's Record as Save would (fencing check on
	// Record.Node and Record.Epoch, index entry moved, time to live
	// refreshed), in one atomic step with checking that the session is
	// still in the index of From and that its record still holds
	// checkpoint Seq. errs[i] is nil when moves[i] landed. Otherwise it
	// wraps ErrFenced, ErrMoved (the session moved or was written since),
	// or ErrNotFound (its record is gone), and nothing was written for
	// it; any other error leaves it unknown whether the move landed.
	MoveMany(ctx context.Context, moves []Move) (errs []error)
}

// SessionError is an error about one session's record, as Expirer.Touch
// reports each session it could not refresh, so that a caller can tell
// which sessions failed and why (errors.As finds it in a joined error;
// errors.Is sees through it).
type SessionError struct {
	// SessionID is the session whose record it is about.
	SessionID string
	// Err is what went wrong: ErrNotFound, or the store's error.
	Err error
}

// Error returns "session <id>: <Err>".
func (e *SessionError) Error() string { return "session " + e.SessionID + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *SessionError) Unwrap() error { return e.Err }

// DefaultTTL is how long a record lives without being saved again (or
// touched: Expirer). The ORS documentation gives every record a time to
// live without naming it; a voice call that makes no progress for a day
// is gone, and its keys should be too.
const DefaultTTL = 24 * time.Hour

func checkRecord(rec *Record) error {
	if rec == nil {
		return errors.New("persist: save: nil record")
	}
	if rec.SessionID == "" {
		return errors.New("persist: save: record without SessionID")
	}
	return nil
}

func notFound(sessionID string) error {
	return fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
}

func fenced(sessionID string, w Writer, stored uint64) error {
	return fmt.Errorf("session %s: node %s writes with epoch %d, the store holds epoch %d: %w", sessionID, w.Node, w.Epoch, stored, ErrFenced)
}

func moved(sessionID, from string, seq uint64, why string) error {
	return fmt.Errorf("session %s: move from node %s at seq %d: %s: %w", sessionID, from, seq, why, ErrMoved)
}

func stale(sessionID string, seq, stored uint64) error {
	return fmt.Errorf("session %s: seq %d, the store holds seq %d: %w", sessionID, seq, stored, ErrStale)
}

// prepareSave is the part of Save every store shares: the context is
// still live, the record is well formed, and it is encoded.
func prepareSave(ctx context.Context, rec *Record) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkRecord(rec); err != nil {
		return nil, err
	}
	return encodeRecord(rec)
}
