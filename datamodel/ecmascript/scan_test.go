package ecmascript

import (
	"slices"
	"testing"
)

// The text scans the exporter and the incremental snapshots rely on. Each
// errs on the safe side: a false positive costs speed, a false negative
// a wrong checkpoint.

func TestIdentifiers(t *testing.T) {
	for src, want := range map[string][]string{
		`a.b + c`:                 {"a", "c"},
		`a . b`:                   {"a"},
		`f(...rest)`:              {"f", "rest"},
		`'x y' + "z" + w`:         {"w"},
		`{k: v, 'q': r, s}`:       {"v", "r", "s"},
		`c ? d : e`:               {"c", "d", "e"},
		`o?.p`:                    {"o"},
		`1e5 + 0x1F + n2`:         {"n2"},
		`x['y'] = z`:              {"x", "z"},
		`typeof u === 'string'`:   {"typeof", "u"},
		"`t ${tpl}`":              {"t", "$", "tpl"}, // template text counts: safe
		`call.ani + ' -> ' + dn`:  {"call", "dn"},
		"{a: 1,\n  b : 2}":        nil,
		`x ? {k: 1} : {k: 2}`:     {"x"},
		`label: for (;;) {break}`: {"label", "for", "break"},
	} {
		var got []string
		identifiers(src, func(n string) { got = append(got, n) })
		if !slices.Equal(got, want) {
			t.Errorf("identifiers(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestReadOnly(t *testing.T) {
	for src, want := range map[string]bool{
		`segment == 'gold'`: true, `a != b && c <= d || e >= f`: true, `x === y`: true, `!z`: true,
		`_event.data ? _event.data.agent : ''`: true, `call.ani + ' -> ' + call.dnis`: true,
		`n = 1`: false, `n += 1`: false, `n <<= 1`: false, `n >>>= 1`: false, `n ||= 1`: false, `n ??= 1`: false,
		`n++`: false, `--n`: false, `f()`: false, "tag`x`": false, `new Date`: false, `delete o.p`: false,
		`x => x`: false, `function () {}`: false,
	} {
		if got := readOnly(src); got != want {
			t.Errorf("readOnly(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestStripInCalls(t *testing.T) {
	for src, want := range map[string]string{
		`In('a')`:                          `true`,
		`In( "s.x" ) && call.n != ''`:      `true && call.n != ''`,
		`!In('a')||In('b')`:                `!true||true`,
		`x.In('a')`:                        `x.In('a')`,
		`myIn('a')`:                        `myIn('a')`,
		`In(s)`:                            `In(s)`,
		`In('a' + f())`:                    `In('a' + f())`,
		`In('a\')`:                         `In('a\')`,
		`In('a'), f()`:                     `true, f()`,
		`In('a') ? In("b") : In('c', d())`: `true ? true : In('c', d())`,
	} {
		if got := stripInCalls(src); got != want {
			t.Errorf("stripInCalls(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestDefinesFunctions(t *testing.T) {
	for src, want := range map[string]bool{
		`function f() {}`: true, `x => x`: true, `class A {}`: true, `({m() { return 1 }})`: true, `({get x() {}})`: true,
		`a + b`: false, `f(x)`: false, `{k: (1)}`: false,
	} {
		if got := definesFunctions(src); got != want {
			t.Errorf("definesFunctions(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestMayDefineAccessors(t *testing.T) {
	for src, want := range map[string]bool{
		`({get x() { return 1 }})`: true, `({set x(v) {}})`: true, `({get [k]() {}})`: true, `({get'q'() {}})`: true,
		`({ get 0() {} })`: true, `Object.defineProperty(o, 'x', d)`: true, `Object.defineProperties(o, d)`: true,
		`Object.create(p, d)`: true, `o.__defineGetter__('x', f)`: true, `Reflect.set(o, k, v)`: true, `new Proxy(o, h)`: true,
		`m.get(k)`: false, `({get: 1, set: 2})`: false, `getter + settings`: false, `target = offset`: false, `x.get`: false,
	} {
		if got := mayDefineAccessors(src); got != want {
			t.Errorf("mayDefineAccessors(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestReachesGlobal(t *testing.T) {
	for src, want := range map[string]bool{
		`this.x = 1`: true, `globalThis.y`: true, `eval('z')`: true, `Function('return 1')`: true,
		`with (o) {}`: true, `({}).constructor.constructor('x')()`: true, `o['constructor']`: true,
		`a.b(c)`: false, `o.evaluate`: false, `thisOne + 1`: false,
	} {
		if got := reachesGlobal(src); got != want {
			t.Errorf("reachesGlobal(%q) = %v, want %v", src, got, want)
		}
	}
}
