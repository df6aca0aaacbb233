package ecmascript

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// datamodel is the ECMAScript datamodel of section B.2 for one session:
// one goja runtime whose global scope is the session's datamodel.
type datamodel struct {
	vm   *goja.Runtime
	prog *programs
	file string

	event    *interp.Event
	eventVal goja.Value // _event built on first read of each event
	in       func(stateID string) bool

	// hosts are the host objects (Options.Globals): globals that are never
	// the document's variables.
	hosts map[string]any
	// snap holds what every snapshot of the session needs from its
	// runtime, looked up on the first one.
	snap struct {
		ownDesc, propEnum          goja.Callable
		objProt, arrProt, dateProt *goja.Object
	}
	dom *domState // built on first use of a DOM (dom_goja.go)
	// inc tracks what changed since the last snapshot
	// (incremental.go).
	inc    varCache
	verify bool // Options.VerifySnapshots

	// guard lets a watchdog interrupt a script that overruns its budget
	// without racing the end of that script (see Interrupt).
	mu   sync.Mutex
	gen  uint64 // odd while code of this datamodel runs
	stop bool
}

func newDatamodel(prog *programs, sys interp.SystemInfo) (*datamodel, error) {
	vm := goja.New()
	d := &datamodel{vm: vm, prog: prog, file: prog.file, in: sys.In}
	d.inc.init(prog.touch)
	g := vm.GlobalObject()
	ro := func(name string, v goja.Value) error {
		// Not enumerable: GlobalObject().Keys() then lists exactly the
		// document's variables, which is what a snapshot saves.
		return g.DefineDataProperty(name, v, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	}
	ioprocs := vm.NewObject()
	for typ, loc := range sys.IOProcessors {
		o := vm.NewObject()
		_ = o.Set("location", loc)
		_ = ioprocs.Set(typ, o)
	}
	name := goja.Undefined()
	if sys.Name != "" {
		name = vm.ToValue(sys.Name)
	}
	in := sys.In
	err := errors.Join(
		ro("_sessionid", vm.ToValue(sys.SessionID)),
		ro("_name", name),
		ro("_ioprocessors", ioprocs),
		g.DefineDataProperty(assignSlot, goja.Undefined(), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_FALSE),
		// Native signatures (FunctionCall): goja calls them without
		// reflection, and every condition with In() or read of _event
		// goes through them.
		ro("In", vm.ToValue(func(c goja.FunctionCall) goja.Value { return vm.ToValue(in(c.Argument(0).String())) })),
		// _event is an accessor without setter: reading builds the object
		// lazily, and strict-mode writes (assign) fail as section 5.10
		// requires.
		g.DefineAccessorProperty("_event", vm.ToValue(func(goja.FunctionCall) goja.Value { return d.getEvent() }), nil, goja.FLAG_FALSE, goja.FLAG_FALSE),
	)
	if err != nil {
		return nil, fmt.Errorf("ecmascript: set up system variables: %w", err)
	}
	d.hosts, d.verify = sys.Globals, sys.VerifySnapshots
	// Go values may hold goja objects of any make (encode.go).
	d.inc.hide = len(sys.Globals) > 0
	for name, v := range sys.Globals {
		if err := ro(name, vm.ToValue(v)); err != nil {
			return nil, fmt.Errorf("ecmascript: option Globals[%q]: %w", name, err)
		}
	}
	return d, nil
}

// run executes a program under the interrupt guard.
func (d *datamodel) run(p *goja.Program) (v goja.Value, err error) {
	d.enter()
	defer d.leave()
	defer func() {
		// goja panics only for internal errors; never let one cross the API.
		if r := recover(); r != nil {
			err = fmt.Errorf("ecmascript runtime failure: %v", r)
		}
	}()
	return d.vm.RunProgram(p)
}

func (d *datamodel) enter() {
	d.mu.Lock()
	d.gen++
	d.mu.Unlock()
}

func (d *datamodel) leave() {
	d.mu.Lock()
	d.gen++
	if d.stop {
		d.vm.ClearInterrupt()
		d.stop = false
	}
	d.mu.Unlock()
}

// Busy returns a generation counter that is odd while code of this
// datamodel is running. A watchdog that sees the same odd value twice, a
// budget apart, calls Interrupt with it.
func (d *datamodel) Busy() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen
}

