package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	mbits "math/bits"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/orsgo/engine/interp"
)

// decoder reads what the encoders of encode.go write. Unknown keys are
// skipped (a newer writer's optional fields); nil stands for an absent
// map or array.
type decoder struct {
	dec *msgpack.Decoder
	r   *bytes.Reader // what dec reads: the bytes left bound what a length may claim
}

// newDecoder returns a decoder of b on dec (a pooled one), or on a new
// msgpack.Decoder when dec is nil.
func newDecoder(dec *msgpack.Decoder, b []byte) *decoder {
	d := &decoder{dec: dec, r: bytes.NewReader(b)}
	if dec == nil {
		d.dec = msgpack.NewDecoder(d.r)
	} else {
		dec.Reset(d.r)
	}
	return d
}

// items checks that n items, each at least a byte, fit in the bytes
// left, before a slice or map of n is made: hostile lengths are errors,
// not allocations of gigabytes.
func (d *decoder) items(n int) error {
	if n > d.r.Len() {
		return fmt.Errorf("%d items in %d bytes", n, d.r.Len())
	}
	return nil
}

// fields calls field for each key of a map; field must consume the value.
func (d *decoder) fields(what string, field func(key string) error) error {
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for range n {
		k, err := d.dec.DecodeString()
		if err != nil {
			return fmt.Errorf("%s: key: %w", what, err)
		}
		if err := field(k); err != nil {
			return fmt.Errorf("%s.%s: %w", what, k, err)
		}
	}
	return nil
}

