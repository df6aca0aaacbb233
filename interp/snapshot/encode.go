package snapshot

import (
	"github.com/orsgo/engine/internal/msgp"
	"github.com/orsgo/engine/interp"
)

// Hand-written encoders, appending to a byte slice (internal/msgp). Each
// writes what msgpack's struct encoder wrote from the tags the
// interpreter's types used to carry (a map keyed by the tag names,
// omitempty fields left out when empty), which the decoders below read.
// Only event data of Go types outside the JSON-like ones can fail to
// encode (data.go).

func count(present ...bool) int {
	n := 0
	for _, p := range present {
		if p {
			n++
		}
	}
	return n
}

// appendInts writes v; a nil slice is nil, as the reflective encoder
// wrote it.
func appendInts(b []byte, v []int) []byte {
	if v == nil {
		return msgp.AppendNil(b)
	}
	b = msgp.AppendArrayLen(b, len(v))
	for _, i := range v {
		b = msgp.AppendInt(b, int64(i))
	}
	return b
}

func appendStrings(b []byte, v []string) []byte {
	if v == nil {
		return msgp.AppendNil(b)
	}
	b = msgp.AppendArrayLen(b, len(v))
	for _, s := range v {
		b = msgp.AppendStr(b, s)
	}
	return b
}

// appendSlice writes items with app1; a nil slice is nil.
func appendSlice[T any](b []byte, items []T, app1 func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return msgp.AppendNil(b), nil
	}
	b = msgp.AppendArrayLen(b, len(items))
	for i := range items {
		var err error
		if b, err = app1(b, &items[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendSnapshot(b []byte, s *interp.Snapshot) ([]byte, error) {
	n := 9 + count(s.Final != "", len(s.StatesToInvoke) > 0, len(s.DataDone) > 0, len(s.History) > 0,
		len(s.EndConfig) > 0, len(s.Internal) > 0, len(s.External) > 0, s.Current != nil, len(s.Delayed) > 0,
		len(s.Vars) > 0, len(s.Invocation) > 0, len(s.Subs) > 0)
	b = msgp.AppendMapLen(b, n)
	b = msgp.AppendInt(msgp.AppendStr(b, "ver"), int64(s.Version))
	b = msgp.AppendStr(msgp.AppendStr(b, "id"), s.SessionID)
	b = msgp.AppendStr(msgp.AppendStr(b, "doc"), s.DocName)
	b = msgp.AppendBin(msgp.AppendStr(b, "hash"), s.DocHash[:])
	b = msgp.AppendBool(msgp.AppendStr(b, "st"), s.Started)
	b = msgp.AppendBool(msgp.AppendStr(b, "run"), s.Running)
	if s.Final != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "fin"), s.Final)
	}
	b = msgp.AppendTime(msgp.AppendStr(b, "now"), s.Now)
	b = msgp.AppendUint(msgp.AppendStr(b, "seq"), s.Seq)
	b = appendInts(msgp.AppendStr(b, "cfg"), s.Configuration)
	if len(s.StatesToInvoke) > 0 {
		b = appendInts(msgp.AppendStr(b, "inv"), s.StatesToInvoke)
	}
	if len(s.DataDone) > 0 {
		b = appendInts(msgp.AppendStr(b, "dd"), s.DataDone)
	}
	if len(s.History) > 0 {
		b = msgp.AppendArrayLen(msgp.AppendStr(b, "hist"), len(s.History))
		for i := range s.History {
			b = appendHistory(b, &s.History[i])
		}
	}
	if len(s.EndConfig) > 0 {
		b = appendStrings(msgp.AppendStr(b, "end"), s.EndConfig)
	}
	var err error
	if len(s.Internal) > 0 {
		if b, err = appendSlice(msgp.AppendStr(b, "iq"), s.Internal, appendEvent); err != nil {
			return b, err
		}
	}
	if len(s.External) > 0 {
		if b, err = appendSlice(msgp.AppendStr(b, "eq"), s.External, appendEvent); err != nil {
			return b, err
		}
	}
	if s.Current != nil {
		if b, err = appendEvent(msgp.AppendStr(b, "cur"), s.Current); err != nil {
			return b, err
		}
	}
	if len(s.Delayed) > 0 {
		if b, err = appendSlice(msgp.AppendStr(b, "dl"), s.Delayed, appendDelayed); err != nil {
			return b, err
		}
	}
	if len(s.Vars) > 0 {
		b = msgp.AppendArrayLen(msgp.AppendStr(b, "vars"), len(s.Vars))
		for i := range s.Vars {
			b = appendVar(b, &s.Vars[i])
		}
	}
	if len(s.Invocation) > 0 {
		if b, err = appendSlice(msgp.AppendStr(b, "invk"), s.Invocation, appendInvoke); err != nil {
			return b, err
		}
	}
	if len(s.Subs) > 0 {
		b = appendStrings(msgp.AppendStr(b, "subs"), s.Subs)
	}
	return b, nil
}

