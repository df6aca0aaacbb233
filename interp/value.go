package interp

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
}
