package snapshot

import (
	"github.com/vmihailenco/msgpack/v5"

	"github.com/orsgo/engine/interp"
)

// Hand-written encoders. Each writes what msgpack's struct encoder wrote
// from the tags the interpreter's types used to carry (a map keyed by the
// tag names, omitempty fields left out when empty), which the decoders
// below read; the struct encoder built a list of the non-empty fields for
// every value it encoded, a quarter of a snapshot's encoding time.

// fieldWriter writes the entries of a map whose length was counted
// beforehand, and keeps the first error.
type fieldWriter struct {
	enc *msgpack.Encoder
	err error
}

func (w *fieldWriter) key(k string) bool {
	if w.err == nil {
		w.err = w.enc.EncodeString(k)
	}
	return w.err == nil
}

func (w *fieldWriter) int(k string, v int64) {
	if w.key(k) {
		w.err = w.enc.EncodeInt(v)
	}
}

func (w *fieldWriter) uint(k string, v uint64) {
	if w.key(k) {
		w.err = w.enc.EncodeUint(v)
	}
}

func (w *fieldWriter) str(k, v string) {
	if w.key(k) {
		w.err = w.enc.EncodeString(v)
	}
}

func (w *fieldWriter) bool(k string, v bool) {
	if w.key(k) {
		w.err = w.enc.EncodeBool(v)
	}
}

func (w *fieldWriter) ints(k string, v []int) {
	if w.key(k) {
		w.err = encodeInts(w.enc, v)
	}
}

func (w *fieldWriter) strs(k string, v []string) {
	if w.key(k) {
		w.err = encodeStrings(w.enc, v)
	}
}

func count(present ...bool) int {
	n := 0
	for _, p := range present {
		if p {
			n++
		}
	}
	return n
}

// encodeSlice writes items with enc1; a nil slice is nil, as the
// reflective encoder wrote it.
func encodeSlice[T any](enc *msgpack.Encoder, items []T, enc1 func(*msgpack.Encoder, *T) error) error {
	if items == nil {
		return enc.EncodeNil()
	}
	if err := enc.EncodeArrayLen(len(items)); err != nil {
		return err
	}
	for i := range items {
		if err := enc1(enc, &items[i]); err != nil {
			return err
		}
	}
	return nil
}

func encodeInts(enc *msgpack.Encoder, v []int) error {
	return encodeSlice(enc, v, func(enc *msgpack.Encoder, i *int) error { return enc.EncodeInt(int64(*i)) })
}

func encodeStrings(enc *msgpack.Encoder, v []string) error {
	return encodeSlice(enc, v, func(enc *msgpack.Encoder, s *string) error { return enc.EncodeString(*s) })
}

func encodeSnapshot(enc *msgpack.Encoder, s *interp.Snapshot) error {
	n := 9 + count(s.Final != "", len(s.StatesToInvoke) > 0, len(s.DataDone) > 0, len(s.History) > 0,
		len(s.EndConfig) > 0, len(s.Internal) > 0, len(s.External) > 0, s.Current != nil, len(s.Delayed) > 0,
		len(s.Vars) > 0, len(s.Invocation) > 0, len(s.Subs) > 0)
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.int("ver", int64(s.Version))
	w.str("id", s.SessionID)
	w.str("doc", s.DocName)
	if w.key("hash") {
		w.err = enc.EncodeBytes(s.DocHash[:])
	}
	w.bool("st", s.Started)
	w.bool("run", s.Running)
	if s.Final != "" {
		w.str("fin", s.Final)
	}
	if w.key("now") {
		w.err = enc.EncodeTime(s.Now)
	}
	w.uint("seq", s.Seq)
	w.ints("cfg", s.Configuration)
	if len(s.StatesToInvoke) > 0 {
		w.ints("inv", s.StatesToInvoke)
	}
	if len(s.DataDone) > 0 {
		w.ints("dd", s.DataDone)
	}
	if len(s.History) > 0 && w.key("hist") {
		w.err = encodeSlice(enc, s.History, encodeHistory)
	}
	if len(s.EndConfig) > 0 {
		w.strs("end", s.EndConfig)
	}
	if len(s.Internal) > 0 && w.key("iq") {
		w.err = encodeSlice(enc, s.Internal, encodeEvent)
	}
	if len(s.External) > 0 && w.key("eq") {
		w.err = encodeSlice(enc, s.External, encodeEvent)
	}
	if s.Current != nil && w.key("cur") {
		w.err = encodeEvent(enc, s.Current)
	}
	if len(s.Delayed) > 0 && w.key("dl") {
		w.err = encodeSlice(enc, s.Delayed, encodeDelayed)
	}
	if len(s.Vars) > 0 && w.key("vars") {
		w.err = encodeSlice(enc, s.Vars, encodeVar)
	}
	if len(s.Invocation) > 0 && w.key("invk") {
		w.err = encodeSlice(enc, s.Invocation, encodeInvoke)
	}
	if len(s.Subs) > 0 {
		w.strs("subs", s.Subs)
	}
	return w.err
}

