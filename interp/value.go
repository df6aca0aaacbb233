package interp

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// ValueKind is the kind of a portable datamodel Value.
type ValueKind uint8

// Value kinds.
const (
	KindUndefined ValueKind = iota
	KindNull
	KindBool
	KindFloat // a double; NaN, ±Inf and -0 included
	KindInt   // an integer the datamodel holds exactly as int64
	KindString
	KindObject   // plain object: Keys and Items
	KindArray    // Items
	KindDate     // Float: milliseconds since the epoch
	KindFunction // Str: source of a function the document's scripts declare
	KindRef      // Int: index of an object met earlier (shared or cyclic)
)

// Value is a datamodel value in a form that can be encoded and restored
// exactly: it keeps what JSON loses (undefined, NaN, -0, integers beyond
// 2^53, Dates) and the identity of objects reachable twice. Objects and
// arrays are numbered in the order they are first met, depth first; a
// KindRef refers to that number.
type Value struct {
	Kind  ValueKind `msgpack:"k"`
	Bool  bool      `msgpack:"b,omitempty"`
	Float float64   `msgpack:"f,omitempty"`
	Int   int64     `msgpack:"i,omitempty"`
	Str   string    `msgpack:"s,omitempty"`
	Keys  []string  `msgpack:"ks,omitempty"`
	Items []Value   `msgpack:"it,omitempty"`
}

// Var is a top-level datamodel variable.
type Var struct {
	Name  string `msgpack:"n"`
	Value Value  `msgpack:"v"`

	// raw, when set, is the Var already encoded (an incremental
	// snapshot reuses the encoding of variables that did not change);
	// Value is then left empty.
	raw []byte
}

// varFields is Var without its methods, for the encoder.
type varFields Var

// EncodeMsgpack implements msgpack.CustomEncoder: a Var with a cached
// encoding is written as those bytes.
func (v *Var) EncodeMsgpack(enc *msgpack.Encoder) error {
	if v.raw != nil {
		// The encoder writes through to its writer: no state to keep.
		_, err := enc.Writer().Write(v.raw)
		return err
	}
	return enc.Encode((*varFields)(v))
}

// value returns v.Value, decoding the cached encoding when that is all v
// holds.
func (v *Var) value() (Value, error) {
	if v.raw == nil {
		return v.Value, nil
	}
	var f varFields
	if err := msgpack.Unmarshal(v.raw, &f); err != nil {
		return Value{}, fmt.Errorf("variable %s: cached encoding: %w", v.Name, err)
	}
	return f.Value, nil
}
