// Package persist checkpoints sessions: it encodes interpreter snapshots
// (msgpack, inside a checked envelope) and stores them, in memory or in
// Redis (standalone or Redis Cluster), under keys rooted at ORS:<cluster>.
//
// The interpreter never touches storage; the engine takes a snapshot after
// each macrostep of a persisted session and hands it to a Store.
package persist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Sentinel errors, wrapped with the session id.
var (
	// ErrNotFound: no record for the session (never saved, deleted, or
	// expired).
	ErrNotFound = errors.New("persist: no record")
	// ErrCorrupt: the stored bytes are not a record (truncated, bad
	// checksum, undecodable).
	ErrCorrupt = errors.New("persist: corrupt record")
	// ErrVersion: the record was written in a format this build does not
	// read.
	ErrVersion = errors.New("persist: unknown record format version")
)

// Record is what a Store keeps per session.
type Record struct {
	SessionID string `msgpack:"id"`
	// Node owns the session; ListNode finds its sessions after a failure.
	Node string `msgpack:"node"`
	// Type is the session type ("voice").
	Type string `msgpack:"type"`
	// Seq is the session's checkpoint number: a store refuses nothing, but
	// readers can tell which of two records is newer.
	Seq uint64 `msgpack:"seq"`
	// Data is the encoded interpreter snapshot (EncodeSnapshot).
	Data []byte `msgpack:"data"`
}

// Store keeps session records. Implementations are safe for concurrent
// use. Every write refreshes the record's time to live.
type Store interface {
	// Save writes rec, replacing any earlier record of the session, and
	// adds the session to its node's index.
	Save(ctx context.Context, rec *Record) error
	// Load reads a session's record: ErrNotFound, ErrCorrupt or
	// ErrVersion (wrapped, naming the session) when it cannot.
	Load(ctx context.Context, sessionID string) (*Record, error)
	// Delete removes the session's record and its index entry: the
	// session ended.
	Delete(ctx context.Context, node, sessionID string) error
	// ListNode returns the ids of the sessions node owns, from its index
	// (no key scan). Entries whose record expired are dropped from the
	// index and not returned.
	ListNode(ctx context.Context, node string) ([]string, error)
	// Close releases the store's resources.
	Close() error
}

// DefaultTTL is how long a record lives without being saved again. A voice
// call that does nothing for a day is gone; its keys should be too.
const DefaultTTL = 24 * time.Hour

// The envelope: magic, format version, flags, payload length, CRC-32C of
// the payload, then the payload (the msgpack Record).
const (
	magic         = "ORSR"
	formatVersion = 1
	headerLen     = 4 + 1 + 1 + 4 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord wraps rec in the envelope.
func encodeRecord(rec *Record) ([]byte, error) {
	payload, err := msgpack.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("persist: encode session %s: %w", rec.SessionID, err)
	}
	b := make([]byte, headerLen, headerLen+len(payload))
	copy(b, magic)
	b[4] = formatVersion
	binary.BigEndian.PutUint32(b[6:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[10:], crc32.Checksum(payload, castagnoli))
	return append(b, payload...), nil
}

// decodeRecord checks and opens the envelope of the record stored for
// sessionID.
func decodeRecord(sessionID string, b []byte) (*Record, error) {
	if len(b) < headerLen || string(b[:4]) != magic {
		return nil, fmt.Errorf("session %s: %d bytes without the record header: %w", sessionID, len(b), ErrCorrupt)
	}
	if v := b[4]; v != formatVersion {
		return nil, fmt.Errorf("session %s: format version %d, this build reads %d: %w", sessionID, v, formatVersion, ErrVersion)
	}
	n := binary.BigEndian.Uint32(b[6:])
	payload := b[headerLen:]
	if uint64(len(payload)) != uint64(n) {
		return nil, fmt.Errorf("session %s: payload of %d bytes, header says %d (truncated?): %w", sessionID, len(payload), n, ErrCorrupt)
	}
	if sum := crc32.Checksum(payload, castagnoli); sum != binary.BigEndian.Uint32(b[10:]) {
		return nil, fmt.Errorf("session %s: checksum mismatch: %w", sessionID, ErrCorrupt)
	}
	var rec Record
	if err := msgpack.Unmarshal(payload, &rec); err != nil {
		return nil, fmt.Errorf("session %s: %v: %w", sessionID, err, ErrCorrupt)
	}
	if rec.SessionID != sessionID {
		return nil, fmt.Errorf("session %s: record is of session %q: %w", sessionID, rec.SessionID, ErrCorrupt)
	}
	return &rec, nil
}