// Interrupt stops the running code if it is still generation gen; the
// interrupted evaluation fails and becomes error.execution.
func (d *datamodel) Interrupt(gen uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen || gen&1 == 0 {
		return false
	}
	d.vm.Interrupt("script time budget exceeded")
	d.stop = true
	return true
}

func (d *datamodel) exprErr(e *scxml.Expr, err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		err = errors.New(ex.Value().String())
	}
	return fmt.Errorf("%s:%d:%d: %s %q: %w", d.file, e.Pos.Line, e.Pos.Col, e.Attr, e.Source, err)
}

// eval evaluates e for a value that leaves the datamodel (a condition, a
// log, an event's data): unless e assigns or calls, it changes nothing.
// Values the datamodel keeps are computed by evalProgram after
// varCache.touchStore.
func (d *datamodel) eval(e *scxml.Expr) (goja.Value, error) {
	d.inc.touch(&d.prog.touch.reads[e.ID])
	return d.evalProgram(e)
}

func (d *datamodel) evalProgram(e *scxml.Expr) (goja.Value, error) {
	if v := d.prog.literals[e.ID]; v != nil {
		return v, nil
	}
	if x := d.prog.fast[e.ID]; x != nil {
		if v, ok := d.fastValue(x); ok {
			return v, nil
		}
	}
	if err := d.prog.valErrs[e.ID]; err != nil {
		return nil, d.exprErr(e, err)
	}
	v, err := d.run(d.prog.values[e.ID])
	if err != nil {
		return nil, d.exprErr(e, err)
	}
	return v, nil
}

func (d *datamodel) SetEvent(ev *interp.Event) {
	d.event = ev
	d.eventVal = nil
}

func (d *datamodel) getEvent() goja.Value {
	if d.event == nil {
		return goja.Undefined()
	}
	if d.eventVal == nil {
		ev := d.event
		o := d.vm.NewObject()
		_ = o.Set("name", ev.Name)
		_ = o.Set("type", ev.Type.String())
		_ = o.Set("sendid", blankToUndefined(d.vm, ev.SendID))
		_ = o.Set("origin", blankToUndefined(d.vm, ev.Origin))
		_ = o.Set("origintype", blankToUndefined(d.vm, ev.OriginType))
		_ = o.Set("invokeid", blankToUndefined(d.vm, ev.InvokeID))
		_ = o.Set("data", d.toJS(ev.Data))
		_ = o.Set("raw", blankToUndefined(d.vm, ev.Raw))
		d.eventVal = o
	}
	return d.eventVal
}

func blankToUndefined(vm *goja.Runtime, s string) goja.Value {
	if s == "" {
		return goja.Undefined()
	}
	return vm.ToValue(s)
}

// toJS converts a JSON-like Go value into native ECMAScript values (not Go
// wrappers), so that event data behaves like any script-made object. No
// value at all (nil) is undefined: _event.data of an event without data.
func (d *datamodel) toJS(v any) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return d.toJSValue(v)
}

