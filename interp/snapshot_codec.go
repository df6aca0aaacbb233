package interp

import "github.com/vmihailenco/msgpack/v5"

// Hand-written encoders for the types every checkpoint writes. They write
// what msgpack's struct encoder writes from the tags (a map keyed by the
// tag names, omitempty fields left out when empty), which is also what the
// decoder reads; the struct encoder built a list of the non-empty fields
// for every value it encoded, a quarter of a snapshot's encoding time.
// persist's tests check that a decoded snapshot encodes to the same bytes.

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

func (w *fieldWriter) any(k string, v any) {
	if w.key(k) {
		w.err = w.enc.Encode(v)
	}
}

// encodeArray writes items with their own encoders.
func encodeArray[T any, P interface {
	*T
	msgpack.CustomEncoder
}](enc *msgpack.Encoder, items []T) error {
	if err := enc.EncodeArrayLen(len(items)); err != nil {
		return err
	}
	for i := range items {
		if err := P(&items[i]).EncodeMsgpack(enc); err != nil {
			return err
		}
	}
	return nil
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

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s *Snapshot) EncodeMsgpack(enc *msgpack.Encoder) error {
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
	w.any("cfg", s.Configuration)
	if len(s.StatesToInvoke) > 0 {
		w.any("inv", s.StatesToInvoke)
	}
	if len(s.DataDone) > 0 {
		w.any("dd", s.DataDone)
	}
	if len(s.History) > 0 {
		w.any("hist", s.History)
	}
	if len(s.EndConfig) > 0 {
		w.any("end", s.EndConfig)
	}
	if len(s.Internal) > 0 {
		w.any("iq", s.Internal)
	}
	if len(s.External) > 0 {
		w.any("eq", s.External)
	}
	if s.Current != nil {
		w.any("cur", s.Current)
	}
	if len(s.Delayed) > 0 && w.key("dl") {
		w.err = encodeArray(enc, s.Delayed)
	}
	if len(s.Vars) > 0 && w.key("vars") {
		w.err = encodeArray(enc, s.Vars)
	}
	if len(s.Invocation) > 0 {
		w.any("invk", s.Invocation)
	}
	if len(s.Subs) > 0 {
		w.any("subs", s.Subs)
	}
	return w.err
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (d *DelayedSend) EncodeMsgpack(enc *msgpack.Encoder) error {
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
	w.any("ev", &d.Event)
	return w.err
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (v *Value) EncodeMsgpack(enc *msgpack.Encoder) error {
	n := 1 + count(v.Bool, v.Float != 0, v.Int != 0, v.Str != "", len(v.Keys) > 0, len(v.Items) > 0)
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	w := fieldWriter{enc: enc}
	w.uint("k", uint64(v.Kind))
	if v.Bool {
		w.bool("b", true)
	}
	if v.Float != 0 {
		if w.key("f") {
			w.err = enc.EncodeFloat64(v.Float)
		}
	}
	if v.Int != 0 {
		w.int("i", v.Int)
	}
	if v.Str != "" {
		w.str("s", v.Str)
	}
	if len(v.Keys) > 0 && w.key("ks") {
		if w.err = enc.EncodeArrayLen(len(v.Keys)); w.err == nil {
			for _, k := range v.Keys {
				if w.err = enc.EncodeString(k); w.err != nil {
					break
				}
			}
		}
	}
	if len(v.Items) > 0 && w.key("it") {
		w.err = encodeArray(enc, v.Items)
	}
	return w.err
}
