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
	Kind  ValueKind
	Bool  bool
	Float float64
	Int   int64
	Str   string
	Keys  []string
	Items []Value
}

// Var is a top-level datamodel variable.
type Var struct {
	Name  string
	Value Value

	// Encoded, when set, is the Var as snapshot.EncodeVar encoded it,
	// written into the snapshot as it is: a datamodel exporting
	// incrementally hands back the encoding of variables that did not
	// change. Value is then left empty.
	Encoded []byte
}