func encodeHistory(enc *msgpack.Encoder, h *interp.HistoryEntry) error {
	if err := enc.EncodeMapLen(2); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.int("s", int64(h.State))
	w.ints("v", h.States)
	return w.err
}

func encodeDelayed(enc *msgpack.Encoder, d *interp.DelayedSend) error {
	if err := enc.EncodeMapLen(3 + count(d.Target != "", d.Type != "")); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	if w.key("due") {
		w.err = enc.EncodeTime(d.Due)
	}
	w.uint("seq", d.Seq)
	if d.Target != "" {
		w.str("to", d.Target)
	}
	if d.Type != "" {
		w.str("ty", d.Type)
	}
	if w.key("ev") {
		w.err = encodeEvent(enc, &d.Event)
	}
	return w.err
}

func encodeInvoke(enc *msgpack.Encoder, r *interp.InvokeRecord) error {
	n := 2 + count(r.Type != "", r.Done, r.Child != nil, len(r.Source) > 0, r.File != "")
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.int("i", int64(r.Invoke))
	w.str("id", r.InvokeID)
	if r.Type != "" {
		w.str("t", r.Type)
	}
	if r.Done {
		w.bool("d", true)
	}
	if r.Child != nil && w.key("c") {
		w.err = encodeSnapshot(enc, r.Child)
	}
	if len(r.Source) > 0 && w.key("src") {
		w.err = enc.EncodeBytes(r.Source)
	}
	if r.File != "" {
		w.str("f", r.File)
	}
	return w.err
}

// encodeEvent writes the eight fields of an event, all of them, under
// their Go names.
func encodeEvent(enc *msgpack.Encoder, ev *interp.Event) error {
	if err := enc.EncodeMapLen(8); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.str("Name", ev.Name)
	w.uint("Type", uint64(ev.Type))
	w.str("SendID", ev.SendID)
	w.str("Origin", ev.Origin)
	w.str("OriginType", ev.OriginType)
	w.str("InvokeID", ev.InvokeID)
	w.str("Raw", ev.Raw)
	if w.key("Data") {
		w.err = encodeData(enc, ev.Data)
	}
	return w.err
}

func encodeVar(enc *msgpack.Encoder, v *interp.Var) error {
	if v.Encoded != nil {
		// The encoder writes through to its writer: no state to keep.
		_, err := enc.Writer().Write(v.Encoded)
		return err
	}
	return encodeVarFields(enc, v)
}

func encodeVarFields(enc *msgpack.Encoder, v *interp.Var) error {
	if err := enc.EncodeMapLen(2); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.str("n", v.Name)
	if w.key("v") {
		w.err = encodeValue(enc, &v.Value)
	}
	return w.err
}

func encodeValue(enc *msgpack.Encoder, v *interp.Value) error {
	n := 1 + count(v.Bool, v.Float != 0, v.Int != 0, v.Str != "", len(v.Keys) > 0, len(v.Items) > 0)
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.uint("k", uint64(v.Kind))
	if v.Bool {
		w.bool("b", true)
	}
	if v.Float != 0 && w.key("f") {
		w.err = enc.EncodeFloat64(v.Float)
	}
	if v.Int != 0 {
		w.int("i", v.Int)
	}
	if v.Str != "" {
		w.str("s", v.Str)
	}
	if len(v.Keys) > 0 {
		w.strs("ks", v.Keys)
	}
	if len(v.Items) > 0 && w.key("it") {
		w.err = encodeSlice(enc, v.Items, encodeValue)
	}
	return w.err
}
