package snapshot

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/orsgo/engine/interp"
)

// decoder reads what the encoders of encode.go write. Unknown keys are
// skipped (a newer writer's optional fields); nil stands for an absent
// map or array.
type decoder struct {
	dec *msgpack.Decoder
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

// header points at the fields a snapshot and its Summary share, so that
// Decode and Peek read them in one place (headerField).
type header struct {
	version          *int
	id, doc, final   *string
	hash             *[32]byte
	started, running *bool
	cfg, inv, dd     *[]int
	hist             *[]interp.HistoryEntry
	subs             *[]string
}

// headerField decodes the snapshot field k into h; ok is false when k is
// not one of the fields h points at.
func (d *decoder) headerField(k string, h *header) (ok bool, err error) {
	switch k {
	case "ver":
		*h.version, err = d.dec.DecodeInt()
	case "id":
		*h.id, err = d.dec.DecodeString()
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
		*h.cfg, err = d.ints()
	case "inv":
		*h.inv, err = d.ints()
	case "dd":
		*h.dd, err = d.ints()
	case "hist":
		*h.hist, err = slice(d, d.history)
	case "subs":
		*h.subs, err = d.strs()
	default:
		return false, nil
	}
	return true, err
}

// checkHeader checks that a snapshot read for sessionID is of this
// version and of that session.
func checkHeader(sessionID string, version int, id string) error {
	if version != interp.SnapshotVersion {
		return fmt.Errorf("session %s: snapshot version %d, this build reads %d: %w", sessionID, version, interp.SnapshotVersion, ErrVersion)
	}
	if id != sessionID {
		return fmt.Errorf("session %s: snapshot is of session %q: %w", sessionID, id, ErrCorrupt)
	}
	return nil
}

func (d *decoder) snapshot() (*interp.Snapshot, error) {
	s := &interp.Snapshot{}
	h := header{version: &s.Version, id: &s.SessionID, doc: &s.DocName, final: &s.Final, hash: &s.DocHash,
		started: &s.Started, running: &s.Running, cfg: &s.Configuration, inv: &s.StatesToInvoke, dd: &s.DataDone,
		hist: &s.History, subs: &s.Subs}
	err := d.fields("snapshot", func(k string) (err error) {
		if ok, err := d.headerField(k, &h); ok {
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
			s.Internal, err = slice(d, d.event)
		case "eq":
			s.External, err = slice(d, d.event)
		case "cur":
			if d.nil() {
				return d.dec.DecodeNil()
			}
			s.Current = &interp.Event{}
			err = d.event(s.Current)
		case "dl":
			s.Delayed, err = slice(d, d.delayed)
		case "vars":
			s.Vars, err = slice(d, func(v *interp.Var) (err error) { *v, err = d.variable(); return err })
		case "invk":
			s.Invocation, err = slice(d, d.invoke)
		default:
			err = d.dec.Skip()
		}
		return err
	})
	return s, err
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

func (d *decoder) delayed(s *interp.DelayedSend) error {
	return d.fields("delayed send", func(k string) (err error) {
		switch k {
		case "due":
			s.Due, err = d.dec.DecodeTime()
		case "seq":
			s.Seq, err = d.dec.DecodeUint64()
		case "to":
			s.Target, err = d.dec.DecodeString()
		case "ty":
			s.Type, err = d.dec.DecodeString()
		case "ev":
			err = d.event(&s.Event)
		default:
			err = d.dec.Skip()
		}
		return err
	})
}

func (d *decoder) invoke(r *interp.InvokeRecord) error {
	return d.fields("invocation", func(k string) (err error) {
		switch k {
		case "i":
			r.Invoke, err = d.dec.DecodeInt()
		case "id":
			r.InvokeID, err = d.dec.DecodeString()
		case "t":
			r.Type, err = d.dec.DecodeString()
		case "d":
			r.Done, err = d.dec.DecodeBool()
		case "c":
			if d.nil() {
				return d.dec.DecodeNil()
			}
			r.Child, err = d.snapshot()
		case "src":
			r.Source, err = d.dec.DecodeBytes()
		case "f":
			r.File, err = d.dec.DecodeString()
		default:
			err = d.dec.Skip()
		}
		return err
	})
}

func (d *decoder) event(ev *interp.Event) error {
	return d.fields("event", func(k string) (err error) {
		switch k {
		case "Name":
			ev.Name, err = d.dec.DecodeString()
		case "Type":
			var t uint8
			t, err = d.dec.DecodeUint8()
			ev.Type = interp.EventType(t)
		case "SendID":
			ev.SendID, err = d.dec.DecodeString()
		case "Origin":
			ev.Origin, err = d.dec.DecodeString()
		case "OriginType":
			ev.OriginType, err = d.dec.DecodeString()
		case "InvokeID":
			ev.InvokeID, err = d.dec.DecodeString()
		case "Raw":
			ev.Raw, err = d.dec.DecodeString()
		case "Data":
			ev.Data, err = d.data()
		default:
			err = d.dec.Skip()
		}
		return err
	})
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