// toJSValue converts a value inside data: nil there is JSON's null. Object
// keys are set in sorted order: Go maps have none, and the same data must
// give the same object (for-in, JSON.stringify) on every run.
func (d *datamodel) toJSValue(v any) goja.Value {
	switch v := v.(type) {
	case nil:
		return goja.Null()
	case goja.Value:
		d.inc.hide = true // anything goja can make (encode.go)
		return v
	case *interp.XML:
		if v == nil {
			return goja.Null()
		}
		if o := d.parseDOM(v.Source); o != nil {
			return o
		}
		return d.vm.ToValue(v.Source)
	case map[string]any:
		o := d.vm.NewObject()
		for _, k := range slices.Sorted(maps.Keys(v)) {
			_ = o.Set(k, d.toJSValue(v[k]))
		}
		return o
	case []any:
		items := make([]any, len(v))
		for i, x := range v {
			items[i] = d.toJSValue(x)
		}
		return d.vm.NewArray(items...)
	case string, bool, int64, float64, int, int32, uint32, float32:
		return d.vm.ToValue(v)
	default:
		d.inc.hide = true // a Go value whose wrapper may hand out anything
		return d.vm.ToValue(v)
	}
}

// export converts an ECMAScript value to a JSON-like Go value; a DOM
// document or element becomes *XML.
func export(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	if n := domNode(v); n != nil {
		return n.goValue()
	}
	x := v.Export()
	switch x.(type) {
	case map[string]any, []any, *domList:
		return exportDOM(x, map[uintptr]bool{})
	}
	return x
}

func (d *datamodel) Cond(e *scxml.Expr) (bool, error) {
	if x := d.prog.fast[e.ID]; x != nil {
		d.inc.touch(&d.prog.touch.reads[e.ID])
		if t, ok := d.fastTest(x); ok {
			return t, nil
		}
	}
	v, err := d.eval(e)
	if err != nil {
		return false, err
	}
	return v.ToBoolean(), nil
}

func (d *datamodel) Value(e *scxml.Expr) (any, error) {
	v, err := d.eval(e)
	if err != nil {
		return nil, err
	}
	return export(v), nil
}

