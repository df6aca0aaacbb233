package ids

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseNodeID(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string // substring; "" means valid
	}{
		{"n", ""},
		{"ors-node-1", ""},
		{"ORS_node_2", ""},
		{strings.Repeat("a", 32), ""},
		{"", "empty"},
		{strings.Repeat("a", 33), "33 characters, longer than 32"},
		{"ors node", `' ' at offset 3`},
		{"a{b}", `'{' at offset 1`},
		{"a:b", `':' at offset 1`},
		{"a#b", `'#' at offset 1`},
		{"a.b", `'.' at offset 1`},
		{"nöde", `'\xc3' at offset 1`},
	} {
		n, err := ParseNodeID(tc.in)
		if tc.wantErr == "" {
			if err != nil || string(n) != tc.in || !n.Valid() {
				t.Errorf("ParseNodeID(%q) = %q, %v; want it back", tc.in, n, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseNodeID(%q) error = %v; want ErrInvalid mentioning %q", tc.in, err, tc.wantErr)
		}
		if NodeID(tc.in).Valid() {
			t.Errorf("NodeID(%q).Valid() = true", tc.in)
		}
	}
}

func TestParse(t *testing.T) {
	const hex = "6BA7B8109DAD41D180B400C04FD430C8"
	want := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x41, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	for _, tc := range []struct {
		in       string
		wantNode NodeID
		wantErr  string // substring; "" means valid
	}{
		{hex, "", ""},
		{hex + "-n1", "n1", ""},
		{hex + "-ors-node-1", "ors-node-1", ""},
		{hex + "--", "-", ""},
		{hex + "-" + strings.Repeat("z", 32), NodeID(strings.Repeat("z", 32)), ""},

		{"", "", "empty"},
		{"6BA7", "", "4 characters; want 32"},
		{hex[:31], "", "31 characters"},
		{strings.ToLower(hex), "", "lower-case hex digit 'b' at offset 1"},
		{"6BA7B810-9DAD-41D1-80B4-00C04FD430C8", "", "UUID with dashes"},
		{"6BA7B810-9DAD41D180B400C04FD430C8", "", `'-' at offset 8 is not a hex digit`},
		{hex + "-", "", `node id "": empty`},
		{hex + "_n1", "", `character '_' at offset 32`},
		{hex + "X", "", `character 'X' at offset 32`},
		{hex + "-n 1", "", `node id "n 1": character ' ' at offset 1`},
		{hex + "-{n1}", "", `'{' at offset 0`},
		{hex + "-" + strings.Repeat("z", 33), "", "33 characters, longer than 32"},
		{"G" + hex[1:], "", `'G' at offset 0 is not a hex digit`},
		{" " + hex, "", `' ' at offset 0`},
		{hex[:31] + "\x00", "", `'\x00' at offset 31`},
	} {
		id, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) error = %v; want ErrInvalid mentioning %q", tc.in, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "session id") {
				t.Errorf("Parse(%q) error %q does not say what was parsed", tc.in, err)
			}
			if !id.IsZero() {
				t.Errorf("Parse(%q) returned non-zero id with an error", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if id.UUID() != want || id.Node() != tc.wantNode || id.String() != tc.in || id.IsZero() {
			t.Errorf("Parse(%q) = uuid %X node %q string %q", tc.in, id.UUID(), id.Node(), id)
		}
	}
}

func TestParseErrorTruncatesInput(t *testing.T) {
	_, err := Parse(strings.Repeat("Q", 10000))
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a huge input should be short, got %d bytes", len(err.Error()))
	}
}

