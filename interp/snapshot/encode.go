package snapshot

import (
	"encoding/binary"

	"github.com/orsgo/engine/internal/msgp"
	"github.com/orsgo/engine/interp"
)

// Hand-written encoders of format version 2, appending to a byte slice
// (internal/msgp); the decoders of decode.go read them and version 1.
// Keys are written as constants (a key's msgpack string header and bytes
// in one append). Only event data of Go types outside the JSON-like ones
// can fail to encode (data.go).
//
// Version 2 differs from version 1 (see the package doc) only where
// version 1 repeated what the reader already knows: the top-level
// snapshot names its session by a checksum of the id the caller decodes
// it for, a child's id is left out when it is the one the interpreter
// gives it, events have one-letter keys with empty fields left out, the
// well-known I/O processor types and the session's own origin are small
// codes, false flags are left out, and a list of state indices is a
// bitset when that is shorter. Variables are written exactly as in
// version 1 (the datamodel writes their bytes itself).

func count(present ...bool) int {
	n := 0
	for _, p := range present {
		if p {
			n++
		}
	}
	return n
}

// Codes of origin types and delayed sends' types (the two I/O processors
// of the SCXML recommendation, appendix C), written as a positive fixint
// in place of the URI.
const (
	codeSCXMLType     = 1
	codeBasicHTTPType = 2
	// basicHTTPType is basichttp.Type (which imports the interpreter).
	basicHTTPType = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"
	// codeOwnOrigin is the origin "#_scxml_<id>" of the snapshot's own
	// session: what every <send> it makes carries.
	codeOwnOrigin = 1
	scxmlOrigin   = "#_scxml_"
)

// idSum is the checksum a top-level snapshot names its session by:
// FNV-1a's step with its 64-bit prime over the id's length and then its
// 8-byte little-endian words (the last one padded with zeros), mixed and
// folded to 32 bits. A word at a time: a byte-wise hash of a 40-byte id
// cost a checkpoint a third of the encoding.
func idSum(id string) uint32 {
	const prime = 1099511628211
	h := (14695981039346656037 ^ uint64(len(id))) * prime
	for ; len(id) >= 8; id = id[8:] {
		w := uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
			uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
		h = (h ^ w) * prime
	}
	if len(id) > 0 {
		var w uint64
		for i := len(id) - 1; i >= 0; i-- {
			w = w<<8 | uint64(id[i])
		}
		h = (h ^ w) * prime
	}
	h = (h ^ h>>29) * prime
	return uint32(h ^ h>>32)
}

// appendType writes an I/O processor type, a code for the well-known ones.
func appendType(b []byte, t string) []byte {
	switch t {
	case interp.SCXMLProcessorType:
		return append(b, codeSCXMLType)
	case basicHTTPType:
		return append(b, codeBasicHTTPType)
	}
	return msgp.AppendStr(b, t)
}

// isOwnOrigin reports whether o is "#_scxml_"+id, without building it.
func isOwnOrigin(o, id string) bool {
	return len(o) == len(scxmlOrigin)+len(id) && o[len(scxmlOrigin):] == id && o[:len(scxmlOrigin)] == scxmlOrigin
}

// appendInts writes v; a nil slice is nil.
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

