package persist

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Encryption at rest: a Sealer seals the payload of a record's envelope
// with AES-256-GCM before it is stored, and opens it when it is read.
//
// The envelope's header stays in clear (the Redis scripts read its Seq);
// flag bit flagSealed says the payload is sealed, and the payload is then
//
//	offset size
//	0      4    key id: the first 4 bytes of HMAC-SHA-256(key, keyIDLabel)
//	4      12   nonce, random for every write (cipher.NewGCMWithRandomNonce)
//	16     n+16 ciphertext of the clear payload, and the GCM tag
//
// The associated data is the record's key name (ORS:<cluster>:session:{id})
// followed by the header up to the payload length (magic, version, flags,
// Seq): a record copied to another session's key, or given another Seq,
// does not open. The header's CRC covers the sealed payload, so that
// damage in storage is told apart (ErrCorrupt) from a record that was
// altered or copied on purpose (ErrTampered).
//
// A reader of a build without sealing sees an unknown flag and returns
// ErrVersion: it never mistakes ciphertext for a payload.
const (
	flagSealed   = 0x01
	keyIDLen     = 4
	sealOverhead = keyIDLen + 12 + 16
	keyIDLabel   = "orsgo/engine persist record key id"
)

// Errors of sealed records; each is wrapped in an error naming the
// session.
var (
	// ErrTampered: a sealed record does not authenticate (GCM): it was
	// altered, or copied from another session's key. It also wraps
	// ErrCorrupt, so callers that skip damaged records skip it.
	ErrTampered = errors.New("persist: record fails authentication (altered, or copied from another key)")
	// ErrUnknownKey: a record is sealed with a key that is neither the
	// current key nor an old key (or no key is configured at all).
	ErrUnknownKey = errors.New("persist: record sealed with a key that is not configured")
	// ErrPlaintext: a record is stored in clear while encryption is
	// required (a current key, without AcceptPlaintext).
	ErrPlaintext = errors.New("persist: record stored in clear while encryption is required")
)

// KeyLen is the length of an encryption key: 32 bytes, AES-256.
const KeyLen = 32

// Sealer seals and opens records. It is safe for concurrent use.
type Sealer struct {
	current *sealKey // nil: records are written in clear
	keys    map[[keyIDLen]byte]*sealKey
	// acceptPlaintext lets records in clear be read while current is set.
	acceptPlaintext bool
}

type sealKey struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// SealerOptions configure NewSealer.
type SealerOptions struct {
	// Key is the current key (KeyLen bytes): every record is sealed with
	// it. Nil: records are written in clear, and OldKeys only open
	// records sealed before (the way out of encryption).
	// default: nil
	Key []byte
	// OldKeys open records sealed before a key rotation; such records
	// are sealed again with Key when next written.
	// default: none
	OldKeys [][]byte
	// AcceptPlaintext lets records stored in clear be read while Key is
	// set (the way into encryption); otherwise they are ErrPlaintext.
	// default: false
	AcceptPlaintext bool
}

// NewSealer returns a Sealer for the keys of o. Errors name the key
// ("Key", "OldKeys[1]") and never print it.
func NewSealer(o SealerOptions) (*Sealer, error) {
	s := &Sealer{keys: map[[keyIDLen]byte]*sealKey{}, acceptPlaintext: o.AcceptPlaintext}
	add := func(name string, key []byte) (*sealKey, error) {
		if len(key) != KeyLen {
			return nil, fmt.Errorf("persist: sealer: %s is %d bytes, want %d (AES-256)", name, len(key), KeyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("persist: sealer: %s: %w", name, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("persist: sealer: %s: %w", name, err)
		}
		k := &sealKey{id: KeyID(key), aead: aead}
		if _, dup := s.keys[k.id]; dup {
			return nil, fmt.Errorf("persist: sealer: %s has the key id %x of another key (the same key twice?)", name, k.id)
		}
		s.keys[k.id] = k
		return k, nil
	}
	if o.Key != nil {
		k, err := add("Key", o.Key)
		if err != nil {
			return nil, err
		}
		s.current = k
	}
	for i, key := range o.OldKeys {
		if _, err := add(fmt.Sprintf("OldKeys[%d]", i), key); err != nil {
			return nil, err
		}
	}
	if s.current == nil && len(s.keys) == 0 {
		return nil, errors.New("persist: sealer: no key")
	}
	return s, nil
}

// KeyID returns the id under which records sealed with key are marked:
// the first 4 bytes of HMAC-SHA-256(key, "orsgo/engine persist record
// key id"), which tells keys apart without revealing them.
func KeyID(key []byte) [keyIDLen]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(keyIDLabel))
	var id [keyIDLen]byte
	copy(id[:], m.Sum(nil))
	return id
}

