package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// badCase is a snapshot Decode and Peek must refuse for session id with
// an error wrapping want and naming the session; Peek, which skips the
// events and invocations, does not see what is wrong in them (peekOK).
type badCase struct {
	name, id string
	b        []byte
	want     error
	peekOK   bool
}

// withVer is b, a snapshot of either version, with version v.
func withVer(t *testing.T, b []byte, v byte) []byte {
	t.Helper()
	i := bytes.Index(b, []byte("\xa3ver"))
	if i < 0 || v > 0x7f {
		t.Fatal("no version to change")
	}
	c := slices.Clone(b)
	c[i+4] = v
	return c
}

// marshal encodes a hand-made snapshot, map keys sorted.
func marshal(t *testing.T, v map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// idSum is the checksum version 2 names its session by (the format's
// definition, written again from it): FNV-1a steps with the 64-bit prime
// over the id's length and its little-endian words padded with zeros,
// mixed and folded to 32 bits.
func idSum(id string) uint32 {
	const prime = 1099511628211
	b := []byte(id)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	h := (uint64(14695981039346656037) ^ uint64(len(id))) * prime
	for i := 0; i < len(b); i += 8 {
		h = (h ^ binary.LittleEndian.Uint64(b[i:])) * prime
	}
	h = (h ^ h>>29) * prime
	return uint32(h>>32) ^ uint32(h)
}

// TestIDSum: a snapshot names its session by idSum, and tells ids apart.
func TestIDSum(t *testing.T) {
	b, err := snapshot.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	want := binary.BigEndian.AppendUint32([]byte("\xa3idc\xce"), idSum("sess-1"))
	if !bytes.Contains(b, want) {
		t.Errorf("no %x in %x", want, b)
	}
	seen := map[uint32]string{}
	for i := range 20000 {
		id := fmt.Sprintf("%032X-node%d", i*7919, i%3)
		if prev, ok := seen[idSum(id)]; ok {
			t.Errorf("%s and %s have the same checksum", prev, id)
		}
		seen[idSum(id)] = id
	}
}

func badSnapshots(t *testing.T) []badCase {
	good, err := snapshot.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile("testdata/v1.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	sum := idSum("sess-1")
	hand := func(fields map[string]any) []byte {
		m := map[string]any{"ver": 2, "idc": sum, "doc": "d", "cfg": []int{0}}
		maps.Copy(m, fields)
		return marshal(t, m)
	}
	return []badCase{
		{"truncated", "sess-1", good[:len(good)/2], snapshot.ErrCorrupt, false},
		{"truncated in the variables", "sess-1", good[:bytes.Index(good, []byte("vars"))+8], snapshot.ErrCorrupt, false},
		{"truncated, version 1", "sess-1", v1[:len(v1)/2], snapshot.ErrCorrupt, false},
		{"not msgpack", "sess-1", []byte{0xc1, 0x00}, snapshot.ErrCorrupt, false},
		{"empty", "sess-1", nil, snapshot.ErrCorrupt, false},
		{"another session", "sess-2", good, snapshot.ErrCorrupt, false},
		{"another session, version 1", "sess-2", v1, snapshot.ErrCorrupt, false},
		{"no session id", "sess-1", marshal(t, map[string]any{"ver": 2, "doc": "d"}), snapshot.ErrCorrupt, false},
		{"newer version", "sess-1", withVer(t, good, interp.SnapshotVersion+1), snapshot.ErrVersion, false},
		{"version 99", "sess-1", withVer(t, good, 99), snapshot.ErrVersion, false},
		{"version 0", "sess-1", withVer(t, v1, 0), snapshot.ErrVersion, false},
		{"no version", "sess-1", marshal(t, map[string]any{"idc": sum}), snapshot.ErrVersion, false},
		// Lengths of more items than there are bytes left: an error, not
		// an allocation of gigabytes.
		{"huge configuration", "sess-1", []byte("\x81\xa3cfg\xdd\x7f\xff\xff\xff"), snapshot.ErrCorrupt, false},
		{"huge queue", "sess-1", []byte("\x81\xa2eq\xdd\x0f\xff\xff\xff"), snapshot.ErrCorrupt, false},
		{"huge event data", "sess-1", []byte("\x81\xa3cur\x81\xa1d\xdf\x0f\xff\xff\xff"), snapshot.ErrCorrupt, true},
		{"unknown origin code", "sess-1", hand(map[string]any{"cur": map[string]any{"n": "e", "o": 2}}), snapshot.ErrCorrupt, true},
		{"unknown type code", "sess-1", hand(map[string]any{"eq": []any{map[string]any{"n": "e", "y": 9}}}), snapshot.ErrCorrupt, true},
		{"bitset of the wrong type", "sess-1", hand(map[string]any{"cfg": "x"}), snapshot.ErrCorrupt, false},
		{"child before its invoke id", "sess-1", hand(map[string]any{"invk": []any{map[string]any{"c": map[string]any{"doc": "c"}, "id": "k"}}}), snapshot.ErrCorrupt, true},
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range badSnapshots(t) {
		_, err := snapshot.Decode(c.id, c.b)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "session "+c.id) {
			t.Errorf("%s: err = %v, want %v naming %s", c.name, err, c.want, c.id)
		}
	}
}

// FuzzDecode: no bytes make Decode or Peek panic, and every error names
// the session and is ErrCorrupt or ErrVersion.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"v1.msgpack", "v2.msgpack", "v1-routing.msgpack", "v2-routing.msgpack", "v1-invoke.msgpack", "v2-invoke.msgpack"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, id := range []string{"sess-1", realCases[0].id, realCases[2].id} {
			_, err := snapshot.Decode(id, b)
			_, perr := snapshot.Peek(id, b)
			for _, err := range []error{err, perr} {
				if err != nil && (!strings.Contains(err.Error(), "session "+id) ||
					!errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrVersion)) {
					t.Errorf("err = %v, want ErrCorrupt or ErrVersion naming %s", err, id)
				}
			}
		}
	})
}

// Event data an embedder made of other Go types keeps its XML values as
// *interp.XML, and maps encode in key order whatever the map's.
func TestEventData(t *testing.T) {
	data := map[string]any{
		"docs": []*interp.XML{{Source: "<a/>"}},
		"by":   map[string]*interp.XML{"k": {Source: "<b/>"}},
		"z":    int64(-1), "a": "x", "m": 1.5,
	}
	snap := &interp.Snapshot{Version: interp.SnapshotVersion, SessionID: "s", External: []interp.Event{{Name: "e", Data: data}}}
	b, err := snapshot.Encode(snap)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := snapshot.Encode(snap)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("encodings of the same data differ (%v)", err)
		}
	}
	got, err := snapshot.Decode("s", b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"docs": []any{&interp.XML{Source: "<a/>"}},
		"by":   map[string]any{"k": &interp.XML{Source: "<b/>"}},
		"z":    int64(-1), "a": "x", "m": 1.5,
	}
	if !reflect.DeepEqual(got.External[0].Data, want) {
		t.Errorf("data = %#v, want %#v", got.External[0].Data, want)
	}
}

// VarValue gives back what EncodeVar encoded.
func TestVarValue(t *testing.T) {
	v := sample().Vars[0]
	enc, err := snapshot.EncodeVar(&v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.VarValue(&interp.Var{Name: v.Name, Encoded: enc})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v.Value) {
		t.Errorf("VarValue = %+v, want %+v", got, v.Value)
	}
	if _, err := snapshot.VarValue(&interp.Var{Name: "x", Encoded: enc[:3]}); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Errorf("truncated: err = %v, want ErrCorrupt", err)
	}
}
