package ecmascript

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// importer rebuilds goja values from Values.
type importer struct {
	d       *datamodel
	objects []goja.Value
}

// ImportVars implements interp.Datamodel: it recreates the variables
// ExportVars exported, in their order, objects shared or cyclic as they
// were.
func (d *datamodel) ImportVars(vars []interp.Var) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("datamodel: %v", r)
		}
	}()
	im := &importer{d: d}
	for _, v := range vars {
		value, err := snapshot.VarValue(&v)
		if err != nil {
			return err
		}
		val, err := im.value(value)
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

func (im *importer) value(v interp.Value) (goja.Value, error) {
	vm := im.d.vm
	switch v.Kind {
	case interp.KindUndefined:
		return goja.Undefined(), nil
	case interp.KindNull:
		return goja.Null(), nil
	case interp.KindBool:
		return vm.ToValue(v.Bool), nil
	case interp.KindFloat:
		if v.Float == 0 && (v.Bool || math.Signbit(v.Float)) {
			return vm.ToValue(math.Copysign(0, -1)), nil
		}
		return vm.ToValue(v.Float), nil
	case interp.KindInt:
		return vm.ToValue(v.Int), nil
	case interp.KindString:
		return vm.ToValue(v.Str), nil
	case interp.KindRef:
		if v.Int < 0 || v.Int >= int64(len(im.objects)) {
			return nil, fmt.Errorf("reference %d: %w", v.Int, errBadValue)
		}
		return im.objects[v.Int], nil
	case interp.KindFunction:
		f, err := vm.RunString("(" + v.Str + "\n)")
		if err != nil {
			return nil, fmt.Errorf("function: %w", err)
		}
		im.objects = append(im.objects, f)
		return f, nil
	case interp.KindXML:
		return im.domNode(v)
	case interp.KindDate:
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
	case interp.KindArray:
		arr := vm.NewArray()
		im.objects = append(im.objects, arr)
		for i, it := range v.Items {
			if it.Kind == interp.KindUndefined && it.Bool {
				continue // a hole
			}
			x, err := im.value(it)
			if err != nil {
				return nil, err
			}
			if err := arr.Set(strconv.Itoa(i), x); err != nil {
				return nil, err
			}
		}
		// Trailing holes count in the length.
		if err := arr.Set("length", len(v.Items)); err != nil {
			return nil, err
		}
		return arr, nil
	case interp.KindObject:
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
			// Define, not Set: an own "__proto__" key must stay a property
			// instead of calling the inherited setter.
			if err := o.DefineDataProperty(k, x, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return nil, err
			}
		}
		return o, nil
	}
	return nil, fmt.Errorf("kind %d: %w", v.Kind, errBadValue)
}

// domNode rebuilds a DOM node exported by exporter.domNode.
func (im *importer) domNode(v interp.Value) (goja.Value, error) {
	if len(v.Items) == 0 {
		doc, err := parseXML(v.Str)
		if err != nil {
			return nil, fmt.Errorf("XML document: %v: %w", err, errBadValue)
		}
		doc.d = im.d
		o := doc.root.object()
		im.objects = append(im.objects, o)
		return o, nil
	}
	if len(v.Items) != 1 {
		return nil, fmt.Errorf("DOM node with %d documents: %w", len(v.Items), errBadValue)
	}
	dv, err := im.value(v.Items[0])
	if err != nil {
		return nil, err
	}
	root := domNode(dv)
	if root == nil || root.typ != domDocument || v.Int <= 0 || v.Int >= int64(len(root.doc.nodes)) {
		return nil, fmt.Errorf("DOM node %d: %w", v.Int, errBadValue)
	}
	o := root.doc.nodes[v.Int].object()
	im.objects = append(im.objects, o)
	return o, nil
}
