package snapshot_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// sample is a snapshot with every field and every kind of value set.
func sample() *interp.Snapshot {
	t0 := time.Unix(1700000000, 123456789).UTC()
	ev := func(name string, data any) interp.Event {
		return interp.Event{Name: name, Type: interp.External, SendID: "s-" + name, Origin: "#_scxml_x", OriginType: interp.SCXMLProcessorType, InvokeID: "inv", Raw: "raw", Data: data}
	}
	vals := interp.Value{Kind: interp.KindObject, Keys: []string{"u", "n", "t", "f", "mz", "i", "big", "s", "arr", "d", "fn", "ref", "x", "xn"}, Items: []interp.Value{
		{Kind: interp.KindUndefined},
		{Kind: interp.KindNull},
		{Kind: interp.KindBool, Bool: true},
		{Kind: interp.KindFloat, Float: 2.5},
		{Kind: interp.KindFloat, Bool: true},
		{Kind: interp.KindInt, Int: -7},
		{Kind: interp.KindInt, Int: 1 << 60},
		{Kind: interp.KindString, Str: "héllo"},
		{Kind: interp.KindArray, Items: []interp.Value{{Kind: interp.KindInt, Int: 1}, {Kind: interp.KindUndefined, Bool: true}, {Kind: interp.KindString, Str: "z"}}},
		{Kind: interp.KindDate, Float: 1.7e12},
		{Kind: interp.KindFunction, Str: "function f() { return 1 }"},
		{Kind: interp.KindRef, Int: 1},
		{Kind: interp.KindXML, Str: "<a><b/></a>"},
		{Kind: interp.KindXML, Int: 2, Items: []interp.Value{{Kind: interp.KindRef, Int: 3}}},
	}}
	child := &interp.Snapshot{Version: 1, SessionID: "child", DocName: "c", Started: true, Running: true, Now: t0, Seq: 3,
		Configuration: []int{0, 1}, Vars: []interp.Var{{Name: "x", Value: interp.Value{Kind: interp.KindInt, Int: 1}}}}
	return &interp.Snapshot{
		Version: 1, SessionID: "sess-1", DocName: "doc", DocHash: [32]byte{1, 2, 3, 31: 9},
		Started: true, Running: true, Final: "", Now: t0, Seq: 42,
		Configuration:  []int{0, 2, 3, 70},
		StatesToInvoke: []int{2},
		DataDone:       []int{0, 2},
		History:        []interp.HistoryEntry{{State: 4, States: []int{2, 3}}, {State: 5}},
		EndConfig:      nil,
		Internal:       []interp.Event{ev("int", nil)},
		External: []interp.Event{
			ev("ext.a", map[string]any{"k": []any{int64(1), int64(-300), int64(70000), 2.5, "s", true, false, nil, &interp.XML{Source: "<x y='1'/>"}, map[string]any{}, []any{}}}),
			ev("ext.b", "plain"),
			ev("ext.c", &interp.XML{Source: "<doc/>"}),
			ev("ext.d", int64(1)<<40),
		},
		Current:    &interp.Event{Name: "cur", Type: interp.Platform},
		Delayed:    []interp.DelayedSend{{Due: t0.Add(time.Second), Seq: 7, Target: "#_parent", Type: "scxml", Event: ev("later", map[string]any{"n": 1.5})}, {Due: t0, Seq: 8, Event: ev("bare", nil)}},
		Vars:       []interp.Var{{Name: "v", Value: vals}, {Name: "let w", Value: interp.Value{Kind: interp.KindString, Str: ""}}},
		Invocation: []interp.InvokeRecord{{Invoke: 1, InvokeID: "i1", Type: "scxml", Child: child, Source: []byte("<scxml/>"), File: "c.scxml"}, {Invoke: 0, InvokeID: "i0", Done: true}},
		Subs:       []string{"queue.", "x."},
	}
}

// dump prints v with its Go types, following pointers; maps sorted.
func dump(b *strings.Builder, v reflect.Value, indent string) {
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("<invalid>")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			fmt.Fprintf(b, "%s(nil)", v.Type())
			return
		}
		if v.Kind() == reflect.Interface {
			fmt.Fprintf(b, "%s:", v.Elem().Type())
		} else {
			b.WriteString("&")
		}
		dump(b, v.Elem(), indent)
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			fmt.Fprintf(b, "time(%d)", t.UnixNano())
			return
		}
		b.WriteString("{\n")
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			fmt.Fprintf(b, "%s  %s: ", indent, v.Type().Field(i).Name)
			dump(b, v.Field(i), indent+"  ")
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case reflect.Slice:
		if v.IsNil() {
			fmt.Fprintf(b, "%s(nil)", v.Type())
			return
		}
		fmt.Fprintf(b, "%s[", v.Type())
		for i := 0; i < v.Len(); i++ {
			dump(b, v.Index(i), indent+"  ")
			b.WriteString(", ")
		}
		b.WriteString("]")
	case reflect.Map:
		if v.IsNil() {
			fmt.Fprintf(b, "%s(nil)", v.Type())
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		fmt.Fprintf(b, "%s{", v.Type())
		for _, k := range keys {
			fmt.Fprintf(b, "%q: ", k.String())
			dump(b, v.MapIndex(k), indent+"  ")
			b.WriteString(", ")
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "%s(%#v)", v.Type(), v.Interface())
	}
}

// update rewrites the golden version 2 records (testdata/v2*.msgpack)
// from this build's encoder: go test -run Compat -update.
var update = flag.Bool("update", false, "rewrite testdata/v2*.msgpack")

