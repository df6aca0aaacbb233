package ecmascript

import (
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// programs holds every expression and script of a document compiled for
// goja, once per document: a *goja.Program is not tied to a runtime, so all
// sessions of a document share them (issue: no per-macrostep compiling).
type programs struct {
	file    string
	values  []*goja.Program // by Expr.ID
	valErrs []error
	// literals holds, by Expr.ID, the value of an expression that is a
	// string, number, boolean or null literal ('VIP_Agents', 0): routing
	// documents assign many, and running a program costs more than the
	// value. Primitive goja values belong to no runtime.
	literals []goja.Value
	assigns  []*goja.Program // by Expr.ID, for location expressions: stores assignSlot there
	asgErrs  []error
	scripts  []*goja.Program // by Script.ID
	scrErrs  []error
	decls    scriptDecls
	touch    *touchTable // what each piece of code may change (incremental.go)

	// extra holds programs compiled on demand from sources outside the
	// expression table (custom actions' attributes), by kind and source:
	// compiled once per document, shared by its sessions.
	extra sync.Map // extraKey -> extraProgram
}

type extraKey struct {
	assign bool
	src    string
}

type extraProgram struct {
	p     *goja.Program
	err   error
	touch unitTouch
}

// program returns the compiled value (or, with assign, location) program
// for src, and what running it may change.
func (p *programs) program(src string, assign bool) (*goja.Program, *unitTouch, error) {
	k := extraKey{assign, src}
	if v, ok := p.extra.Load(k); ok {
		x := v.(*extraProgram)
		return x.p, &x.touch, x.err
	}
	t := strings.TrimRight(strings.TrimSpace(src), ";")
	code := "(" + t + "\n)"
	if assign {
		code = assignCode(t)
	}
	prog, err := goja.Compile(p.file, code, false)
	v, _ := p.extra.LoadOrStore(k, &extraProgram{prog, err, p.touch.scanSource(src)})
	x := v.(*extraProgram)
	return x.p, &x.touch, x.err
}

// locationAttrs are the attributes whose expressions are written to.
var locationAttrs = map[string]bool{"location": true, "idlocation": true, "item": true, "index": true}

// Compile is the interp.DatamodelCompiler of the ECMAScript datamodel: it
// compiles every expression and script of doc for goja, once, for all
// the document's sessions. Syntax errors are kept for the expression's
// first evaluation (section 5.9), so Compile never fails.
func Compile(doc *scxml.Document) (interp.CompiledDatamodel, error) {
	return compile(doc), nil
}

var _ interp.DatamodelCompiler = Compile

// NewDatamodel implements interp.CompiledDatamodel.
func (p *programs) NewDatamodel(sys interp.SystemInfo) (interp.Datamodel, error) {
	return newDatamodel(p, sys)
}

func compile(doc *scxml.Document) *programs {
	p := &programs{
		file:     doc.File,
		values:   make([]*goja.Program, len(doc.Exprs)),
		valErrs:  make([]error, len(doc.Exprs)),
		literals: make([]goja.Value, len(doc.Exprs)),
		assigns:  make([]*goja.Program, len(doc.Exprs)),
		asgErrs:  make([]error, len(doc.Exprs)),
		scripts:  make([]*goja.Program, len(doc.Scripts)),
		scrErrs:  make([]error, len(doc.Scripts)),
	}
	name := doc.File
	if name == "" {
		name = "<scxml>"
	}
	for i, e := range doc.Exprs {
		// Authors often end an expression with ';' as if it were a
		// statement (the IRP tests do); it is not part of the expression.
		// The newline keeps a trailing // comment from swallowing the paren.
		src := strings.TrimRight(strings.TrimSpace(e.Source), ";")
		p.values[i], p.valErrs[i] = goja.Compile(name, "("+src+"\n)", false)
		if p.valErrs[i] == nil {
			p.literals[i] = literal(src)
		}
		if locationAttrs[e.Attr] {
			p.assigns[i], p.asgErrs[i] = goja.Compile(name, assignCode(src), false)
		}
	}
	for i, s := range doc.Scripts {
		p.scripts[i], p.scrErrs[i] = goja.Compile(name, s.Source, false)
	}
	p.decls = collectDecls(doc)
	p.decls.globalNames(doc)
	p.touch = newTouchTable(doc, &p.decls)
	return p
}

// assignSlot is the global through which a value reaches the program
// that stores it at a location: one program per location shared by all
// sessions, instead of a function object per location and session (2.4 KB
// of a routing session's heap). Strict, so that an undeclared location is
// an error (section 5.4), not a new global.
const assignSlot = "$scxml$v"

func assignCode(location string) string {
	return "'use strict';(" + location + "\n)=" + assignSlot
}

// literalRuntime makes the values of literals; the values it makes are
// primitives, usable in any runtime.
var literalRuntime = sync.OnceValue(goja.New)

// literal returns the value of src when it is a primitive literal without
// escapes, else nil.
func literal(src string) goja.Value {
	prog, err := parser.ParseFile(nil, "", "("+src+"\n)", 0)
	if err != nil || len(prog.Body) != 1 {
		return nil
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return nil
	}
	var x any
	switch e := st.Expression.(type) {
	case *ast.StringLiteral:
		if strings.ContainsRune(e.Literal, '\\') {
			return nil // an escape may make a lone surrogate: leave it to goja
		}
		x = e.Value.String()
	case *ast.NumberLiteral:
		switch n := e.Value.(type) {
		case int64:
			if n > 1<<53 || n < -(1<<53) {
				return nil
			}
			x = n
		case float64:
			x = n
		default:
			return nil // a BigInt
		}
	case *ast.BooleanLiteral:
		x = e.Value
	case *ast.NullLiteral:
		return goja.Null()
	default:
		return nil
	}
	return literalRuntime().ToValue(x)
}