func (d *datamodel) String(e *scxml.Expr) (string, error) {
	v, err := d.eval(e)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// contentValue interprets inline content per section B.2: JSON becomes the
// corresponding object, XML markup (markup: the body has child elements,
// or came from a src that may hold markup) a DOM document when it is one
// well-formed element, anything else a space normalized string.
func (d *datamodel) contentValue(body string, markup bool) goja.Value {
	t := strings.TrimSpace(body)
	if t != "" && json.Valid([]byte(t)) {
		if v, err := d.parseJSON(t); err == nil {
			return v
		}
	}
	if markup {
		if o := d.parseDOM(t); o != nil {
			return o
		}
	}
	return d.vm.ToValue(strings.Join(strings.Fields(body), " "))
}

func (d *datamodel) content(c *scxml.Content) (goja.Value, error) {
	if c.Expr != nil {
		return d.eval(c.Expr)
	}
	// C.2: content that is neither JSON nor XML arrives as a space
	// normalized string.
	return d.contentValue(c.Body, c.XML), nil
}

func (d *datamodel) Content(c *scxml.Content) (any, error) {
	v, err := d.content(c)
	if err != nil {
		return nil, err
	}
	return export(v), nil
}

// touchData records a write of <data> dd's variable (by Go code: no
// script runs), after code from, if any, computed its value.
func (d *datamodel) touchData(dd *scxml.Data, from *unitTouch) {
	if from != nil {
		d.inc.touch(from)
	}
	if i, ok := d.prog.touch.index[dd.ID]; ok {
		d.inc.touched.Add(i)
		if from != nil && from.escapes {
			d.inc.escaped.Add(i)
		}
	}
}

func (d *datamodel) DeclareData(dd *scxml.Data) error {
	d.touchData(dd, nil)
	if err := d.vm.Set(dd.ID, goja.Undefined()); err != nil {
		return fmt.Errorf("%s:%d:%d: <data id=%q>: %w", d.file, dd.Pos.Line, dd.Pos.Col, dd.ID, err)
	}
	return nil
}

func (d *datamodel) InitData(dd *scxml.Data) error {
	var v goja.Value = goja.Undefined()
	var err error
	switch {
	case dd.SrcError != "":
		err = fmt.Errorf("%s:%d:%d: <data id=%q> src %q: %s", d.file, dd.Pos.Line, dd.Pos.Col, dd.ID, dd.Src, dd.SrcError)
	case dd.Expr != nil:
		d.touchData(dd, &d.prog.touch.writes[dd.Expr.ID])
		var x goja.Value
		if x, err = d.evalProgram(dd.Expr); err == nil {
			v = x
		}
	case dd.Content != nil:
		// Inline content is markup when it has child elements; a file
		// loaded by src may hold markup too.
		v = d.contentValue(dd.Content.Body, dd.Content.XML || dd.Src != "")
	}
	// The variable exists even when its value could not be computed
	// (section 5.3: it is then unbound, and error.execution is raised).
	d.touchData(dd, nil)
	if serr := d.vm.Set(dd.ID, v); serr != nil && err == nil {
		err = fmt.Errorf("%s:%d:%d: <data id=%q>: %w", d.file, dd.Pos.Line, dd.Pos.Col, dd.ID, serr)
	}
	return err
}

func (d *datamodel) store(loc *scxml.Expr, v goja.Value) error {
	return d.storeValue(loc, v, false)
}

// storeValue stores v at loc. primitive says that v is a primitive whose
// evaluation changed nothing: a store to a property path then marks only
// the object it changes (varCache.touchPath), not its whole variable.
func (d *datamodel) storeValue(loc *scxml.Expr, v goja.Value, primitive bool) error {
	if !primitive || !d.inc.touchPath(d.prog.touch, loc.ID) {
		d.inc.touch(&d.prog.touch.writes[loc.ID])
	}
	if err := d.prog.asgErrs[loc.ID]; err != nil {
		return d.exprErr(loc, err)
	}
	p := d.prog.assigns[loc.ID]
	if p == nil {
		return d.exprErr(loc, errors.New("not a location expression"))
	}
	if fs := d.prog.stores[loc.ID]; fs != nil && d.fastStore(fs, v) {
		return nil
	}
	if err := d.runAssign(p, v); err != nil {
		return d.exprErr(loc, err)
	}
	return nil
}

// runAssign runs a program made by assignCode with v in the slot, and
// empties the slot: it must keep nothing alive.
func (d *datamodel) runAssign(p *goja.Program, v goja.Value) error {
	g := d.vm.GlobalObject()
	if err := g.Set(assignSlot, v); err != nil {
		return err
	}
	_, err := d.run(p)
	_ = g.Set(assignSlot, goja.Undefined())
	return err
}

func (d *datamodel) Assign(a *scxml.Assign) error {
	var v goja.Value = goja.Undefined()
	primitive := false
	switch {
	case a.Expr != nil:
		x, prim, err := d.storedValue(a.Expr, a.Location)
		if err != nil {
			return err
		}
		v, primitive = x, prim
	case a.Content != nil && a.Content.Expr == nil:
		// B.2 makes a DOM of the XML in <data> and <content> only: the
		// children of <assign> stay markup text, which a <content
		// expr> of an SCXML <invoke> can run (test 530).
		v = d.contentValue(a.Content.Body, false)
	case a.Content != nil:
		x, prim, err := d.storedValue(a.Content.Expr, a.Location)
		if err != nil {
			return err
		}
		v, primitive = x, prim
	}
	return d.storeValue(a.Location, v, primitive)
}

// storedValue evaluates e for a value to store at loc, recording what
// that may change (varCache.touchStore). A read-only expression
// (incremental.go) that yields a primitive changes nothing and aliases
// nothing: the variables it read are not touched then, and primitive is
// set for storeValue, which touches the location.
func (d *datamodel) storedValue(e, loc *scxml.Expr) (v goja.Value, primitive bool, err error) {
	t := d.prog.touch
	from, to := &t.writes[e.ID], &t.writes[loc.ID]
	if !t.readOnly[e.ID] {
		d.inc.touchStore(from, to)
		v, err = d.evalProgram(e)
		return v, false, err
	}
	d.inc.touch(&t.reads[e.ID])
	v, err = d.evalProgram(e)
	if _, obj := v.(*goja.Object); obj || err != nil {
		d.inc.touchStore(from, to) // an object: it may be shared now
		return v, false, err
	}
	return v, true, nil
}

func (d *datamodel) SetData(dd *scxml.Data, v any) error {
	d.touchData(dd, nil)
	if err := d.vm.Set(dd.ID, d.toJS(v)); err != nil {
		return fmt.Errorf("%s:%d:%d: <data id=%q>: %w", d.file, dd.Pos.Line, dd.Pos.Col, dd.ID, err)
	}
	return nil
}

func (d *datamodel) SetLocation(loc *scxml.Expr, v any) error {
	return d.store(loc, d.toJS(v))
}

func (d *datamodel) sourceErr(where, src string, err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		err = errors.New(ex.Value().String())
	}
	return fmt.Errorf("%s %q: %w", where, src, err)
}

