package persist

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/orsgo/engine/interp"
	"github.com/vmihailenco/msgpack/v5"
)

// pooledEncoder is a msgpack encoder with its buffer, reused: growing a
// fresh buffer to a snapshot's size was a quarter of the bytes a
// checkpoint allocated. Encoders use compact integers.
type pooledEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}}

func getEncoder() *pooledEncoder {
	e := encoders.Get().(*pooledEncoder)
	e.buf.Reset()
	e.enc.Reset(&e.buf)
	e.enc.UseCompactInts(true)
	return e
}

func putEncoder(e *pooledEncoder) {
	if e.buf.Cap() <= 64<<10 { // not a rare huge snapshot's buffer
		encoders.Put(e)
	}
}

// EncodeSnapshot encodes an interpreter snapshot with msgpack.
func EncodeSnapshot(snap *interp.Snapshot) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.enc.Encode(snap); err != nil {
		return nil, fmt.Errorf("persist: encode snapshot of session %s: %w", snap.SessionID, err)
	}
	return bytes.Clone(e.buf.Bytes()), nil
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