// appendStates writes a list of state indices (ascending, as a snapshot
// holds them) as appendInts does, or as a bitset (bin: bit i%8 of byte
// i/8 is state i) when that is shorter: a configuration or the data
// bindings of a large document.
func appendStates(b []byte, v []int) []byte {
	if len(v) == 0 {
		return appendInts(b, v)
	}
	arr, prev := 3, -1 // array16 header at most
	for _, i := range v {
		if i <= prev || i >= 255*8 {
			return appendInts(b, v) // not a set a bitset can hold
		}
		prev = i
		switch {
		case i < 128:
			arr++
		case i < 256:
			arr += 2
		default:
			arr += 3
		}
	}
	if len(v) < 16 {
		arr -= 2
	}
	n := prev/8 + 1
	if n+2 >= arr {
		return appendInts(b, v)
	}
	b = append(b, 0xc4, byte(n))
	// v ascends: each byte is made in a register and written once.
	var cur byte
	at := 0
	for _, i := range v {
		for ; at < i>>3; at++ {
			b, cur = append(b, cur), 0
		}
		cur |= 1 << (uint(i) & 7)
	}
	return append(b, cur)
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

// appendEvents writes items; a nil slice is nil.
func appendEvents(b []byte, items []interp.Event, own string) ([]byte, error) {
	if items == nil {
		return msgp.AppendNil(b), nil
	}
	b = msgp.AppendArrayLen(b, len(items))
	for i := range items {
		var err error
		if b, err = appendEvent(b, &items[i], own); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendSnapshot writes s: a top-level snapshot (top) with its
// version and the checksum of its id (its reader knows the id it decodes
// it for), the snapshot of a child of session parent invoked as
// invokeID with its id only when it is not the one the interpreter gives
// it.
func appendSnapshot(b []byte, s *interp.Snapshot, top bool, parent, invokeID string) ([]byte, error) {
	ownID := top || isChildID(s.SessionID, parent, invokeID)
	// doc, hash, now, seq and cfg always; ver and idc at the top.
	n := 5 + count(top, top, !ownID, s.Started, s.Running, s.Final != "", len(s.StatesToInvoke) > 0,
		len(s.DataDone) > 0, len(s.History) > 0, len(s.EndConfig) > 0, len(s.Internal) > 0, len(s.External) > 0,
		s.Current != nil, len(s.Delayed) > 0, len(s.Vars) > 0, len(s.Invocation) > 0, len(s.Subs) > 0)
	b = msgp.AppendMapLen(b, n)
	if top {
		b = append(b, "\xa3ver"...)
		b = msgp.AppendInt(b, interp.SnapshotVersion)
		b = binary.BigEndian.AppendUint32(append(b, "\xa3idc\xce"...), idSum(s.SessionID))
	} else if !ownID {
		b = msgp.AppendStr(append(b, "\xa2id"...), s.SessionID)
	}
	b = msgp.AppendStr(append(b, "\xa3doc"...), s.DocName)
	b = append(b, "\xa4hash\xc4\x20"...)
	b = append(b, s.DocHash[:]...)
	if s.Started {
		b = append(b, "\xa2st\xc3"...)
	}
	if s.Running {
		b = append(b, "\xa3run\xc3"...)
	}
	if s.Final != "" {
		b = msgp.AppendStr(append(b, "\xa3fin"...), s.Final)
	}
	b = msgp.AppendTime(append(b, "\xa3now"...), s.Now)
	b = msgp.AppendUint(append(b, "\xa3seq"...), s.Seq)
	b = appendStates(append(b, "\xa3cfg"...), s.Configuration)
	if len(s.StatesToInvoke) > 0 {
		b = appendStates(append(b, "\xa3inv"...), s.StatesToInvoke)
	}
	if len(s.DataDone) > 0 {
		b = appendStates(append(b, "\xa2dd"...), s.DataDone)
	}
	if len(s.History) > 0 {
		b = msgp.AppendArrayLen(append(b, "\xa4hist"...), len(s.History))
		for i := range s.History {
			b = appendHistory(b, &s.History[i])
		}
	}
	if len(s.EndConfig) > 0 {
		b = appendStrings(append(b, "\xa3end"...), s.EndConfig)
	}
	var err error
	if len(s.Internal) > 0 {
		if b, err = appendEvents(append(b, "\xa2iq"...), s.Internal, s.SessionID); err != nil {
			return b, err
		}
	}
	if len(s.External) > 0 {
		if b, err = appendEvents(append(b, "\xa2eq"...), s.External, s.SessionID); err != nil {
			return b, err
		}
	}
	if s.Current != nil {
		if b, err = appendEvent(append(b, "\xa3cur"...), s.Current, s.SessionID); err != nil {
			return b, err
		}
	}
	if len(s.Delayed) > 0 {
		b = msgp.AppendArrayLen(append(b, "\xa2dl"...), len(s.Delayed))
		for i := range s.Delayed {
			if b, err = appendDelayed(b, &s.Delayed[i], s.SessionID); err != nil {
				return b, err
			}
		}
	}
	if len(s.Vars) > 0 {
		b = msgp.AppendArrayLen(append(b, "\xa4vars"...), len(s.Vars))
		for i := range s.Vars {
			b = appendVar(b, &s.Vars[i])
		}
	}
	if len(s.Invocation) > 0 {
		b = msgp.AppendArrayLen(append(b, "\xa4invk"...), len(s.Invocation))
		for i := range s.Invocation {
			if b, err = appendInvoke(b, &s.Invocation[i], s.SessionID); err != nil {
				return b, err
			}
		}
	}
	if len(s.Subs) > 0 {
		b = appendStrings(append(b, "\xa4subs"...), s.Subs)
	}
	return b, nil
}

func appendHistory(b []byte, h *interp.HistoryEntry) []byte {
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendInt(append(b, "\xa1s"...), int64(h.State))
	return appendStates(append(b, "\xa1v"...), h.States)
}

func appendDelayed(b []byte, d *interp.DelayedSend, own string) ([]byte, error) {
	b = msgp.AppendMapLen(b, 3+count(d.Target != "", d.Type != ""))
	b = msgp.AppendTime(append(b, "\xa3due"...), d.Due)
	b = msgp.AppendUint(append(b, "\xa3seq"...), d.Seq)
	if d.Target != "" {
		b = msgp.AppendStr(append(b, "\xa2to"...), d.Target)
	}
	if d.Type != "" {
		b = appendType(append(b, "\xa2ty"...), d.Type)
	}
	return appendEvent(append(b, "\xa2ev"...), &d.Event, own)
}

// isChildID reports whether id is the one the interpreter gives the
// child of session parent invoked as invokeID: parent.invokeID.
func isChildID(id, parent, invokeID string) bool {
	return len(id) == len(parent)+1+len(invokeID) && id[len(parent)] == '.' &&
		id[:len(parent)] == parent && id[len(parent)+1:] == invokeID
}

func appendInvoke(b []byte, r *interp.InvokeRecord, parent string) ([]byte, error) {
	n := 2 + count(r.Type != "", r.Done, r.Child != nil, len(r.Source) > 0, r.File != "")
	b = msgp.AppendMapLen(b, n)
	b = msgp.AppendInt(append(b, "\xa1i"...), int64(r.Invoke))
	b = msgp.AppendStr(append(b, "\xa2id"...), r.InvokeID)
	if r.Type != "" {
		b = appendType(append(b, "\xa1t"...), r.Type)
	}
	if r.Done {
		b = append(b, "\xa1d\xc3"...)
	}
	if r.Child != nil {
		var err error
		if b, err = appendSnapshot(append(b, "\xa1c"...), r.Child, false, parent, r.InvokeID); err != nil {
			return b, err
		}
	}
	if len(r.Source) > 0 {
		b = msgp.AppendBin(append(b, "\xa3src"...), r.Source)
	}
	if r.File != "" {
		b = msgp.AppendStr(append(b, "\xa1f"...), r.File)
	}
	return b, nil
}

// appendEvent writes ev with one-letter keys, its empty fields left out:
// n name, t type, s sendid, o origin, y origintype, i invokeid, r raw,
// d data. own is the id of the snapshot's session.
func appendEvent(b []byte, ev *interp.Event, own string) ([]byte, error) {
	b = msgp.AppendMapLen(b, 1+count(ev.Type != 0, ev.SendID != "", ev.Origin != "", ev.OriginType != "",
		ev.InvokeID != "", ev.Raw != "", ev.Data != nil))
	b = msgp.AppendStr(append(b, "\xa1n"...), ev.Name)
	if ev.Type != 0 {
		b = msgp.AppendUint(append(b, "\xa1t"...), uint64(ev.Type))
	}
	if ev.SendID != "" {
		b = msgp.AppendStr(append(b, "\xa1s"...), ev.SendID)
	}
	if ev.Origin != "" {
		b = append(b, "\xa1o"...)
		if isOwnOrigin(ev.Origin, own) {
			b = append(b, codeOwnOrigin)
		} else {
			b = msgp.AppendStr(b, ev.Origin)
		}
	}
	if ev.OriginType != "" {
		b = appendType(append(b, "\xa1y"...), ev.OriginType)
	}
	if ev.InvokeID != "" {
		b = msgp.AppendStr(append(b, "\xa1i"...), ev.InvokeID)
	}
	if ev.Raw != "" {
		b = msgp.AppendStr(append(b, "\xa1r"...), ev.Raw)
	}
	if ev.Data == nil {
		return b, nil
	}
	return appendData(append(b, "\xa1d"...), ev.Data)
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
