package interp

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"
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
}

type lexicalName struct {
	name  string
	token string // "let" or "const"
}

func collectDecls(doc *scxml.Document) scriptDecls {
	d := scriptDecls{functions: map[string]bool{}}
	seen := map[string]bool{}
	for _, sc := range doc.Scripts {
		prog, err := parser.ParseFile(nil, "", sc.Source, 0)
		if err != nil {
			continue // the script fails at run time; nothing it declares exists
		}
		src := sc.Source
		fn := func(f *ast.FunctionLiteral) {
			if f != nil && int(f.Idx0()) >= 1 && int(f.Idx1())-1 <= len(src) {
				d.functions[src[f.Idx0()-1:f.Idx1()-1]] = true
			}
		}
		for _, st := range prog.Body {
			switch st := st.(type) {
			case *ast.FunctionDeclaration:
				fn(st.Function)
			case *ast.VariableStatement:
				for _, b := range st.List {
					if f, ok := b.Initializer.(*ast.FunctionLiteral); ok {
						fn(f)
					}
				}
			case *ast.LexicalDeclaration:
				for _, b := range st.List {
					if id, ok := b.Target.(*ast.Identifier); ok && !seen[string(id.Name)] {
						seen[string(id.Name)] = true
						d.lexical = append(d.lexical, lexicalName{name: string(id.Name), token: st.Token.String()})
					}
					if f, ok := b.Initializer.(*ast.FunctionLiteral); ok {
						fn(f)
					}
				}
			}
		}
	}
	return d
}

// exporter turns goja values into Values, numbering objects so that shared
// and cyclic references survive.
type exporter struct {
	d       *ecmaDatamodel
	objects map[*goja.Object]int
	objProt *goja.Object
	arrProt *goja.Object
	bad     []string
}

func (d *ecmaDatamodel) exportVars() ([]Var, error) {
	x := &exporter{
		d:       d,
		objects: map[*goja.Object]int{},
		objProt: d.vm.Get("Object").ToObject(d.vm).Get("prototype").ToObject(d.vm),
		arrProt: d.vm.Get("Array").ToObject(d.vm).Get("prototype").ToObject(d.vm),
	}
	names := d.vm.GlobalObject().Keys()
	sort.Strings(names) // a stable order: the same state encodes the same way
	var vars []Var
	for _, name := range names {
		vars = append(vars, Var{Name: name, Value: x.value(name, d.vm.GlobalObject().Get(name))})
	}
	for _, l := range d.prog.decls.lexical {
		v := d.vm.Get(l.name)
		if v == nil {
			continue // declared by a script that has not run
		}
		vars = append(vars, Var{Name: l.token + " " + l.name, Value: x.value(l.name, v)})
	}
	if len(x.bad) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(x.bad, "; "), ErrNotRestorable)
	}
	return vars, nil
}

func (x *exporter) value(path string, v goja.Value) Value {
	if v == nil || goja.IsUndefined(v) {
		return Value{Kind: KindUndefined}
	}
	if goja.IsNull(v) {
		return Value{Kind: KindNull}
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		switch e := v.Export().(type) {
		case bool:
			return Value{Kind: KindBool, Bool: e}
		case int64:
			return Value{Kind: KindInt, Int: e}
		case float64:
			return Value{Kind: KindFloat, Float: e}
		case string:
			return Value{Kind: KindString, Str: e}
		default:
			x.bad = append(x.bad, fmt.Sprintf("variable %s: a %T", path, e))
			return Value{Kind: KindUndefined}
		}
	}
	if id, seen := x.objects[obj]; seen {
		return Value{Kind: KindRef, Int: int64(id)}
	}
	switch obj.ClassName() {
	case "Function":
		src := obj.String()
		if !x.d.prog.decls.functions[src] {
			x.bad = append(x.bad, fmt.Sprintf("variable %s: a function created at run time (a closure or host function); only functions the document's scripts declare at top level can be restored", path))
			return Value{Kind: KindUndefined}
		}
		x.objects[obj] = len(x.objects)
		return Value{Kind: KindFunction, Str: src}
	case "Date":
		x.objects[obj] = len(x.objects)
		t, _ := obj.Export().(time.Time)
		ms := float64(t.UnixNano()) / 1e6
		if f, ok := x.callNumber(obj, "getTime"); ok {
			ms = f
		}
		return Value{Kind: KindDate, Float: ms}
	case "Array":
		if obj.Prototype() != x.arrProt {
			break
		}
		x.objects[obj] = len(x.objects)
		n := int(obj.Get("length").ToInteger())
		out := Value{Kind: KindArray, Items: make([]Value, n)}
		for i := 0; i < n; i++ {
			out.Items[i] = x.value(fmt.Sprintf("%s[%d]", path, i), obj.Get(fmt.Sprint(i)))
		}
		return out
	case "Object":
		if obj.Prototype() != x.objProt {
			break
		}
		if _, isHost := obj.Export().(map[string]any); !isHost {
			break
		}
		x.objects[obj] = len(x.objects)
		keys := obj.Keys()
		out := Value{Kind: KindObject, Keys: keys, Items: make([]Value, len(keys))}
		for i, k := range keys {
			out.Items[i] = x.value(path+"."+k, obj.Get(k))
		}
		return out
	}
	x.bad = append(x.bad, fmt.Sprintf("variable %s: a %s object (only plain objects, arrays, Dates and declared functions are restorable)", path, obj.ClassName()))
	return Value{Kind: KindUndefined}
}

