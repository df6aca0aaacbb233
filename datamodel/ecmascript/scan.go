package ecmascript

import (
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/orsgo/engine/scxml"
)

// scriptDecls is what the document's scripts declare at top level: the
// sources of functions whose closure is the global scope (restorable by
// evaluating the source again) and the let/const names, which live outside
// the global object.
type scriptDecls struct {
	functions map[string]bool
	lexical   []lexicalName
	// globals are the names a global variable of the document can have:
	// every identifier in its expressions and scripts and every <data>
	// id, in order of first appearance. A global the document creates
	// must be named in its text, unless the text reaches the global
	// object itself (this, globalThis, eval, Function): then dynamic is
	// set and the global object's keys are listed instead, which makes
	// goja build every builtin of the session's runtime (about 150 KB
	// and 0.3 ms), hence the effort to avoid it.
	globals []string
	dynamic bool
	// accessors is set when the document's code may define getters or
	// setters (literal get/set, defineProperty, create, Reflect, Proxy,
	// or code reaching the global object): only then does the exporter
	// check every property it exports for one.
	accessors bool
	// hidden is set when the document's code may give a variable an
	// object with a non-enumerable or symbol-keyed property (what sets
	// accessors or protoAccess, symbols, a builtin namespace such as
	// Math): only then does the incremental exporter list an object's
	// own names and symbols to look for them.
	hidden bool
	// protoAccess is set when the document's code may reach
	// Object.prototype (and so give the global object inherited
	// properties): the exporter then asks the runtime which names are
	// its own enumerable properties instead of knowing it from the text.
	protoAccess bool
	// declared are the names the scripts declare at top level (var,
	// function, let, const, class): variables of the document, as
	// opposed to names that denote builtins, host objects or locals (see
	// unitTouch.escapes).
	declared map[string]bool
}

// globalNames fills d.globals and d.dynamic from doc's text.
func (d *scriptDecls) globalNames(doc *scxml.Document) {
	// The system variables are never the document's (and reading _event
	// would build the event object).
	seen := map[string]bool{"_event": true, "_sessionid": true, "_name": true, "_ioprocessors": true, "In": true}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			d.globals = append(d.globals, name)
		}
	}
	for _, st := range doc.States {
		for _, data := range st.Data {
			add(data.ID)
		}
	}
	scan := func(src string) {
		if reachesGlobal(src) {
			d.dynamic = true
		}
		if d.dynamic || mayDefineAccessors(src) {
			d.accessors = true
		}
		if d.dynamic || mayReachPrototypes(src) {
			d.protoAccess = true
		}
		if mayHideProperties(src) {
			d.hidden = true
		}
		identifiers(src, func(name string) {
			add(name)
			if builtinNamespaces()[name] {
				d.hidden = true // Math, JSON: plain objects of hidden properties
			}
		})
	}
	for _, e := range doc.Exprs {
		scan(e.Source)
	}
	for _, sc := range doc.Scripts {
		scan(sc.Source)
	}
	// Custom actions evaluate their attributes (and maybe children):
	// which of them are code only the extension knows, so all of it
	// counts.
	for _, c := range doc.CustomElements() {
		scan(c.XML)
	}
	// Descriptors make non-enumerable properties; a prototype reached
	// (a function's .prototype) has one, constructor.
	d.hidden = d.hidden || d.accessors || d.protoAccess
}

// mayDefineAccessors reports whether src may give an object a getter or a
// setter: a get or set before a property name in a literal, or a builtin
// that defines properties from descriptors.
func mayDefineAccessors(src string) bool {
	for _, s := range []string{"defineProperty", "defineProperties", "create", "__define", "Reflect", "Proxy"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	found := false
	for i := 0; i+3 < len(src) && !found; i++ {
		if (src[i] != 'g' && src[i] != 's') || src[i+1:i+3] != "et" || (i > 0 && identPart(src[i-1])) {
			continue
		}
		j := i + 3
		if j < len(src) && identPart(src[j]) {
			continue // getX, settings: another name
		}
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
			j++
		}
		if j == len(src) {
			break
		}
		switch c := src[j]; {
		case c == '[' || c == '\'' || c == '"': // get [k](, get'x'(
			found = true
		case j > i+3 && (identStart(c) || c >= '0' && c <= '9'): // get name(
			found = true
		}
	}
	return found
}

