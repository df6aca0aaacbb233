package interp

import (
	"bytes"
	"fmt"
	"sync"

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
	// KindXML is a DOM node (the DOM of section B.2): a document has Str,
	// the markup it was parsed from; any other node has Int, its position
	// in its document (preorder, an element's attributes right after it),
	// and Items[0], the Value of its document (usually a KindRef).
	KindXML
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

	// Encoded, when set, is the Var as EncodeVar encoded it: an
	// incremental snapshot reuses the encoding of variables that did not
	// change. Value is then left empty.
	Encoded []byte `msgpack:"-"`
}

// varFields is Var without its methods, for the encoder.
type varFields Var

// EncodeMsgpack implements msgpack.CustomEncoder: a Var with a cached
// encoding is written as those bytes.
func (v *Var) EncodeMsgpack(enc *msgpack.Encoder) error {
	if v.Encoded != nil {
		// The encoder writes through to its writer: no state to keep.
		_, err := enc.Writer().Write(v.Encoded)
		return err
	}
	return enc.Encode((*varFields)(v))
}

// Decoded returns v.Value, decoding v.Encoded when that is all v holds.
func (v *Var) Decoded() (Value, error) {
	if v.Encoded == nil {
		return v.Value, nil
	}
	var f varFields
	if err := msgpack.Unmarshal(v.Encoded, &f); err != nil {
		return Value{}, fmt.Errorf("variable %s: cached encoding: %w", v.Name, err)
	}
	return f.Value, nil
}

// varEncoder is a pooled encoder for EncodeVar.
type varEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var varEncoders = sync.Pool{New: func() any {
	e := &varEncoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}}

// EncodeVar encodes v exactly as it is encoded inside a snapshot (compact
// integers), so that the bytes can be reused as they are (Var.Encoded).
func EncodeVar(v *Var) ([]byte, error) {
	e := varEncoders.Get().(*varEncoder)
	defer varEncoders.Put(e)
	e.buf.Reset()
	e.enc.Reset(&e.buf)
	e.enc.UseCompactInts(true)
	if err := e.enc.Encode((*varFields)(v)); err != nil {
		return nil, fmt.Errorf("encode variable %s: %w", v.Name, err)
	}
	return bytes.Clone(e.buf.Bytes()), nil // kept by a cache: no spare capacity
}