func appendHistory(b []byte, h *interp.HistoryEntry) []byte {
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendInt(msgp.AppendStr(b, "s"), int64(h.State))
	return appendInts(msgp.AppendStr(b, "v"), h.States)
}

func appendDelayed(b []byte, d *interp.DelayedSend) ([]byte, error) {
	b = msgp.AppendMapLen(b, 3+count(d.Target != "", d.Type != ""))
	b = msgp.AppendTime(msgp.AppendStr(b, "due"), d.Due)
	b = msgp.AppendUint(msgp.AppendStr(b, "seq"), d.Seq)
	if d.Target != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "to"), d.Target)
	}
	if d.Type != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "ty"), d.Type)
	}
	return appendEvent(msgp.AppendStr(b, "ev"), &d.Event)
}

func appendInvoke(b []byte, r *interp.InvokeRecord) ([]byte, error) {
	n := 2 + count(r.Type != "", r.Done, r.Child != nil, len(r.Source) > 0, r.File != "")
	b = msgp.AppendMapLen(b, n)
	b = msgp.AppendInt(msgp.AppendStr(b, "i"), int64(r.Invoke))
	b = msgp.AppendStr(msgp.AppendStr(b, "id"), r.InvokeID)
	if r.Type != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "t"), r.Type)
	}
	if r.Done {
		b = msgp.AppendBool(msgp.AppendStr(b, "d"), true)
	}
	if r.Child != nil {
		var err error
		if b, err = appendSnapshot(msgp.AppendStr(b, "c"), r.Child); err != nil {
			return b, err
		}
	}
	if len(r.Source) > 0 {
		b = msgp.AppendBin(msgp.AppendStr(b, "src"), r.Source)
	}
	if r.File != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "f"), r.File)
	}
	return b, nil
}

// appendEvent writes the eight fields of an event, all of them, under
// their Go names.
func appendEvent(b []byte, ev *interp.Event) ([]byte, error) {
	b = msgp.AppendMapLen(b, 8)
	b = msgp.AppendStr(msgp.AppendStr(b, "Name"), ev.Name)
	b = msgp.AppendUint(msgp.AppendStr(b, "Type"), uint64(ev.Type))
	b = msgp.AppendStr(msgp.AppendStr(b, "SendID"), ev.SendID)
	b = msgp.AppendStr(msgp.AppendStr(b, "Origin"), ev.Origin)
	b = msgp.AppendStr(msgp.AppendStr(b, "OriginType"), ev.OriginType)
	b = msgp.AppendStr(msgp.AppendStr(b, "InvokeID"), ev.InvokeID)
	b = msgp.AppendStr(msgp.AppendStr(b, "Raw"), ev.Raw)
	return appendData(msgp.AppendStr(b, "Data"), ev.Data)
}

// appendVar writes v, or the encoding a datamodel kept for it.
func appendVar(b []byte, v *interp.Var) []byte {
	if v.Encoded != nil {
		return append(b, v.Encoded...)
	}
	return appendVarFields(b, v)
}

func appendVarFields(b []byte, v *interp.Var) []byte {
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendStr(msgp.AppendStr(b, "n"), v.Name)
	return AppendValue(msgp.AppendStr(b, "v"), &v.Value)
}

// AppendValue appends v as a snapshot writes a variable's value: a map
// of its kind and of the fields it uses. A datamodel that encodes its
// values itself (datamodel/ecmascript) must write the same bytes.
func AppendValue(b []byte, v *interp.Value) []byte {
	n := 1 + count(v.Bool, v.Float != 0, v.Int != 0, v.Str != "", len(v.Keys) > 0, len(v.Items) > 0)
	b = msgp.AppendMapLen(b, n)
	b = msgp.AppendUint(msgp.AppendStr(b, "k"), uint64(v.Kind))
	if v.Bool {
		b = msgp.AppendBool(msgp.AppendStr(b, "b"), true)
	}
	if v.Float != 0 {
		b = msgp.AppendFloat64(msgp.AppendStr(b, "f"), v.Float)
	}
	if v.Int != 0 {
		b = msgp.AppendInt(msgp.AppendStr(b, "i"), v.Int)
	}
	if v.Str != "" {
		b = msgp.AppendStr(msgp.AppendStr(b, "s"), v.Str)
	}
	if len(v.Keys) > 0 {
		b = appendStrings(msgp.AppendStr(b, "ks"), v.Keys)
	}
	if len(v.Items) > 0 {
		b = msgp.AppendArrayLen(msgp.AppendStr(b, "it"), len(v.Items))
		for i := range v.Items {
			b = AppendValue(b, &v.Items[i])
		}
	}
	return b
}
