package snapshot

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/orsgo/engine/internal/msgp"
	"github.com/orsgo/engine/internal/msgpool"
	"github.com/orsgo/engine/interp"
)

// xmlExtID is the msgpack extension type of *interp.XML ('X'): its
// payload is the markup, so that a queued event keeps its DOM across a
// snapshot.
const xmlExtID = 'X'

// appendData writes event data: JSON-like values, with *interp.XML as an
// extension wherever it is, in maps and slices of any type. Map keys are
// sorted, so that the same data encodes the same way. Other values go to
// msgpack's own encoder (reflection, for Go types an embedder chose; the
// JSON-like ones the engine makes never get there).
func appendData(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return msgp.AppendNil(b), nil
	case string:
		return msgp.AppendStr(b, v), nil
	case bool:
		return msgp.AppendBool(b, v), nil
	case int64:
		return msgp.AppendInt(b, v), nil
	case float64:
		return msgp.AppendFloat64(b, v), nil
	case time.Time:
		return msgp.AppendTime(b, v), nil
	case *interp.XML:
		if v == nil {
			return msgp.AppendNil(b), nil
		}
		return append(msgp.AppendExtHeader(b, xmlExtID, len(v.Source)), v.Source...), nil
	case []any:
		if v == nil {
			return msgp.AppendNil(b), nil
		}
		b = msgp.AppendArrayLen(b, len(v))
		for _, x := range v {
			var err error
			if b, err = appendData(b, x); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[string]any:
		if v == nil {
			return msgp.AppendNil(b), nil
		}
		b = msgp.AppendMapLen(b, len(v))
		var arr [8]string // most event data has few keys: no allocation
		for _, k := range sortedKeys(arr[:0], v) {
			b = msgp.AppendStr(b, k)
			var err error
			if b, err = appendData(b, v[k]); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	// Data an embedder made of other Go types ([]string, map[string]int,
	// ...): walked here too, so that an *interp.XML inside is written as
	// one.
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8:
		if rv.IsNil() {
			return msgp.AppendNil(b), nil
		}
		b = msgp.AppendArrayLen(b, rv.Len())
		for i := range rv.Len() {
			var err error
			if b, err = appendData(b, rv.Index(i).Interface()); err != nil {
				return b, err
			}
		}
		return b, nil
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		if rv.IsNil() {
			return msgp.AppendNil(b), nil
		}
		b = msgp.AppendMapLen(b, rv.Len())
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch x, y := a.String(), b.String(); {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		})
		for _, k := range keys {
			b = msgp.AppendStr(b, k.String())
			var err error
			if b, err = appendData(b, rv.MapIndex(k).Interface()); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	e := msgpool.Get()
	defer msgpool.Put(e)
	if err := e.Enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, e.Buf.Bytes()...), nil
}

// sortedKeys appends the keys of m to keys, sorted.
func sortedKeys(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 { // event data of one key, the common case: nothing to sort
		slices.Sort(keys)
	}
	return keys
}

// data reads what encodeData wrote: maps as map[string]any, arrays as
// []any, the XML extension as *interp.XML, anything else as msgpack's
// loose decoding gives it (int64, uint64, float64, string, bool, nil).
func (d *decoder) data() (any, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		if err := d.items(n); err != nil {
			return nil, err
		}
		m := make(map[string]any, n)
		for range n {
			k, err := d.dec.DecodeString()
			if err != nil {
				return nil, err
			}
			if m[k], err = d.data(); err != nil {
				return nil, err
			}
		}
		return m, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		if err := d.items(n); err != nil {
			return nil, err
		}
		s := make([]any, n)
		for i := range s {
			if s[i], err = d.data(); err != nil {
				return nil, err
			}
		}
		return s, nil
	case msgpcode.IsExt(c):
		id, n, err := d.dec.DecodeExtHeader()
		if err != nil {
			return nil, err
		}
		if id != xmlExtID {
			return nil, fmt.Errorf("event data: unknown extension type %d", id)
		}
		if err := d.items(n); err != nil {
			return nil, err
		}
		b := make([]byte, n)
		if err := d.dec.ReadFull(b); err != nil {
			return nil, err
		}
		return &interp.XML{Source: string(b)}, nil
	}
	return d.dec.DecodeInterfaceLoose()
}
