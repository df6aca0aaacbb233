package ecmascript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// parseJSON builds the value JSON.parse would give for src, in Go: looking
// JSON.parse up in each session's runtime would make goja build the whole
// JSON namespace (a few KB per session) for documents that rarely need it,
// and the document may have replaced the global JSON by then. Keys keep
// their order of first appearance and a repeated key keeps its first
// position with its last value, as JSON.parse does.
func (d *datamodel) parseJSON(src string) (goja.Value, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	v, err := d.jsonValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("json: data after the value")
	}
	return v, nil
}

func (d *datamodel) jsonValue(dec *json.Decoder) (goja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	vm := d.vm
	switch t := tok.(type) {
	case nil:
		return goja.Null(), nil
	case bool:
		return vm.ToValue(t), nil
	case string:
		return vm.ToValue(t), nil
	case json.Number:
		// Out of range gives ±Inf or 0 with ErrRange, as in ECMAScript.
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return vm.ToValue(f), nil
	case json.Delim:
		switch t {
		case '[':
			var items []any
			for dec.More() {
				x, err := d.jsonValue(dec)
				if err != nil {
					return nil, err
				}
				items = append(items, x)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return vm.NewArray(items...), nil
		case '{':
			o := vm.NewObject()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				x, err := d.jsonValue(dec)
				if err != nil {
					return nil, err
				}
				// Define, not Set: "__proto__" is an own key here.
				if err := o.DefineDataProperty(k.(string), x, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		}
	}
	return nil, fmt.Errorf("json: unexpected %v", tok)
}