func (x *exporter) callNumber(obj *goja.Object, method string) (float64, bool) {
	fn, ok := goja.AssertFunction(obj.Get(method))
	if !ok {
		return 0, false
	}
	v, err := fn(obj)
	if err != nil {
		return 0, false
	}
	return v.ToFloat(), true
}

// importer rebuilds goja values from Values.
type importer struct {
	d       *ecmaDatamodel
	objects []goja.Value
}

func (d *ecmaDatamodel) importVars(vars []Var) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("datamodel: %v", r)
		}
	}()
	im := &importer{d: d}
	for _, v := range vars {
		val, err := im.value(v.Value)
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.Name, err)
		}
		if tok, name, lexical := strings.Cut(v.Name, " "); lexical {
			// let/const bindings are not properties of the global object:
			// declare them again through a script.
			if tok != "let" && tok != "const" || !isIdentifier(name) {
				return fmt.Errorf("variable %q: not a declaration", v.Name)
			}
			if err := d.vm.Set("$scxml$restore", val); err != nil {
				return err
			}
			if _, err := d.vm.RunString(tok + " " + name + " = $scxml$restore;"); err != nil {
				return fmt.Errorf("variable %s: %w", name, err)
			}
			d.vm.GlobalObject().Delete("$scxml$restore")
			continue
		}
		if err := d.vm.Set(v.Name, val); err != nil {
			return fmt.Errorf("variable %s: %w", v.Name, err)
		}
	}
	return nil
}

var errBadValue = errors.New("malformed value")

func (im *importer) value(v Value) (goja.Value, error) {
	vm := im.d.vm
	switch v.Kind {
	case KindUndefined:
		return goja.Undefined(), nil
	case KindNull:
		return goja.Null(), nil
	case KindBool:
		return vm.ToValue(v.Bool), nil
	case KindFloat:
		if v.Float == 0 && math.Signbit(v.Float) {
			return vm.ToValue(math.Copysign(0, -1)), nil
		}
		return vm.ToValue(v.Float), nil
	case KindInt:
		return vm.ToValue(v.Int), nil
	case KindString:
		return vm.ToValue(v.Str), nil
	case KindRef:
		if v.Int < 0 || v.Int >= int64(len(im.objects)) {
			return nil, fmt.Errorf("reference %d: %w", v.Int, errBadValue)
		}
		return im.objects[v.Int], nil
	case KindFunction:
		f, err := vm.RunString("(" + v.Str + "\n)")
		if err != nil {
			return nil, fmt.Errorf("function: %w", err)
		}
		im.objects = append(im.objects, f)
		return f, nil
	case KindDate:
		ctor, ok := goja.AssertConstructor(vm.Get("Date"))
		if !ok {
			return nil, errors.New("no Date constructor")
		}
		o, err := ctor(nil, vm.ToValue(v.Float))
		if err != nil {
			return nil, err
		}
		im.objects = append(im.objects, o)
		return o, nil
	case KindArray:
		arr := vm.NewArray()
		im.objects = append(im.objects, arr)
		for i, it := range v.Items {
			x, err := im.value(it)
			if err != nil {
				return nil, err
			}
			if err := arr.Set(fmt.Sprint(i), x); err != nil {
				return nil, err
			}
		}
		return arr, nil
	case KindObject:
		if len(v.Keys) != len(v.Items) {
			return nil, fmt.Errorf("object with %d keys and %d values: %w", len(v.Keys), len(v.Items), errBadValue)
		}
		o := vm.NewObject()
		im.objects = append(im.objects, o)
		for i, k := range v.Keys {
			x, err := im.value(v.Items[i])
			if err != nil {
				return nil, err
			}
			if err := o.Set(k, x); err != nil {
				return nil, err
			}
		}
		return o, nil
	}
	return nil, fmt.Errorf("kind %d: %w", v.Kind, errBadValue)
}