func TestNew(t *testing.T) {
	a, b := New("n1"), New("n1")
	if a == b {
		t.Fatalf("two New ids are equal: %v", a)
	}
	for _, id := range []SessionID{a, b, New("")} {
		u := id.UUID()
		if u[6]>>4 != 4 || u[8]>>6 != 2 {
			t.Errorf("%v: not a version 4, RFC 9562 variant UUID", id)
		}
		back, err := Parse(id.String())
		if err != nil || back != id {
			t.Errorf("Parse(%q) = %v, %v; want it back", id, back, err)
		}
	}
	if a.Node() != "n1" || New("").Node() != "" || len(New("").String()) != 32 {
		t.Errorf("node not carried: %v", a)
	}
}

func TestNewPanicsOnInvalidNode(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"a b"`) {
			t.Errorf("recover() = %v; want a panic naming the node id", r)
		}
	}()
	New("a b")
}

func TestGenerator(t *testing.T) {
	src := bytes.Repeat([]byte{0xff}, 32)
	g, err := NewGenerator("n1", bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	id, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.String(), "FFFFFFFFFFFF4FFFBFFFFFFFFFFFFFFF-n1"; got != want {
		t.Errorf("id = %s; want %s", got, want)
	}
	if _, err := g.New(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.New(); err == nil {
		t.Error("New after the source ran out: no error")
	}
	if g.Node() != "n1" {
		t.Errorf("Node() = %q", g.Node())
	}

	g, err = NewGenerator("", iotest.ErrReader(errors.New("boom")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.New(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("New with a failing source: %v", err)
	}

	if _, err := NewGenerator("bad node", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewGenerator(bad node) error = %v; want ErrInvalid", err)
	}
	g, err = NewGenerator("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := g.New(); err != nil || id.Node() != "" || id.IsZero() {
		t.Errorf("crypto/rand generator: %v, %v", id, err)
	}
}

func TestFromUUID(t *testing.T) {
	var u [16]byte // the nil UUID is a legal value, not the zero SessionID
	id, err := FromUUID(u, "n1")
	if err != nil || id.IsZero() || id.String() != strings.Repeat("0", 32)+"-n1" {
		t.Errorf("FromUUID(nil uuid) = %q, %v", id, err)
	}
	if _, err := FromUUID(u, "a:b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("FromUUID with a bad node: %v", err)
	}
}

func TestZero(t *testing.T) {
	var id SessionID
	if !id.IsZero() || id.String() != "" || id.Node() != "" {
		t.Errorf("zero SessionID: %q", id)
	}
	if _, err := id.MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("MarshalText(zero) error = %v", err)
	}
}

func TestText(t *testing.T) {
	id := New("n1")
	b, err := json.Marshal(map[string]SessionID{"id": id})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]SessionID
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != id {
		t.Fatalf("JSON round trip of %v: %s -> %v, %v", id, b, back, err)
	}
	if err := json.Unmarshal([]byte(`{"id":"nope"}`), &back); !errors.Is(err, ErrInvalid) {
		t.Errorf("unmarshal of a bad id: %v", err)
	}
}

// The string form must fit wherever the engine puts it.
func TestStringAlphabet(t *testing.T) {
	s := New("Node_1-a").String()
	if strings.ContainsAny(s, "{}:#/ *?[]\\") {
		t.Errorf("%q contains a character unsafe in keys or targets", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("6BA7B8109DAD41D180B400C04FD430C8")
	f.Add("6BA7B8109DAD41D180B400C04FD430C8-ors-node-1")
	f.Add("6ba7b8109dad41d180b400c04fd430c8")
	f.Add("6BA7B8109DAD41D180B400C04FD430C8-")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !id.IsZero() {
				t.Fatalf("Parse(%q): error %v not ErrInvalid or id not zero", s, err)
			}
		} else if id.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, id)
		}

		// New→String→Parse round-trips for any node id that parses.
		if node, err := ParseNodeID(s); err == nil {
			g, _ := NewGenerator(node, bytes.NewReader(bytes.Repeat([]byte(s), 16)))
			id, err := g.New()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(id.String())
			if err != nil || back != id || back.Node() != node {
				t.Fatalf("round trip of %v: %v, %v", id, back, err)
			}
		}
	})
}
