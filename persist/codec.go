package persist

import (
	"bytes"
	"fmt"

	"github.com/orsgo/engine/interp"
	"github.com/vmihailenco/msgpack/v5"
)

// EncodeSnapshot encodes an interpreter snapshot with msgpack.
func EncodeSnapshot(snap *interp.Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(snap); err != nil {
		return nil, fmt.Errorf("persist: encode snapshot of session %s: %w", snap.SessionID, err)
	}
	return buf.Bytes(), nil
}

// DecodeSnapshot decodes what EncodeSnapshot wrote. Event data decodes to
// the same JSON-like Go types it was made of (int64 and float64 stay
// apart). Errors name the session and wrap ErrCorrupt or ErrVersion.
func DecodeSnapshot(sessionID string, b []byte) (*interp.Snapshot, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.UseLooseInterfaceDecoding(true)
	var snap interp.Snapshot
	if err := dec.Decode(&snap); err != nil {
		return nil, fmt.Errorf("session %s: snapshot: %v: %w", sessionID, err, ErrCorrupt)
	}
	if snap.Version != interp.SnapshotVersion {
		return nil, fmt.Errorf("session %s: snapshot version %d, this build reads %d: %w", sessionID, snap.Version, interp.SnapshotVersion, ErrVersion)
	}
	if snap.SessionID != sessionID {
		return nil, fmt.Errorf("session %s: snapshot is of session %q: %w", sessionID, snap.SessionID, ErrCorrupt)
	}
	return &snap, nil
}