// mayHideProperties reports whether src may give an object a
// symbol-keyed property (a symbol comes from Symbol, or from a builtin
// that lists symbol keys); non-enumerable properties need what
// mayDefineAccessors looks for.
func mayHideProperties(src string) bool {
	for _, s := range []string{"Symbol", "getOwnPropertyDescriptors", "ownKeys"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	return false
}

// mayReachPrototypes reports whether src may reach a builtin prototype
// (and change what every object inherits).
func mayReachPrototypes(src string) bool {
	for _, s := range []string{"prototype", "__proto__", "getPrototypeOf", "Reflect"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	return false
}

// reachesGlobal reports whether src may reach the global object without
// naming the variables it touches: this, globalThis, eval, Function and
// with do, and so does any .constructor chain (({}).constructor.constructor
// is Function), even spelled as a string. Only a name computed at run time
// ("constr" + "uctor") escapes this test.
func reachesGlobal(src string) bool {
	if strings.Contains(src, "constructor") {
		return true
	}
	found := false
	identifiers(src, func(name string) {
		switch name {
		case "this", "globalThis", "eval", "Function", "with":
			found = true
		}
	})
	return found
}

// identifiers calls fn with every identifier of src that can name a
// variable: string literals are skipped, and so are names after a dot
// (properties) and keys of object literals. Over-approximating is safe (comments, template text,
// keywords and parameters come out too); missing a name is not.
func identifiers(src string, fn func(name string)) {
	for i := 0; i < len(src); {
		c := src[i]
		if c == '\'' || c == '"' { // a string literal names nothing
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
			i++
			continue
		}
		if !identStart(c) {
			if c >= '0' && c <= '9' { // skip 1e5, 0x1F: not names
				for i < len(src) && identPart(src[i]) {
					i++
				}
				continue
			}
			i++
			continue
		}
		j := i + 1
		for j < len(src) && identPart(src[j]) {
			j++
		}
		// A name preceded by a dot is a property, not a variable (but
		// one after a spread, ...x, is a variable).
		k := i - 1
		for k >= 0 && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
			k--
		}
		if k >= 0 && src[k] == '.' && (k == 0 || src[k-1] != '.') {
			i = j
			continue
		}
		// Nor is a key in an object literal ({k: v} or , k: v): a ternary's
		// middle comes after '?', a shorthand {k} has no colon.
		if k >= 0 && (src[k] == '{' || src[k] == ',') {
			n := j
			for n < len(src) && (src[n] == ' ' || src[n] == '\t' || src[n] == '\n' || src[n] == '\r') {
				n++
			}
			if n < len(src) && src[n] == ':' && (n+1 == len(src) || src[n+1] != ':') {
				i = j
				continue
			}
		}
		fn(src[i:j])
		i = j
	}
}

func identStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func identPart(c byte) bool { return identStart(c) || c >= '0' && c <= '9' }

type lexicalName struct {
	name  string
	token string // "let" or "const" (a class declaration binds like let)
}

func collectDecls(doc *scxml.Document) scriptDecls {
	d := scriptDecls{functions: map[string]bool{}, declared: map[string]bool{}}
	seen := map[string]bool{}
	for _, sc := range doc.Scripts {
		prog, err := parser.ParseFile(nil, "", sc.Source, 0)
		if err != nil {
			continue // the script fails at run time; nothing it declares exists
		}
		src := sc.Source
		// fn records the source of a function, arrow function or class
		// literal: at top level its closure is the global scope, so
		// evaluating the source again gives an equivalent value.
		fn := func(e ast.Expression) {
			switch e.(type) {
			case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral, *ast.ClassLiteral:
			default:
				return
			}
			i0, i1 := int(e.Idx0()), int(e.Idx1())
			if i0 < 1 || i1-1 > len(src) || i0 >= i1 {
				return
			}
			// Keep only sources that parse again as an expression, the way
			// ImportVars evaluates them (goja reports the source of
			// x => ({...}) without its closing parenthesis): a function
			// left out is reported at snapshot time instead of failing
			// the restore.
			fsrc := src[i0-1 : i1-1]
			if _, err := parser.ParseFile(nil, "", "("+fsrc+"\n)", 0); err == nil {
				d.functions[fsrc] = true
			}
		}
		lexical := func(name, token string) {
			d.declared[name] = true
			if !seen[name] {
				seen[name] = true
				d.lexical = append(d.lexical, lexicalName{name: name, token: token})
			}
		}
		for _, st := range prog.Body {
			switch st := st.(type) {
			case *ast.FunctionDeclaration:
				if st.Function != nil && st.Function.Name != nil {
					d.declared[string(st.Function.Name.Name)] = true
				}
				fn(st.Function)
			case *ast.ClassDeclaration:
				// A class declaration binds like let: restored as
				// "let Name = <class expression>".
				if st.Class != nil && st.Class.Name != nil {
					fn(st.Class)
					lexical(string(st.Class.Name.Name), "let")
				}
			case *ast.VariableStatement:
				for _, b := range st.List {
					if id, ok := b.Target.(*ast.Identifier); ok {
						d.declared[string(id.Name)] = true
					}
					fn(b.Initializer)
				}
			case *ast.LexicalDeclaration:
				for _, b := range st.List {
					if id, ok := b.Target.(*ast.Identifier); ok {
						lexical(string(id.Name), st.Token.String())
					}
					fn(b.Initializer)
				}
			}
		}
	}
	return d
}

// exporter turns goja values into Values, numbering objects so that shared

var reservedWords = map[string]bool{
	"break": true, "case": true, "catch": true, "class": true, "const": true, "continue": true,
	"debugger": true, "default": true, "delete": true, "do": true, "else": true, "enum": true,
	"export": true, "extends": true, "false": true, "finally": true, "for": true, "function": true,
	"if": true, "import": true, "in": true, "instanceof": true, "new": true, "null": true,
	"return": true, "super": true, "switch": true, "this": true, "throw": true, "true": true,
	"try": true, "typeof": true, "var": true, "void": true, "while": true, "with": true,
	"yield": true, "let": true, "static": true, "implements": true, "interface": true,
	"package": true, "private": true, "protected": true, "public": true, "await": true,
}

// isIdentifier reports whether s is a legal ECMAScript variable name (ASCII
// letters, digits, _ and $; not a reserved word).
func isIdentifier(s string) bool {
	if s == "" || reservedWords[s] {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 127:
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