func (d *datamodel) EvalSource(src, where string) (any, error) {
	p, touch, err := d.prog.program(src, false)
	if err != nil {
		return nil, d.sourceErr(where, src, err)
	}
	d.inc.touch(touch)
	v, err := d.run(p)
	if err != nil {
		return nil, d.sourceErr(where, src, err)
	}
	return export(v), nil
}

func (d *datamodel) AssignSource(location, where string, v any) error {
	p, touch, err := d.prog.program(location, true)
	if err != nil {
		return d.sourceErr(where, location, err)
	}
	d.inc.touch(touch)
	if err := d.runAssign(p, d.toJS(v)); err != nil {
		return d.sourceErr(where, location, err)
	}
	return nil
}

func (d *datamodel) Script(s *scxml.Script) error {
	if err := d.prog.scrErrs[s.ID]; err != nil {
		return fmt.Errorf("%s:%d:%d: <script>: %w", d.file, s.Pos.Line, s.Pos.Col, err)
	}
	d.inc.touch(&d.prog.touch.script[s.ID])
	if _, err := d.run(d.prog.scripts[s.ID]); err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) {
			err = errors.New(ex.Value().String())
		}
		return fmt.Errorf("%s:%d:%d: <script>: %w", d.file, s.Pos.Line, s.Pos.Col, err)
	}
	return nil
}

// Foreach runs <foreach> (section 4.6) over a shallow copy of the array.
// item and index are variables created when they do not exist yet.
func (d *datamodel) Foreach(f *scxml.Foreach, body func() error) error {
	// item (and index) hold the array's elements in turn.
	var item *unitTouch
	if f.Item != nil {
		item = &d.prog.touch.writes[f.Item.ID]
	}
	d.inc.touchStore(&d.prog.touch.writes[f.Array.ID], item)
	arr, err := d.evalProgram(f.Array)
	if err != nil {
		return err
	}
	obj, ok := arr.(*goja.Object)
	if !ok || obj.ClassName() != "Array" {
		return d.exprErr(f.Array, errors.New("not an array"))
	}
	n := obj.Get("length").ToInteger()
	items := make([]goja.Value, n)
	for i := range items {
		items[i] = obj.Get(fmt.Sprint(i))
	}
	for _, loc := range []*scxml.Expr{f.Item, f.Index} {
		if loc == nil {
			continue
		}
		if !isIdentifier(strings.TrimSpace(loc.Source)) {
			return d.exprErr(loc, errors.New("not a legal variable name"))
		}
		if d.vm.GlobalObject().Get(strings.TrimSpace(loc.Source)) == nil {
			if err := d.vm.Set(strings.TrimSpace(loc.Source), goja.Undefined()); err != nil {
				return d.exprErr(loc, err)
			}
		}
	}
	for i, it := range items {
		if err := d.store(f.Item, it); err != nil {
			return err
		}
		if f.Index != nil {
			if err := d.store(f.Index, d.vm.ToValue(i)); err != nil {
				return err
			}
		}
		if err := body(); err != nil {
			return err
		}
	}
	return nil
}
