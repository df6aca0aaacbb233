package snapshot_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

func TestDecodeErrors(t *testing.T) {
	good, err := snapshot.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	old := sample()
	old.Version = 99
	future, err := snapshot.Encode(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id string
		b        []byte
		want     error
	}{
		{"truncated", "sess-1", good[:len(good)/2], snapshot.ErrCorrupt},
		{"not msgpack", "sess-1", []byte{0xc1, 0x00}, snapshot.ErrCorrupt},
		{"another session", "sess-2", good, snapshot.ErrCorrupt},
		{"version", "sess-1", future, snapshot.ErrVersion},
	} {
		_, err := snapshot.Decode(c.id, c.b)
		if !errors.Is(err, c.want) || !bytes.Contains([]byte(err.Error()), []byte(c.id)) {
			t.Errorf("%s: err = %v, want %v naming %s", c.name, err, c.want, c.id)
		}
	}
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
