package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeyLen) }

func mustSealer(t testing.TB, o SealerOptions) *Sealer {
	t.Helper()
	s, err := NewSealer(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recrc recomputes the header checksum, as someone altering a record on
// purpose would.
func recrc(b []byte) []byte {
	binary.BigEndian.PutUint32(b[offCRC:], crc32Sum(b[:offCRC], b[headerLen:]))
	return b
}

func TestSealer(t *testing.T) {
	rec := &Record{SessionID: "s1", Node: "n1", Type: "voice", Seq: 7, Data: []byte("caller +33 1 23 45 67 89")}
	plain, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	const key = "ORS:c:session:{s1}"
	s1 := mustSealer(t, SealerOptions{Key: testKey(1)})
	a, b := s1.seal(key, plain), s1.seal(key, plain)
	if bytes.Contains(a, rec.Data) || bytes.Contains(a, []byte("voice")) {
		t.Fatal("sealed record holds its payload in clear")
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same record are equal: nonce not random")
	}
	if seq, ok := recordSeq(a); !ok || seq != 7 {
		t.Fatalf("recordSeq of a sealed record = %d, %v: the Redis script reads it", seq, ok)
	}
	if sealed, id, ok := sealState(a); !sealed || !ok || id != KeyID(testKey(1)) {
		t.Fatalf("sealState = %v %x %v", sealed, id, ok)
	}
	open := func(s *Sealer, keyName string, b []byte) (*Record, error) {
		b, err := s.open(keyName, "s1", b)
		if err != nil {
			return nil, err
		}
		return decodeRecord("s1", b)
	}
	got, err := open(s1, key, a)
	if err != nil || !bytes.Equal(got.Data, rec.Data) || got.Seq != 7 {
		t.Fatalf("open: %+v, %v", got, err)
	}
	// A build without sealing sees an unknown flag, not garbage.
	if _, err := decodeRecord("s1", a); !errors.Is(err, ErrVersion) {
		t.Errorf("decodeRecord of a sealed record: %v, want ErrVersion", err)
	}

	// Rotation: the old key opens, the new one seals.
	s2 := mustSealer(t, SealerOptions{Key: testKey(2), OldKeys: [][]byte{testKey(1)}})
	if got, err := open(s2, key, a); err != nil || !bytes.Equal(got.Data, rec.Data) {
		t.Fatalf("open with the old key: %v", err)
	}
	if _, id, _ := sealState(s2.seal(key, plain)); id != KeyID(testKey(2)) {
		t.Errorf("sealed with %x, want the current key %x", id, KeyID(testKey(2)))
	}
	if s2.CurrentKeyID() == s1.CurrentKeyID() || len(s2.CurrentKeyID()) != 8 {
		t.Errorf("key ids %q %q", s1.CurrentKeyID(), s2.CurrentKeyID())
	}

	edit := func(f func(c []byte)) []byte { c := bytes.Clone(a); f(c); return c }
	for _, tc := range []struct {
		name    string
		s       *Sealer
		key     string
		b       []byte
		want    error
		notWant error
		msg     string
	}{
		{"copied to another session's key", s1, "ORS:c:session:{s2}", a, ErrTampered, nil, "session s1: record sealed with key id"},
		{"another cluster's key", s1, "ORS:d:session:{s1}", a, ErrTampered, nil, ""},
		{"ciphertext altered, checksum fixed", s1, key, edit(func(c []byte) { c[len(c)-20] ^= 1; recrc(c) }), ErrTampered, nil, ""},
		{"seq altered, checksum fixed", s1, key, edit(func(c []byte) { c[offSeq+7] ^= 1; recrc(c) }), ErrTampered, nil, ""},
		{"damaged in storage", s1, key, edit(func(c []byte) { c[len(c)-20] ^= 1 }), ErrCorrupt, ErrTampered, "checksum"},
		{"key no longer configured", mustSealer(t, SealerOptions{Key: testKey(3)}), key, a, ErrUnknownKey, nil,
			"which is neither encryption-key nor one of encryption-old-keys"},
		{"sealed record, encryption off", nil, key, a, ErrUnknownKey, nil, "no encryption-key or encryption-old-keys is configured"},
		{"clear record, encryption required", s1, key, plain, ErrPlaintext, nil, "encryption-accept-plaintext"},
	} {
		_, err := open(tc.s, tc.key, tc.b)
		if !errors.Is(err, tc.want) || (tc.notWant != nil && errors.Is(err, tc.notWant)) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "session s1") {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if errors.Is(tc.want, ErrTampered) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ErrTampered does not wrap ErrCorrupt", tc.name)
		}
	}
	// A clear record is read while migrating into encryption, and by a
	// store without encryption.
	for _, s := range []*Sealer{nil, mustSealer(t, SealerOptions{Key: testKey(1), AcceptPlaintext: true}), mustSealer(t, SealerOptions{OldKeys: [][]byte{testKey(1)}})} {
		if _, err := open(s, key, plain); err != nil {
			t.Errorf("clear record: %v", err)
		}
	}
	// Old keys only: sealed records open, new ones are written in clear.
	out := mustSealer(t, SealerOptions{OldKeys: [][]byte{testKey(1)}})
	if _, err := open(out, key, a); err != nil {
		t.Errorf("open with old keys only: %v", err)
	}
	if !bytes.Equal(out.seal(key, plain), plain) {
		t.Error("sealer without a current key sealed")
	}

	for _, o := range []SealerOptions{{Key: []byte("short")}, {OldKeys: [][]byte{testKey(1)[:31]}}, {}, {Key: testKey(1), OldKeys: [][]byte{testKey(1)}}} {
		if _, err := NewSealer(o); err == nil {
			t.Errorf("NewSealer(%d-byte key, %d old keys): no error", len(o.Key), len(o.OldKeys))
		} else if strings.Contains(err.Error(), "\x01\x01") {
			t.Errorf("error prints the key: %v", err)
		}
	}
}

// BenchmarkSeal is the cost of encryption per checkpoint: sealing a
// 681-byte routing checkpoint (the engine benchmark's record size) on
// Save, and opening it on Load, against the envelope alone.
func BenchmarkSeal(b *testing.B) {
	rec := &Record{SessionID: "ors-node-1~0f0e0d0c-0b0a-4908-8706-050403020100", Node: "ors-node-1", Type: "voice", Seq: 1, Data: make([]byte, 600)}
	key := "ORS:prod:session:{" + rec.SessionID + "}"
	s := mustSealer(b, SealerOptions{Key: testKey(1)})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := encodeRecord(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode+seal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := encodeRecord(rec)
			if err != nil {
				b.Fatal(err)
			}
			s.seal(key, p)
		}
	})
	sealed := s.seal(key, must(encodeRecord(rec)))
	b.Run("seal", func(b *testing.B) {
		p := must(encodeRecord(rec))
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.seal(key, p)
		}
	})
	b.Run("open", func(b *testing.B) {
		b.SetBytes(int64(len(sealed)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := s.open(key, rec.SessionID, sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
