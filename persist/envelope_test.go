package persist

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, rec := range []*Record{
		{SessionID: "s1", Node: "n1", Type: "voice", Seq: 7, Data: []byte("snapshot")},
		{SessionID: "s1"},
		{SessionID: "s1", Node: "ünïcode", Seq: 1<<64 - 1, Data: bytes.Repeat([]byte{0, 0xFF}, 100000)},
	} {
		b, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if seq, ok := recordSeq(b); !ok || seq != rec.Seq {
			t.Errorf("recordSeq = %d, %v; want %d", seq, ok, rec.Seq)
		}
		got, err := decodeRecord("s1", b)
		if err != nil {
			t.Fatal(err)
		}
		if got.SessionID != rec.SessionID || got.Node != rec.Node || got.Type != rec.Type || got.Seq != rec.Seq || !bytes.Equal(got.Data, rec.Data) {
			t.Errorf("round trip: got %+v, want %+v", got, rec)
		}
	}
}

// TestEnvelopeDamage: every kind of damage is ErrCorrupt or ErrVersion and
// names the session.
func TestEnvelopeDamage(t *testing.T) {
	b, err := encodeRecord(&Record{SessionID: "s1", Node: "n1", Type: "voice", Seq: 7, Data: []byte("snapshot")})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(c []byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"magic only", b[:4], ErrCorrupt},
		{"header truncated", b[:headerLen-1], ErrCorrupt},
		{"header only", b[:headerLen], ErrCorrupt},
		{"payload truncated", b[:len(b)-3], ErrCorrupt},
		{"trailing bytes", append(append([]byte(nil), b...), 0), ErrCorrupt},
		{"payload bit flip", edit(func(c []byte) []byte { c[len(c)-1] ^= 1; return c }), ErrCorrupt},
		{"seq bit flip", edit(func(c []byte) []byte { c[offSeq+7] ^= 1; return c }), ErrCorrupt},
		{"checksum bit flip", edit(func(c []byte) []byte { c[offCRC] ^= 0x80; return c }), ErrCorrupt},
		{"length says more", edit(func(c []byte) []byte { c[offLen+3]++; return c }), ErrCorrupt},
		{"not a record", []byte("hello world, this is not a record at all"), ErrCorrupt},
		{"bad magic", edit(func(c []byte) []byte { c[0] = 'X'; return c }), ErrCorrupt},
		{"unknown version", edit(func(c []byte) []byte { c[4] = 99; return c }), ErrVersion},
		{"unknown version, truncated", edit(func(c []byte) []byte { c[4] = 2; return c[:5] }), ErrVersion},
		{"flip of the flags", edit(func(c []byte) []byte { c[5] = 1; return c }), ErrCorrupt}, // checksum covers them
		{"unknown flags", withFlags(t, b, 0x04), ErrVersion},
	} {
		_, err := decodeRecord("s1", tc.b)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "session s1") {
			t.Errorf("%s: got %v, want %v naming session s1", tc.name, err, tc.want)
		}
	}
	// Bytes of the record of another session (a key overwritten by
	// mistake) are not that session's record.
	if _, err := decodeRecord("s2", b); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "session s2") {
		t.Errorf("record of s1 read as s2: %v", err)
	}
}

// withFlags returns b with flags set and a valid checksum: a record from
// a newer writer.
func withFlags(t *testing.T, b []byte, flags byte) []byte {
	t.Helper()
	rec, err := decodeRecord("s1", b)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := encodeRecord(rec)
	c[5] = flags
	// Recompute the checksum as encodeRecord does.
	sum := crc32Sum(c[:offCRC], c[headerLen:])
	c[offCRC], c[offCRC+1], c[offCRC+2], c[offCRC+3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return c
}

// FuzzDecodeRecord: no input makes decodeRecord panic, and every error
// is one of the sentinels.
func FuzzDecodeRecord(f *testing.F) {
	b, _ := encodeRecord(&Record{SessionID: "s", Node: "n", Type: "voice", Seq: 3, Data: []byte("x")})
	f.Add(b)
	f.Add([]byte("ORSR\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord("s", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if rec.SessionID != "s" {
			t.Fatalf("decoded %+v", rec)
		}
	})
}