// CurrentKeyID returns the id of the current key in hex, or "" when
// records are written in clear.
func (s *Sealer) CurrentKeyID() string {
	if s == nil || s.current == nil {
		return ""
	}
	return hex.EncodeToString(s.current.id[:])
}

// aadInto writes the associated data of a record (its key name, then its
// header up to the payload length) into the spare capacity of buf beyond
// end, where the output does not reach: one allocation per record, not
// two.
func aadInto(buf []byte, end int, keyName string, header []byte) []byte {
	a := buf[end : end+len(keyName)+offLen]
	n := copy(a, keyName)
	copy(a[n:], header[:offLen])
	return a
}

// seal returns the envelope b (in clear, as encodeRecord makes it) with
// its payload sealed for keyName, or b itself when s writes in clear.
func (s *Sealer) seal(keyName string, b []byte) []byte {
	if s == nil || s.current == nil {
		return b
	}
	body := b[headerLen:]
	end := headerLen + sealOverhead + len(body)
	out := make([]byte, headerLen, end+len(keyName)+offLen)
	copy(out, b[:headerLen])
	out[5] |= flagSealed
	out = append(out, s.current.id[:]...)
	out = s.current.aead.Seal(out, nil, body, aadInto(out, end, keyName, out))
	binary.BigEndian.PutUint32(out[offLen:], uint32(len(out)-headerLen))
	binary.BigEndian.PutUint32(out[offCRC:], crc32Sum(out[:offCRC], out[headerLen:]))
	return out
}

// open returns the envelope b, stored under keyName for sessionID, with
// its payload in clear, for decodeRecord. A record that is not sealed is
// returned as it is, unless encryption is required (ErrPlaintext). A
// header that does not check is returned as it is too: decodeRecord
// reports it.
func (s *Sealer) open(keyName, sessionID string, b []byte) ([]byte, error) {
	if len(b) < headerLen || string(b[:4]) != magic || b[4] != formatVersion ||
		binary.BigEndian.Uint32(b[offLen:]) != uint32(len(b)-headerLen) ||
		crc32Sum(b[:offCRC], b[headerLen:]) != binary.BigEndian.Uint32(b[offCRC:]) {
		return b, nil // decodeRecord says what is wrong
	}
	if b[5]&flagSealed == 0 {
		if s != nil && s.current != nil && !s.acceptPlaintext {
			return nil, fmt.Errorf("session %s: record in clear, but [persistence] encryption-key is set (to read records written before encryption was turned on, set encryption-accept-plaintext = true until scxml rekey has sealed them): %w", sessionID, ErrPlaintext)
		}
		return b, nil
	}
	body := b[headerLen:]
	if len(body) < sealOverhead {
		return nil, fmt.Errorf("session %s: sealed record payload of %d bytes: %w", sessionID, len(body), ErrCorrupt)
	}
	var id [keyIDLen]byte
	copy(id[:], body)
	if s == nil {
		return nil, fmt.Errorf("session %s: record sealed with key id %x, but no encryption-key or encryption-old-keys is configured (to decrypt records on the way out of encryption, give the key in encryption-old-keys): %w", sessionID, id, ErrUnknownKey)
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("session %s: record sealed with key id %x, which is neither encryption-key nor one of encryption-old-keys: %w", sessionID, id, ErrUnknownKey)
	}
	end := len(b) - sealOverhead
	out := make([]byte, headerLen, end+len(keyName)+offLen)
	copy(out, b[:headerLen])
	out, err := k.aead.Open(out, nil, body[keyIDLen:], aadInto(out, end, keyName, b))
	if err != nil {
		return nil, fmt.Errorf("session %s: record sealed with key id %x: %w: %w", sessionID, id, ErrTampered, ErrCorrupt)
	}
	out[5] &^= flagSealed
	binary.BigEndian.PutUint32(out[offLen:], uint32(len(out)-headerLen))
	binary.BigEndian.PutUint32(out[offCRC:], crc32Sum(out[:offCRC], out[headerLen:]))
	return out, nil
}

// sealState describes how an envelope is stored: in clear, or sealed
// with the key of id.
func sealState(b []byte) (sealed bool, id [keyIDLen]byte, ok bool) {
	if len(b) < headerLen+keyIDLen || string(b[:4]) != magic || b[4] != formatVersion {
		return false, id, len(b) >= headerLen && string(b[:4]) == magic
	}
	if b[5]&flagSealed == 0 {
		return false, id, true
	}
	copy(id[:], b[headerLen:])
	return true, id, true
}