// golden compares b with the file testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, b []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoding differs from %s (the version 2 format changed? a new format needs a new version):\n%x\n%x", path, b, want)
	}
}

// dumpString is dump of snap, with its version (and its children's) as
// version, so that snapshots read from both formats compare.
func dumpString(snap *interp.Snapshot, version int) string {
	var sb strings.Builder
	dump(&sb, reflect.ValueOf(withVersion(snap, version)), "")
	return sb.String() + "\n"
}

// withVersion is a copy of snap of the given version, its children too.
func withVersion(snap *interp.Snapshot, version int) *interp.Snapshot {
	c := *snap
	c.Version = version
	c.Invocation = slices.Clone(snap.Invocation)
	for i := range c.Invocation {
		if ch := c.Invocation[i].Child; ch != nil {
			c.Invocation[i].Child = withVersion(ch, version)
		}
	}
	return &c
}

// TestCompatV1 decodes a version 1 snapshot written by the msgpack struct
// encoder this package replaced (testdata/v1.msgpack, made from
// sample()): the decoded snapshot must be the one that encoder's decoder
// gave (testdata/v1.decoded.txt: Go types included, int64 against
// uint64). Encoding it again writes version 2 (testdata/v2.msgpack),
// which decodes to the same snapshot, as the sample itself encodes.
func TestCompatV1(t *testing.T) {
	v1, err := os.ReadFile("testdata/v1.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/v1.decoded.txt")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := snapshot.Decode("sess-1", v1)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Version != 1 {
		t.Errorf("version %d, want 1", dec.Version)
	}
	if got := dumpString(dec, 1); got != string(want) {
		t.Errorf("decoded snapshot differs from testdata/v1.decoded.txt:\n%s", got)
	}
	v2, err := snapshot.Encode(dec)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "v2.msgpack", v2)
	// The sample itself (single-key maps in event data: the old encoder
	// wrote map keys in Go's random order) encodes to the same bytes.
	fresh, err := snapshot.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, v2) {
		t.Errorf("encoded sample differs from the re-encoded version 1 snapshot:\n%x\n%x", fresh, v2)
	}
	again, err := snapshot.Decode("sess-1", v2)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != interp.SnapshotVersion || again.Invocation[0].Child.Version != interp.SnapshotVersion {
		t.Errorf("version %d (child %d), want %d", again.Version, again.Invocation[0].Child.Version, interp.SnapshotVersion)
	}
	if got := dumpString(again, 1); got != string(want) {
		t.Errorf("version 2 snapshot decodes to another snapshot than version 1:\n%s", got)
	}
	t.Logf("sample: version 1 %d bytes, version 2 %d bytes", len(v1), len(v2))
}

// TestCompatV1Records reads records of real sessions written by the
// previous release (testdata/v1-<name>.msgpack, taken from realCases by
// main at d9675cb, with what its Decode gave in v1-<name>.decoded.txt):
// they decode to the same snapshots, Peek reads them, and the sessions
// restored from them are the ones that ran: their next snapshot is the
// running session's, in version 2 (testdata/v2-<name>.msgpack), shorter.
func TestCompatV1Records(t *testing.T) {
	for _, c := range realCases {
		t.Run(c.name, func(t *testing.T) {
			v1, err := os.ReadFile("testdata/v1-" + c.name + ".msgpack")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("testdata/v1-" + c.name + ".decoded.txt")
			if err != nil {
				t.Fatal(err)
			}
			dec, err := snapshot.Decode(c.id, v1)
			if err != nil {
				t.Fatal(err)
			}
			if got := dumpString(dec, 1); got != string(want) {
				t.Errorf("decoded snapshot differs from %s:\n%s", "v1-"+c.name+".decoded.txt", got)
			}
			checkPeek(t, c.id, v1, dec)

			m, live := c.session(t)
			restored, err := m.Restore(dec, interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := restored.Configuration(), live.Configuration(); !slices.Equal(got, want) {
				t.Errorf("restored in %v, want %v", got, want)
			}
			for _, v := range []int{interp.OldestSnapshotVersion - 1, interp.SnapshotVersion + 1} {
				if _, err := m.Restore(withVersion(dec, v), interp.Options{}); err == nil || !strings.Contains(err.Error(), c.id) {
					t.Errorf("Restore of a version %d snapshot: %v, want an error naming %s", v, err, c.id)
				}
			}
			v2 := encodeSession(t, live)
			golden(t, "v2-"+c.name+".msgpack", v2)
			if again := encodeSession(t, restored); !bytes.Equal(again, v2) {
				t.Errorf("the session restored from version 1 snapshots as another:\n%x\n%x", again, v2)
			}
			dec2, err := snapshot.Decode(c.id, v2)
			if err != nil {
				t.Fatal(err)
			}
			if got := dumpString(dec2, 1); got != string(want) {
				t.Errorf("version 2 decodes to another snapshot than version 1:\n%s", got)
			}
			checkPeek(t, c.id, v2, dec2)
			if len(v2) >= len(v1) {
				t.Errorf("version 2 is %d bytes, version 1 %d", len(v2), len(v1))
			}
			t.Logf("%s: version 1 %d bytes, version 2 %d bytes (%.0f%%)", c.name, len(v1), len(v2), 100*float64(len(v2))/float64(len(v1)))
		})
	}
}

func encodeSession(t *testing.T, s *interp.Session) []byte {
	t.Helper()
	b, err := snapshot.EncodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
