package persist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/orsgo/engine/internal/msgp"
	"github.com/vmihailenco/msgpack/v5"
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

// encodeRecord wraps rec in the envelope, in one allocation of the exact
// size: the payload is written by internal/msgp, not by msgpack's
// reflective encoder, and the snapshot is copied once, from rec.Data into
// the record. decodeRecord reads it with msgpack.
func encodeRecord(rec *Record) ([]byte, error) {
	created, updated := unixMilli(rec.Created), unixMilli(rec.Updated)
	n := headerLen + 1 + strLen(rec.SessionID) + strLen(rec.Node) + strLen(rec.Type) +
		binLen(rec.Data) + strLen(rec.Doc) + binLen(rec.DocHash[:]) + intLen(created) + intLen(updated)
	b := make([]byte, headerLen, n)
	b = append(b, 0x98) // fixarray of the 8 payload fields
	b = msgp.AppendStr(b, rec.SessionID)
	b = msgp.AppendStr(b, rec.Node)
	b = msgp.AppendStr(b, rec.Type)
	b = msgp.AppendBin(b, rec.Data)
	b = msgp.AppendStr(b, rec.Doc)
	b = msgp.AppendBin(b, rec.DocHash[:])
	b = msgp.AppendInt(b, created)
	b = msgp.AppendInt(b, updated)
	body := b[headerLen:]
	copy(b, magic)
	b[4] = formatVersion
	binary.BigEndian.PutUint64(b[offSeq:], rec.Seq)
	binary.BigEndian.PutUint32(b[offLen:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[offCRC:], crc32Sum(b[:offCRC], body))
	return b, nil
}

// The sizes of the payload's fields as internal/msgp writes them (its
// str, bin and int formats, the smallest that fits, as msgpack's compact
// encoder writes), for encodeRecord's one allocation of the exact size.

func strLen(s string) int {
	switch n := len(s); {
	case n < 32:
		return 1 + n
	case n <= math.MaxUint8:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	default:
		return 5 + n
	}
}

func binLen(p []byte) int {
	switch n := len(p); {
	case p == nil:
		return 1
	case n <= math.MaxUint8:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	default:
		return 5 + n
	}
}

func intLen(v int64) int {
	switch {
	case v >= -32 && v <= math.MaxInt8:
		return 1
	case v >= 0 && v <= math.MaxUint8, v >= math.MinInt8 && v < 0:
		return 2
	case v >= 0 && v <= math.MaxUint16, v >= math.MinInt16 && v < 0:
		return 3
	case v >= 0 && v <= math.MaxUint32, v >= math.MinInt32 && v < 0:
		return 5
	default:
		return 9
	}
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
// The record it returns shares nothing with b.
func decodeRecord(sessionID string, b []byte) (*Record, error) {
	return decodeRecordOf(sessionID, b, false)
}

// decodeRecordOf is decodeRecord; with owned, b is the caller's to give
// away (a reply read for this record alone), and the record's Data is
// a slice of it rather than a copy.
func decodeRecordOf(sessionID string, b []byte, owned bool) (*Record, error) {
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
	if !decodePayload(body, &p, owned) {
		// Not in the forms encodeRecord writes: msgpack reads any.
		p = payload{}
		if err := msgpack.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("session %s: record payload: %v: %w", sessionID, err, ErrCorrupt)
		}
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

// decodePayload reads the payload in the forms encodeRecord writes (the
// ones msgpack's encoder writes for it too), without reflection, copying
// what it keeps (but Data, when b is owned); false for any other form.
func decodePayload(b []byte, p *payload, owned bool) bool {
	if len(b) == 0 || b[0] != 0x98 {
		return false
	}
	b = b[1:]
	// raw reads the bytes of a str (bin, if bin) of any length form.
	raw := func(bin bool) ([]byte, bool) {
		if len(b) == 0 {
			return nil, false
		}
		c, n, h := b[0], 0, 1
		switch {
		case !bin && c&0xe0 == 0xa0:
			n = int(c & 0x1f)
		case bin && c == 0xc0:
			b = b[1:]
			return nil, true
		case !bin && c == 0xd9, bin && c == 0xc4:
			if len(b) < 2 {
				return nil, false
			}
			n, h = int(b[1]), 2
		case !bin && c == 0xda, bin && c == 0xc5:
			if len(b) < 3 {
				return nil, false
			}
			n, h = int(binary.BigEndian.Uint16(b[1:])), 3
		case !bin && c == 0xdb, bin && c == 0xc6:
			if len(b) < 5 {
				return nil, false
			}
			n, h = int(binary.BigEndian.Uint32(b[1:])), 5
		default:
			return nil, false
		}
		if len(b)-h < n {
			return nil, false
		}
		v := b[h : h+n]
		b = b[h+n:]
		return v, true
	}
	str := func(dst *string) bool {
		v, ok := raw(false)
		*dst = string(v)
		return ok
	}
	bin := func(dst *[]byte) bool {
		v, ok := raw(true)
		switch {
		case v == nil:
		case owned:
			*dst = v[:len(v):len(v)]
		default:
			*dst = append([]byte(nil), v...)
		}
		return ok
	}
	integer := func(dst *int64) bool {
		if len(b) == 0 {
			return false
		}
		c, n := b[0], 0
		switch {
		case c <= 0x7f || c >= 0xe0:
			*dst, b = int64(int8(c)), b[1:]
			return true
		case c == 0xcc || c == 0xd0:
			n = 1
		case c == 0xcd || c == 0xd1:
			n = 2
		case c == 0xce || c == 0xd2:
			n = 4
		case c == 0xcf || c == 0xd3:
			n = 8
		default:
			return false
		}
		if len(b) < 1+n {
			return false
		}
		v := b[1 : 1+n]
		switch c {
		case 0xcc:
			*dst = int64(v[0])
		case 0xcd:
			*dst = int64(binary.BigEndian.Uint16(v))
		case 0xce:
			*dst = int64(binary.BigEndian.Uint32(v))
		case 0xcf:
			*dst = int64(binary.BigEndian.Uint64(v))
		case 0xd0:
			*dst = int64(int8(v[0]))
		case 0xd1:
			*dst = int64(int16(binary.BigEndian.Uint16(v)))
		case 0xd2:
			*dst = int64(int32(binary.BigEndian.Uint32(v)))
		case 0xd3:
			*dst = int64(binary.BigEndian.Uint64(v))
		}
		b = b[1+n:]
		return true
	}
	return str(&p.SessionID) && str(&p.Node) && str(&p.Type) && bin(&p.Data) && str(&p.Doc) &&
		bin(&p.DocHash) && integer(&p.Created) && integer(&p.Updated) && len(b) == 0
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
