package persist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/orsgo/engine/internal/msgpool"
)

// The envelope every stored value is wrapped in, big-endian:
//
//	offset size
//	0      4    magic "ORSR"
//	4      1    format version (formatVersion)
//	5      1    flags, none defined: a reader rejects unknown bits (ErrVersion)
//	6      8    Seq
//	14     4    payload length
//	18     4    CRC-32C (Castagnoli) of bytes 0..17 and of the payload
//	22     n    payload: msgpack array [SessionID, Node, Type, Data, Doc,
//	            DocHash, Created, Updated] (times in Unix milliseconds)
//
// Seq sits at a fixed offset so that the Redis script refusing stale
// writes can read it with GETRANGE, without decoding the payload.
const (
	magic         = "ORSR"
	formatVersion = 1
	offSeq        = 6
	offLen        = 14
	offCRC        = 18
	headerLen     = 22
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payload is the msgpack body of the envelope.
type payload struct {
	_msgpack  struct{} `msgpack:",as_array"`
	SessionID string
	Node      string
	Type      string
	Data      []byte
	Doc       string
	DocHash   []byte
	Created   int64
	Updated   int64
}

// crc32Sum is the envelope's checksum: CRC-32C of the header fields
// before it, then of the payload.
func crc32Sum(head, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(head, castagnoli), castagnoli, body)
}

// encodeRecord wraps rec in the envelope. The header and the payload are
// written into one pooled buffer (package msgpool) and copied out
// once.
func encodeRecord(rec *Record) ([]byte, error) {
	e := msgpool.Get()
	defer msgpool.Put(e)
	var head [headerLen]byte
	e.Buf.Write(head[:]) // filled in below, once the payload's length is known
	err := e.Enc.Encode(&payload{
		SessionID: rec.SessionID, Node: rec.Node, Type: rec.Type, Data: rec.Data,
		Doc: rec.Doc, DocHash: rec.DocHash[:], Created: unixMilli(rec.Created), Updated: unixMilli(rec.Updated),
	})
	if err != nil {
		return nil, fmt.Errorf("persist: encode session %s: %w", rec.SessionID, err)
	}
	b := e.Buf.Bytes()
	body := b[headerLen:]
	copy(b, magic)
	b[4] = formatVersion
	binary.BigEndian.PutUint64(b[offSeq:], rec.Seq)
	binary.BigEndian.PutUint32(b[offLen:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[offCRC:], crc32Sum(b[:offCRC], body))
	return bytes.Clone(b), nil
}

// recordSeq returns the Seq of an encoded record of the current format,
// or false when b does not start with such a header.
func recordSeq(b []byte) (uint64, bool) {
	if len(b) < headerLen || string(b[:4]) != magic || b[4] != formatVersion {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[offSeq:]), true
}

// decodeRecord checks and opens the envelope of the value stored for
// sessionID. Errors name the session and wrap ErrCorrupt or ErrVersion.
func decodeRecord(sessionID string, b []byte) (*Record, error) {
	if len(b) < 5 || string(b[:4]) != magic {
		return nil, fmt.Errorf("session %s: %d bytes without the record header: %w", sessionID, len(b), ErrCorrupt)
	}
	if v := b[4]; v != formatVersion {
		return nil, fmt.Errorf("session %s: record format version %d, this build reads %d: %w", sessionID, v, formatVersion, ErrVersion)
	}
	if len(b) < headerLen {
		return nil, fmt.Errorf("session %s: record header truncated to %d bytes: %w", sessionID, len(b), ErrCorrupt)
	}
	body := b[headerLen:]
	if n := binary.BigEndian.Uint32(b[offLen:]); uint64(len(body)) != uint64(n) {
		return nil, fmt.Errorf("session %s: record payload of %d bytes, header says %d: %w", sessionID, len(body), n, ErrCorrupt)
	}
	if crc32Sum(b[:offCRC], body) != binary.BigEndian.Uint32(b[offCRC:]) {
		return nil, fmt.Errorf("session %s: record checksum mismatch: %w", sessionID, ErrCorrupt)
	}
	// Flags are covered by the checksum: unknown bits are a newer
	// writer's, not damage.
	if f := b[5]; f != 0 {
		return nil, fmt.Errorf("session %s: record format flags %#02x, this build knows none: %w", sessionID, f, ErrVersion)
	}
	var p payload
	if err := msgpack.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("session %s: record payload: %v: %w", sessionID, err, ErrCorrupt)
	}
	if p.SessionID != sessionID {
		return nil, fmt.Errorf("session %s: stored record is of session %q: %w", sessionID, p.SessionID, ErrCorrupt)
	}
	if len(p.DocHash) != 0 && len(p.DocHash) != 32 {
		return nil, fmt.Errorf("session %s: record document hash of %d bytes: %w", sessionID, len(p.DocHash), ErrCorrupt)
	}
	rec := &Record{
		SessionID: p.SessionID,
		Node:      p.Node,
		Type:      p.Type,
		Seq:       binary.BigEndian.Uint64(b[offSeq:]),
		Data:      p.Data,
		Doc:       p.Doc,
		Created:   fromUnixMilli(p.Created),
		Updated:   fromUnixMilli(p.Updated),
	}
	copy(rec.DocHash[:], p.DocHash)
	return rec, nil
}

// unixMilli is t in Unix milliseconds, 0 for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
