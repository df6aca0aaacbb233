package ecmascript

import (
	"fmt"
	"strings"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
)

// Reading the ECMAScript datamodel from outside a macrostep (Session.Data,
// Value and EvalReadOnly): nothing here changes a variable, so the
// incremental snapshot's record of what changed stays as it was.

// varNames lists the document's variables as a snapshot finds them (see
// export), without the cache: the enumerable own properties of the global
// object among the names the document can create, then the let/const
// bindings its scripts declared and ran.
func (d *datamodel) varNames() ([]string, error) {
	vm := d.vm
	global := vm.GlobalObject()
	var names []string
	if d.prog.decls.dynamic || d.inc.dynamic {
		names = append(names, global.Keys()...)
	} else {
		x := &exporter{d: d}
		for _, n := range d.prog.decls.globals {
			if global.Get(n) == nil {
				continue
			}
			if _, host := d.hosts[n]; host {
				continue
			}
			if d.prog.decls.protoAccess || builtinGlobals()[n] {
				own, err := x.ownEnumerable(global, n)
				if err != nil {
					return nil, fmt.Errorf("datamodel: global %s: %w", n, err)
				}
				if !own {
					continue
				}
			}
			names = append(names, n)
		}
	}
	for _, l := range d.prog.decls.lexical {
		if vm.Get(l.name) != nil {
			names = append(names, l.name)
		}
	}
	return names, nil
}

// isFunction reports whether v is a function (not data: Vars leaves it
// out).
func isFunction(v goja.Value) bool {
	_, ok := goja.AssertFunction(v)
	return ok
}

// Vars implements Datamodel.
func (d *datamodel) Vars() (vars map[string]any, err error) {
	defer recoverRuntime(&err)
	names, err := d.varNames()
	if err != nil {
		return nil, err
	}
	vars = make(map[string]any, len(names))
	for _, n := range names {
		v := d.vm.Get(n)
		if isFunction(v) {
			continue
		}
		vars[n] = export(v)
	}
	return vars, nil
}

// Var implements Datamodel.
func (d *datamodel) Var(name string) (v any, ok bool, err error) {
	defer recoverRuntime(&err)
	if !isIdentifier(name) {
		return nil, false, nil
	}
	if _, host := d.hosts[name]; host {
		return nil, false, nil
	}
	names, err := d.varNames()
	if err != nil {
		return nil, false, err
	}
	for _, n := range names {
		if n == name {
			v := d.vm.Get(n)
			if isFunction(v) {
				return nil, false, nil // not data, as in Vars
			}
			return export(v), true, nil
		}
	}
	return nil, false, nil
}

// EvalReadOnly implements Datamodel: src is refused unless the scan that
// tells which names code can change (readOnly, incremental.go) finds
// that it can change none; it then runs like any expression, under the
// interrupt guard (Busy, Interrupt).
func (d *datamodel) EvalReadOnly(src, where string) (any, error) {
	if !readOnlyExpr(src) {
		return nil, fmt.Errorf("%s %q: %w", where, src, interp.ErrNotReadOnly)
	}
	// Compiled for this call only: an embedder's expressions are not the
	// document's, and caching them per document would grow without bound.
	p, err := goja.Compile(d.file, "("+strings.TrimRight(strings.TrimSpace(src), ";")+"\n)", false)
	if err != nil {
		return nil, d.sourceErr(where, src, err)
	}
	v, err := d.run(p)
	if err != nil {
		return nil, d.sourceErr(where, src, err)
	}
	return export(v), nil
}

// readOnlyExpr is readOnly for an expression from outside the document,
// with parentheses that only group allowed: a "(" after an operator or at
// the start groups; after a name, a number, ")", "]", "." or a string
// (a call, optional call or tagged call) it calls, and the expression is
// refused.
func readOnlyExpr(src string) bool {
	b := []byte(src)
	for i, c := range b {
		if c != '(' {
			continue
		}
		j := i - 1
		for j >= 0 && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j--
		}
		if j >= 0 {
			p := b[j]
			if identPart(p) || p == '$' || p == ')' || p == ']' || p == '.' || p == '\'' || p == '"' || p >= 0x80 {
				return false
			}
		}
		b[i] = ' ' // a grouping parenthesis: readOnly refuses every "("
	}
	return readOnly(string(b))
}

// recoverRuntime turns a goja panic (an internal error: goja panics for
// nothing a script does) into an error, so that none crosses the API.
func recoverRuntime(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("ecmascript runtime failure: %v", r)
	}
}
