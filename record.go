package engine

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/persist"
)

// Reading records without running them: tools (an inspector, a report)
// read a persisted session's datamodel from its record, as Session.Data
// reads a running one's.

// RecordData decodes a record's snapshot and returns its datamodel
// variables as SnapshotData does.
func RecordData(rec *persist.Record) (map[string]any, error) {
	if rec == nil {
		return nil, fmt.Errorf("engine: record data: nil record")
	}
	snap, err := snapshot.Decode(rec.SessionID, rec.Data)
	if err != nil {
		return nil, fmt.Errorf("engine: record data: %w", err)
	}
	return SnapshotData(snap)
}

// SnapshotData returns the datamodel variables of a snapshot as the
// JSON-like Go values Session.Data returns for a running session: nil,
// bool, int64, float64, string, []any (holes are nil), map[string]any,
// time.Time for a Date, *interp.XML for a DOM document; functions are
// left out, and a DOM node other than a document is nil. Objects that
// several variables share are shared maps and slices. It runs nothing.
func SnapshotData(snap *interp.Snapshot) (map[string]any, error) {
	if snap == nil {
		return nil, fmt.Errorf("engine: snapshot data: nil snapshot")
	}
	c := &converter{}
	out := make(map[string]any, len(snap.Vars))
	for i := range snap.Vars {
		v := &snap.Vars[i]
		val, err := snapshot.VarValue(v)
		if err != nil {
			return nil, fmt.Errorf("engine: snapshot of session %s: %w", snap.SessionID, err)
		}
		x, err := c.value(val)
		if err != nil {
			return nil, fmt.Errorf("engine: snapshot of session %s: variable %s: %w", snap.SessionID, v.Name, err)
		}
		if val.Kind == interp.KindFunction {
			continue // not data, as in Session.Data
		}
		name := v.Name
		if _, n, lexical := strings.Cut(v.Name, " "); lexical {
			name = n // "let x"
		}
		out[name] = x
	}
	return out, nil
}

// converter numbers objects as the snapshot's exporter did, for KindRef.
type converter struct{ objects []any }

func (c *converter) value(v interp.Value) (any, error) {
	switch v.Kind {
	case interp.KindUndefined, interp.KindNull:
		return nil, nil
	case interp.KindBool:
		return v.Bool, nil
	case interp.KindFloat:
		if v.Float == 0 && v.Bool {
			return math.Copysign(0, -1), nil
		}
		return v.Float, nil
	case interp.KindInt:
		return v.Int, nil
	case interp.KindString:
		return v.Str, nil
	case interp.KindRef:
		if v.Int < 0 || v.Int >= int64(len(c.objects)) {
			return nil, fmt.Errorf("reference %d to an object not met before", v.Int)
		}
		return c.objects[v.Int], nil
	case interp.KindFunction:
		c.objects = append(c.objects, nil)
		return nil, nil
	case interp.KindDate:
		// Whole milliseconds first: a float of nanoseconds since 1970
		// would not hold them exactly.
		ms := math.Floor(v.Float)
		t := time.UnixMilli(int64(ms)).Add(time.Duration(math.Round((v.Float - ms) * 1e6))).UTC()
		c.objects = append(c.objects, t)
		return t, nil
	case interp.KindXML:
		if len(v.Items) == 0 {
			x := &interp.XML{Source: v.Str}
			c.objects = append(c.objects, x)
			return x, nil
		}
		if _, err := c.value(v.Items[0]); err != nil { // its document, numbered first
			return nil, err
		}
		c.objects = append(c.objects, nil)
		return nil, nil
	case interp.KindArray:
		arr := make([]any, len(v.Items))
		c.objects = append(c.objects, arr)
		for i, it := range v.Items {
			x, err := c.value(it)
			if err != nil {
				return nil, err
			}
			arr[i] = x
		}
		return arr, nil
	case interp.KindObject:
		if len(v.Keys) != len(v.Items) {
			return nil, fmt.Errorf("object with %d keys and %d values", len(v.Keys), len(v.Items))
		}
		m := make(map[string]any, len(v.Keys))
		c.objects = append(c.objects, m)
		for i, k := range v.Keys {
			x, err := c.value(v.Items[i])
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	}
	return nil, fmt.Errorf("value of kind %d", v.Kind)
}