// slice reads an array with item; nil is a nil slice.
func slice[T any](d *decoder, item func(*T) error) ([]T, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	if err := d.items(n); err != nil {
		return nil, err
	}
	out := make([]T, n)
	for i := range out {
		if err := item(&out[i]); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return out, nil
}

func (d *decoder) int(p *int) (err error) {
	*p, err = d.dec.DecodeInt()
	return err
}

func (d *decoder) str(p *string) (err error) {
	*p, err = d.dec.DecodeString()
	return err
}

func (d *decoder) ints() ([]int, error) { return slice(d, d.int) }

func (d *decoder) strs() ([]string, error) { return slice(d, d.str) }

// states reads what appendStates wrote: an array of indices or a bitset.
func (d *decoder) states() ([]int, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	if c != msgpcode.Bin8 && c != msgpcode.Bin16 && c != msgpcode.Bin32 {
		return d.ints()
	}
	bits, err := d.dec.DecodeBytes()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, x := range bits {
		n += mbits.OnesCount8(x)
	}
	out := make([]int, 0, n)
	for i, x := range bits {
		for ; x != 0; x &= x - 1 {
			out = append(out, i*8+mbits.TrailingZeros8(x))
		}
	}
	return out, nil
}

// typ reads an I/O processor type: a string, or the code appendType
// wrote for a well-known one.
func (d *decoder) typ(p *string) error {
	c, err := d.dec.PeekCode()
	if err != nil {
		return err
	}
	if !msgpcode.IsFixedNum(c) {
		*p, err = d.dec.DecodeString()
		return err
	}
	switch code, _ := d.dec.DecodeInt(); code {
	case codeSCXMLType:
		*p = interp.SCXMLProcessorType
	case codeBasicHTTPType:
		*p = basicHTTPType
	default:
		return fmt.Errorf("unknown I/O processor type code %d", code)
	}
	return nil
}

// header points at the fields a snapshot and its Summary share, so that
// Decode and Peek read them in one place (headerField), and holds the
// checksum of the session id a version 2 snapshot names its session by.
type header struct {
	version          *int
	id, doc, final   *string
	hash             *[32]byte
	started, running *bool
	cfg, inv, dd     *[]int
	hist             *[]interp.HistoryEntry
	subs             *[]string

	idSum    uint32
	hasIDSum bool
}

// headerField decodes the snapshot field k into h; ok is false when k is
// not one of the fields h points at.
func (d *decoder) headerField(k string, h *header) (ok bool, err error) {
	switch k {
	case "ver":
		*h.version, err = d.dec.DecodeInt()
	case "id":
		*h.id, err = d.dec.DecodeString()
	case "idc":
		h.idSum, err = d.dec.DecodeUint32()
		h.hasIDSum = true
	case "doc":
		*h.doc, err = d.dec.DecodeString()
	case "hash":
		var b []byte
		if b, err = d.dec.DecodeBytes(); err == nil && len(b) != len(h.hash) && b != nil {
			err = fmt.Errorf("%d bytes, want %d", len(b), len(h.hash))
		}
		copy(h.hash[:], b)
	case "st":
		*h.started, err = d.dec.DecodeBool()
	case "run":
		*h.running, err = d.dec.DecodeBool()
	case "fin":
		*h.final, err = d.dec.DecodeString()
	case "cfg":
		*h.cfg, err = d.states()
	case "inv":
		*h.inv, err = d.states()
	case "dd":
		*h.dd, err = d.states()
	case "hist":
		*h.hist, err = slice(d, d.history)
	case "subs":
		*h.subs, err = d.strs()
	default:
		return false, nil
	}
	return true, err
}

// checkHeader checks that a top-level snapshot read for sessionID is of
// a version this build reads and of that session (by its id, or by the
// id's checksum, which makes the id sessionID).
func checkHeader(sessionID string, h *header) error {
	if v := *h.version; v < interp.OldestSnapshotVersion || v > interp.SnapshotVersion {
		return fmt.Errorf("session %s: snapshot version %d, this build reads %d to %d: %w",
			sessionID, v, interp.OldestSnapshotVersion, interp.SnapshotVersion, ErrVersion)
	}
	switch {
	case *h.id != "" || !h.hasIDSum:
		if *h.id != sessionID {
			return fmt.Errorf("session %s: snapshot is of session %q: %w", sessionID, *h.id, ErrCorrupt)
		}
	case h.idSum != idSum(sessionID):
		return fmt.Errorf("session %s: snapshot is of another session (id checksum %08x, want %08x): %w",
			sessionID, h.idSum, idSum(sessionID), ErrCorrupt)
	default:
		*h.id = sessionID
	}
	return nil
}

// snapshot reads a snapshot. own is the session id its events' origin
// code stands for: the id a top-level snapshot is decoded for, or the one
// the interpreter gives a child (Decode and invoke check or complete
// SessionID afterwards).
func (d *decoder) snapshot(own string) (*interp.Snapshot, *header, error) {
	s := &interp.Snapshot{}
	h := &header{version: &s.Version, id: &s.SessionID, doc: &s.DocName, final: &s.Final, hash: &s.DocHash,
		started: &s.Started, running: &s.Running, cfg: &s.Configuration, inv: &s.StatesToInvoke, dd: &s.DataDone,
		hist: &s.History, subs: &s.Subs}
	err := d.fields("snapshot", func(k string) (err error) {
		if ok, err := d.headerField(k, h); ok {
			if k == "id" && err == nil {
				own = s.SessionID
			}
			return err
		}
		switch k {
		case "now":
			s.Now, err = d.dec.DecodeTime()
		case "seq":
			s.Seq, err = d.dec.DecodeUint64()
		case "end":
			s.EndConfig, err = d.strs()
		case "iq":
			s.Internal, err = slice(d, func(ev *interp.Event) error { return d.event(ev, own) })
		case "eq":
			s.External, err = slice(d, func(ev *interp.Event) error { return d.event(ev, own) })
		case "cur":
			if d.nil() {
				return d.dec.DecodeNil()
			}
			s.Current = &interp.Event{}
			err = d.event(s.Current, own)
		case "dl":
			s.Delayed, err = slice(d, func(ds *interp.DelayedSend) error { return d.delayed(ds, own) })
		case "vars":
			s.Vars, err = slice(d, func(v *interp.Var) (err error) { *v, err = d.variable(); return err })
		case "invk":
			s.Invocation, err = slice(d, func(r *interp.InvokeRecord) error { return d.invoke(r, own) })
		default:
			err = d.dec.Skip()
		}
		return err
	})
	return s, h, err
}

// nil reports whether the next value is nil.
func (d *decoder) nil() bool {
	c, err := d.dec.PeekCode()
	return err == nil && c == msgpcode.Nil
}

func (d *decoder) history(h *interp.HistoryEntry) error {
	return d.fields("history", func(k string) (err error) {
		switch k {
		case "s":
			h.State, err = d.dec.DecodeInt()
		case "v":
			h.States, err = d.ints()
		default:
			err = d.dec.Skip()
		}
		return err
	})
}

func (d *decoder) delayed(s *interp.DelayedSend, own string) error {
	return d.fields("delayed send", func(k string) (err error) {
		switch k {
		case "due":
			s.Due, err = d.dec.DecodeTime()
		case "seq":
			s.Seq, err = d.dec.DecodeUint64()
		case "to":
			s.Target, err = d.dec.DecodeString()
		case "ty":
			err = d.typ(&s.Type)
		case "ev":
			err = d.event(&s.Event, own)
		default:
			err = d.dec.Skip()
		}
		return err
	})
}

// invoke reads an invocation of the session parent; a child snapshot
// without an id (version 2) is of the id the interpreter gives it.
func (d *decoder) invoke(r *interp.InvokeRecord, parent string) error {
	err := d.fields("invocation", func(k string) (err error) {
		switch k {
		case "i":
			r.Invoke, err = d.dec.DecodeInt()
		case "id":
			r.InvokeID, err = d.dec.DecodeString()
		case "t":
			err = d.typ(&r.Type)
		case "d":
			r.Done, err = d.dec.DecodeBool()
		case "c":
			if d.nil() {
				return d.dec.DecodeNil()
			}
			if r.InvokeID == "" {
				return errors.New("child snapshot before the invoke id")
			}
			r.Child, _, err = d.snapshot(parent + "." + r.InvokeID)
		case "src":
			r.Source, err = d.dec.DecodeBytes()
		case "f":
			r.File, err = d.dec.DecodeString()
		default:
			err = d.dec.Skip()
		}
		return err
	})
	if err == nil && r.Child != nil && r.Child.SessionID == "" {
		r.Child.SessionID = parent + "." + r.InvokeID
	}
	return err
}

// event reads an event under version 2's keys or version 1's Go field
// names; own is the session id origin code codeOwnOrigin stands for.
func (d *decoder) event(ev *interp.Event, own string) error {
	return d.fields("event", func(k string) (err error) {
		switch k {
		case "n", "Name":
			ev.Name, err = d.dec.DecodeString()
		case "t", "Type":
			var t uint8
			t, err = d.dec.DecodeUint8()
			ev.Type = interp.EventType(t)
		case "s", "SendID":
			ev.SendID, err = d.dec.DecodeString()
		case "o", "Origin":
			err = d.origin(&ev.Origin, own)
		case "y", "OriginType":
			err = d.typ(&ev.OriginType)
		case "i", "InvokeID":
			ev.InvokeID, err = d.dec.DecodeString()
		case "r", "Raw":
			ev.Raw, err = d.dec.DecodeString()
		case "d", "Data":
			ev.Data, err = d.data()
		default:
			err = d.dec.Skip()
		}
		return err
	})
}

// origin reads an event's origin: a string, or codeOwnOrigin for the
// session own.
func (d *decoder) origin(p *string, own string) error {
	c, err := d.dec.PeekCode()
	if err != nil {
		return err
	}
	if !msgpcode.IsFixedNum(c) {
		*p, err = d.dec.DecodeString()
		return err
	}
	if code, _ := d.dec.DecodeInt(); code != codeOwnOrigin || own == "" {
		return fmt.Errorf("unknown origin code %d", code)
	}
	*p = scxmlOrigin + own
	return nil
}

func (d *decoder) variable() (v interp.Var, err error) {
	err = d.fields("variable", func(k string) (err error) {
		switch k {
		case "n":
			v.Name, err = d.dec.DecodeString()
		case "v":
			err = d.value(&v.Value)
		default:
			err = d.dec.Skip()
		}
		return err
	})
	return v, err
}

func (d *decoder) value(v *interp.Value) error {
	return d.fields("value", func(k string) (err error) {
		switch k {
		case "k":
			var kind uint8
			kind, err = d.dec.DecodeUint8()
			v.Kind = interp.ValueKind(kind)
		case "b":
			v.Bool, err = d.dec.DecodeBool()
		case "f":
			v.Float, err = d.dec.DecodeFloat64()
		case "i":
			v.Int, err = d.dec.DecodeInt64()
		case "s":
			v.Str, err = d.dec.DecodeString()
		case "ks":
			v.Keys, err = d.strs()
		case "it":
			v.Items, err = slice(d, d.value)
		default:
			err = d.dec.Skip()
		}
		return err
	})
}
