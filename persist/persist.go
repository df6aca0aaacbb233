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
)

// Record is what a Store keeps per session: one checkpoint.
type Record struct {
	// SessionID identifies the session. Required, non-empty.
	SessionID string
	// Node is the node that owns (runs) the session; ListNode(Node) lists
	// it, so that a backup can find a failed node's sessions.
	Node string
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
// A record and its node's index are separate keys (in Redis Cluster, in
// different slots): they are written together but not atomically. A Store
// keeps them consistent in the direction that matters: ListNode never
// returns a session whose record is gone (it drops such index entries),
// and a session whose Save failed is indexed again by its next Save.
type Store interface {
	// Save writes rec, replacing the session's earlier record, refreshes
	// its time to live and adds the session to the index of rec.Node. It
	// returns ErrStale (wrapped) when the store holds a record of the
	// session with a higher Seq, and then changes nothing. When Save
	// returns any other error the record may or may not have been
	// written.
	Save(ctx context.Context, rec *Record) error
	// Load reads a session's record. It returns ErrNotFound, ErrCorrupt or
	// ErrVersion, wrapped in an error that names the session, when it
	// cannot.
	Load(ctx context.Context, sessionID string) (*Record, error)
	// Delete removes the session's record and its entry in node's index:
	// the session ended, or another node took it over. Deleting a session
	// that has no record is not an error.
	Delete(ctx context.Context, node, sessionID string) error
	// Unlist removes the session from node's index only, keeping its
	// record: the session moved to another node, which saved it as its
	// own first, so that no moment exists without a record.
	Unlist(ctx context.Context, node, sessionID string) error
	// ListNode returns, sorted, the ids of the sessions in node's index:
	// those saved with Record.Node == node and not since deleted from it,
	// whose record still exists. It reads the index, not the key space
	// (no scan). Entries whose record expired or was deleted are removed
	// from the index and not returned. A node that takes a session over
	// deletes it from the previous owner's index (Delete with the old
	// node), as Save does not know the previous owner.
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
	// without reading or rewriting them, as if they had just been saved;
	// and of node's index and the node registry, adding the sessions to
	// node's index and node to the registry if they are not in them (an
	// index, say, that expired or lost its last member). It assumes, as
	// Save does, that node owns the sessions: a node that lost one to
	// another must not touch it, or it would list it again. It is not
	// atomic: each record is refreshed or not on its own.
	//
	// The error is nil when every record was refreshed. Otherwise it
	// holds, joined with errors.Join when there are several, one
	// *SessionError for each session whose record was not refreshed:
	// wrapping ErrNotFound for a record that no longer exists (deleted,
	// or expired: it cannot come back), or the store's error; and, not
	// tied to a session, the errors about node's index or the registry.
	// An entry that Touch added to node's index for a session without a
	// record is dropped by ListNode, as for any record that expires.
	// With no sessionIDs Touch does nothing.
	Touch(ctx context.Context, node string, sessionIDs []string) error
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
