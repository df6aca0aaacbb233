package snapshot

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/orsgo/engine/interp"
)

// xmlExtID is the msgpack extension type of *interp.XML ('X'): its
// payload is the markup, so that a queued event keeps its DOM across a
// snapshot.
const xmlExtID = 'X'

// encodeData writes event data: JSON-like values, with *interp.XML as an
// extension wherever it is, in maps and slices of any type. Map keys are
// sorted, so that the same data encodes the same way. Other values go to
// msgpack's own encoder.
func encodeData(enc *msgpack.Encoder, v any) error {
	switch v := v.(type) {
	case nil:
		return enc.EncodeNil()
	case string:
		return enc.EncodeString(v)
	case bool:
		return enc.EncodeBool(v)
	case int64:
		return enc.EncodeInt(v)
	case float64:
		return enc.EncodeFloat64(v)
	case *interp.XML:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeExtHeader(xmlExtID, len(v.Source)); err != nil {
			return err
		}
		_, err := enc.Writer().Write([]byte(v.Source))
		return err
	case []any:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, x := range v {
			if err := encodeData(enc, x); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if v == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for _, k := range sortedKeys(v) {
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := encodeData(enc, v[k]); err != nil {
				return err
			}
		}
		return nil
	}
	// Data an embedder made of other Go types ([]string, map[string]int,
	// ...): walked here too, so that an *interp.XML inside is written as
	// one.
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8:
		if rv.IsNil() {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(rv.Len()); err != nil {
			return err
		}
		for i := range rv.Len() {
			if err := encodeData(enc, rv.Index(i).Interface()); err != nil {
				return err
			}
		}
		return nil
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		if rv.IsNil() {
			return enc.EncodeNil()
		}
		if err := enc.EncodeMapLen(rv.Len()); err != nil {
			return err
		}
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
			if err := enc.EncodeString(k.String()); err != nil {
				return err
			}
			if err := encodeData(enc, rv.MapIndex(k).Interface()); err != nil {
				return err
			}
		}
		return nil
	}
	return enc.Encode(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
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
		b := make([]byte, n)
		if err := d.dec.ReadFull(b); err != nil {
			return nil, err
		}
		return &interp.XML{Source: string(b)}, nil
	}
	return d.dec.DecodeInterfaceLoose()
}
