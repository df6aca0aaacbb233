package ecmascript

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// parseJSON must give what the runtime's own JSON.parse gives: same
// values, same key order, same own "__proto__" keys.
func TestParseJSONMatchesJSONParse(t *testing.T) {
	d, err := newDatamodel(compile(&scxml.Document{}), interp.SystemInfo{In: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	vm := d.vm
	// describe lists every own key in order with its value's type and
	// JSON, recursively, so that order, -0 and prototypes are compared.
	describe, err := vm.RunString(`(function describe(v) {
		if (v === null || typeof v !== 'object') {
			return (Object.is(v, -0) ? '-0' : typeof v + ':' + JSON.stringify(v));
		}
		var proto = Object.getPrototypeOf(v) === Object.prototype ? 'O' : Array.isArray(v) ? 'A' : '?';
		return proto + '{' + Object.getOwnPropertyNames(v).map(function (k) {
			return JSON.stringify(k) + '=' + describe(v[k]);
		}).join(',') + '}';
	})`)
	if err != nil {
		t.Fatal(err)
	}
	desc, _ := goja.AssertFunction(describe)
	parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	for _, src := range []string{
		`{}`, `[]`, `null`, `true`, `"x"`, `0`, `-0`, `1.5e3`, `1e-400`,
		`9007199254740993`, `"\u00e9\ud83d\ude00\n"`,
		`{"b":1,"a":[1,"2",null,{"c":false}],"d":{}}`,
		`{"k":1,"j":2,"k":3}`,
		`{"__proto__":{"x":1},"y":2}`,
		`[[],[[]],{"":""}]`,
		` { "spaced" : [ 1 , 2 ] } `,
	} {
		want, err := parse(goja.Undefined(), vm.ToValue(src))
		if err != nil {
			t.Fatalf("JSON.parse(%s): %v", src, err)
		}
		got, err := d.parseJSON(src)
		if err != nil {
			t.Errorf("parseJSON(%s): %v", src, err)
			continue
		}
		w, _ := desc(goja.Undefined(), want)
		g, _ := desc(goja.Undefined(), got)
		if w.String() != g.String() {
			t.Errorf("parseJSON(%s) = %s, JSON.parse gives %s", src, g, w)
		}
	}
	// goja's JSON.parse refuses 1e400; ECMAScript reads it as Infinity.
	if v, err := d.parseJSON("[1e400,-1e400]"); err != nil || v.String() != "Infinity,-Infinity" {
		t.Errorf("parseJSON([1e400,-1e400]) = %v, %v; want Infinity,-Infinity", v, err)
	}
	for _, bad := range []string{`{`, `[1,]`, `1 2`, `{"a" 1}`, ``} {
		if v, err := d.parseJSON(bad); err == nil {
			t.Errorf("parseJSON(%q) = %v, want an error", bad, v)
		}
	}
}

// literal folds only primitive literals, to the value goja computes.
func TestLiteralFolding(t *testing.T) {
	vm := goja.New()
	for src, folds := range map[string]bool{
		`'VIP_Agents'`: true, `"x y"`: true, `''`: true, `0`: true, `1.5`: true, `1e3`: true, `0x10`: true,
		`true`: true, `false`: true, `null`: true, `9007199254740992`: true,
		`'a\nb'`: false, `'\uD800'`: false, `9007199254740993`: false, `1n`: false, `-1`: false,
		`x`: false, `'a' + 'b'`: false, `undefined`: false, `[1]`: false, `({})`: false,
	} {
		v := literal(src)
		if (v != nil) != folds {
			t.Errorf("literal(%s) = %v, want folded: %v", src, v, folds)
			continue
		}
		if v == nil {
			continue
		}
		want, err := vm.RunString("(" + src + ")")
		if err != nil {
			t.Fatal(err)
		}
		if !v.StrictEquals(want) || v.ExportType() != want.ExportType() {
			t.Errorf("literal(%s) = %v (%v), goja gives %v (%v)", src, v, v.ExportType(), want, want.ExportType())
		}
	}
}
