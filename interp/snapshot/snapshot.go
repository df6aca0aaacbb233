// Package snapshot is the wire format of interpreter snapshots: the bytes
// a checkpoint stores for an interp.Snapshot, in msgpack, and back.
//
// Every type is written and read by hand here (no struct tags on the
// interpreter's types, no reflection on the checkpoint path, no
// process-wide msgpack registration). The format stays self-describing:
// a snapshot is a map keyed by short names, omitted fields left out; a
// datamodel Value a map of its kind and the fields it uses; event data
// is JSON-like msgpack with *interp.XML as extension type 'X'.
//
// Encode writes version 2 (interp.SnapshotVersion); Decode and Peek read
// versions 1 and 2 to the same snapshots and refuse others (ErrVersion).
// Version 1 (testdata/v1*.msgpack, the format of every release before
// version 2) wrote the session id in full, events as maps of their eight
// fields under their Go names, and lists of states as arrays. Version 2
// writes, where version 1 repeated what its reader knows:
//
//   - "idc", a 32-bit checksum of the session id (FNV-1a steps over its
//     64-bit words, encode.go's idSum) as a uint 32, in place of "id":
//     the reader decodes a record for the id it is stored under, and the
//     checksum still tells a record of another session;
//   - no "id" and "ver" in an invoked child's snapshot when its id is
//     the one the interpreter gives it (parent id "." invoke id);
//   - events with one-letter keys (n name, t type, s sendid, o origin,
//     y origintype, i invokeid, r raw, d data), empty fields left out;
//   - origin 1 for "#_scxml_" followed by the snapshot's own session id,
//     and types 1 and 2 for the SCXML and Basic HTTP Event I/O
//     Processors' URIs (event origin types, delayed sends' and
//     invocations' types);
//   - "st" and "run" only when true;
//   - a list of state indices as a bitset (bin: bit i%8 of byte i/8 is
//     state i) when that is shorter than the array.
//
// Variables ("vars") are written as in version 1, in the bytes the
// datamodel keeps for them (Var.Encoded, AppendValue).
//
// persist stores the bytes in its record envelope and knows nothing of
// what they hold.
package snapshot

import (
	"errors"
	"fmt"
	"sync"

	"github.com/orsgo/engine/interp"
)

// Errors of Decode, wrapped with the session id and the cause.
var (
	// ErrCorrupt: the bytes are not a snapshot.
	ErrCorrupt = errors.New("snapshot: corrupt")
	// ErrVersion: a snapshot of a layout version this build does not read.
	ErrVersion = errors.New("snapshot: unknown version")
)

// Encode encodes snap into a new slice of its exact size, in format
// interp.SnapshotVersion whatever snap.Version (a snapshot read from an
// older version is written in the current one).
func Encode(snap *interp.Snapshot) ([]byte, error) {
	buf := getBuf()
	defer putBuf(buf)
	b, err := AppendEncode((*buf)[:0], snap)
	*buf = b
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

// EncodeSession snapshots s (Session.SnapshotInto) and encodes the
// snapshot into a new slice of its exact size: what Encode(s.Snapshot())
// returns, without the Snapshot's allocations, whose slices are reused
// from one call to the next (a checkpoint's path).
func EncodeSession(s *interp.Session) ([]byte, error) {
	buf := getBuf()
	defer putBuf(buf)
	b, err := AppendSession((*buf)[:0], s)
	*buf = b
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

// AppendSession appends what EncodeSession returns to dst, for a caller
// that reuses its buffer from one checkpoint to the next.
func AppendSession(dst []byte, s *interp.Session) ([]byte, error) {
	snap := snapPool.Get().(*interp.Snapshot)
	defer putSnap(snap)
	if err := s.SnapshotInto(snap); err != nil {
		return dst, err
	}
	return AppendEncode(dst, snap)
}

// snapPool holds the Snapshots of EncodeSession.
var snapPool = sync.Pool{New: func() any { return new(interp.Snapshot) }}

// putSnap pools snap as it is: the next SnapshotInto overwrites every
// field, and clearing what it refers to (a session's event data and
// variable encodings, until the next checkpoint reuses it) would cost a
// checkpoint more than keeping a few of them alive.
func putSnap(snap *interp.Snapshot) { snapPool.Put(snap) }

// AppendEncode appends the encoding of snap to dst and returns the
// extended slice, for a caller that reuses its buffer from one
// checkpoint to the next (no allocation once dst has grown to a
// snapshot's size).
func AppendEncode(dst []byte, snap *interp.Snapshot) ([]byte, error) {
	b, err := appendSnapshot(dst, snap, true, "", "")
	if err != nil {
		return dst, fmt.Errorf("snapshot: encode session %s: %w", snap.SessionID, err)
	}
	return b, nil
}

// maxPooled is the largest buffer kept in bufPool, so that a rare huge
// snapshot does not stay allocated for ever.
const maxPooled = 64 << 10

// bufPool holds encoding buffers: each grows to the size of the
// snapshots it encodes and is reused as it is.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooled {
		bufPool.Put(b)
	}
}

// Decode decodes what Encode wrote for the session sessionID, in any
// version from interp.OldestSnapshotVersion to interp.SnapshotVersion
// (Snapshot.Version says which). Event data
// decodes to the JSON-like Go types it was made of (int64 and float64
// stay apart; non-negative integers beyond a fixint come back as uint64,
// as they always have). Errors name the session and wrap ErrCorrupt or
// ErrVersion.
func Decode(sessionID string, b []byte) (*interp.Snapshot, error) {
	d := newDecoder(nil, b)
	d.dec.UseLooseInterfaceDecoding(true)
	snap, h, err := d.snapshot(sessionID)
	if err != nil {
		return nil, fmt.Errorf("session %s: snapshot: %v: %w", sessionID, err, ErrCorrupt)
	}
	if err := checkHeader(sessionID, h); err != nil {
		return nil, err
	}
	childVersions(snap)
	return snap, nil
}

// childVersions gives the snapshots of snap's children, which version 2
// writes without a version, the version of snap.
func childVersions(snap *interp.Snapshot) {
	for i := range snap.Invocation {
		if c := snap.Invocation[i].Child; c != nil {
			if c.Version == 0 {
				c.Version = snap.Version
			}
			childVersions(c)
		}
	}
}

// EncodeVar encodes v exactly as Encode writes it inside a snapshot, so
// that a datamodel can keep the bytes of a variable that did not change
// and hand them back as Var.Encoded.
func EncodeVar(v *interp.Var) ([]byte, error) {
	buf := getBuf()
	defer putBuf(buf)
	b := appendVarFields((*buf)[:0], v)
	*buf = b
	return append(make([]byte, 0, len(b)), b...), nil // kept by a cache: no spare capacity
}

// AppendVar appends v as Encode writes it inside a snapshot (its Encoded
// bytes when it has them).
func AppendVar(dst []byte, v *interp.Var) []byte { return appendVar(dst, v) }

// VarValue returns v.Value, decoding v.Encoded when that is all v holds.
func VarValue(v *interp.Var) (interp.Value, error) {
	if v.Encoded == nil {
		return v.Value, nil
	}
	d := newDecoder(nil, v.Encoded)
	got, err := d.variable()
	if err != nil {
		return interp.Value{}, fmt.Errorf("variable %s: cached encoding: %v: %w", v.Name, err, ErrCorrupt)
	}
	return got.Value, nil
}
