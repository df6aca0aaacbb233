// Package ecmascript is the ECMAScript datamodel of SCXML (section B.2),
// on goja, plugged into package interp through Compile (an
// interp.DatamodelCompiler).
//
// Per document (compile.go), every expression and script is compiled
// once into goja programs shared by all sessions, literals are evaluated
// once, and the text is scanned (scan.go) for the names each piece of
// code can read or change. Per session (datamodel.go), one goja runtime
// holds the datamodel in its global scope, with the system variables of
// section 5.10 (_event built lazily on first read, _sessionid, _name,
// _ioprocessors) and In().
//
// Snapshots export the variables as interp.Values (export.go), keeping
// what JSON loses (undefined, -0, NaN, integers beyond 2^53, Dates, holes,
// shared and cyclic objects, the document's top-level functions by their
// source), and import them into a fresh runtime (import.go). They are
// incremental (incremental.go): a variable no code touched since the last
// snapshot is written from its earlier encoding. XML content is a
// read-only DOM (dom.go, the tree; dom_goja.go, its goja bindings), and
// JSON content is parsed without the runtime's JSON object (json.go).
package ecmascript
