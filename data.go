package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// Data in and out of sessions: StartOptions.Data gives a session its
// start-up values; Session.Data, Value and Eval read its datamodel
// between two macrosteps, from any goroutine.

// Sentinel errors of session data.
var (
	// ErrInvalidData is wrapped by the error for start-up data (or event
	// data) the datamodel cannot hold: a Go type that is not JSON-like,
	// or a name that is not one of the document's top-level <data> ids.
	// The error names the value's path and Go type.
	ErrInvalidData = errors.New("engine: invalid session data")
	// ErrNoVariable is wrapped by the error of Session.Value for a name
	// that is not a variable of the session's datamodel.
	ErrNoVariable = interp.ErrNoVariable
	// ErrNotReadOnly is wrapped by the error of Session.Eval for an
	// expression that could change the datamodel.
	ErrNotReadOnly = interp.ErrNotReadOnly
)

// startData checks StartOptions.Data against doc and converts its values
// to the datamodel's JSON-like form.
func startData(doc *scxml.Document, data map[string]any) (map[string]any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	ids := make(map[string]bool, len(doc.Root.Data))
	for _, d := range doc.Root.Data {
		ids[d.ID] = true
	}
	out := make(map[string]any, len(data))
	var errs []error
	for _, name := range slices.Sorted(mapKeys(data)) {
		path := "StartOptions.Data[" + strconv.Quote(name) + "]"
		if !ids[name] {
			known := slices.Sorted(mapKeys(ids))
			errs = append(errs, fmt.Errorf("engine: %s: the document %s has no top-level <data id=%q> (it has %q): %w", path, doc.Name, name, known, ErrInvalidData))
			continue
		}
		v, err := jsonLike(data[name], path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = v
	}
	return out, errors.Join(errs...)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// jsonLike returns v in the form the datamodel takes (nil, bool, string,
// numbers, []any, map[string]any, *interp.XML), converting typed slices,
// arrays and maps with string keys and json.Number; any other Go type is
// an error naming path and the type. The path is built only for an
// error: checking an event's data allocates nothing when it is fine.
func jsonLike(v any, path string) (any, error) {
	out, bad := convertData(v)
	if bad != nil {
		return nil, bad.err(path)
	}
	return out, nil
}

// badData is a value convertData refused: its Go type, or a message,
// and the path to it, innermost step first.
type badData struct {
	steps []string
	typ   any
	msg   string
}

func (b *badData) at(step string) *badData {
	b.steps = append(b.steps, step)
	return b
}

func (b *badData) err(root string) error {
	var sb strings.Builder
	sb.WriteString(root)
	for i := len(b.steps) - 1; i >= 0; i-- {
		sb.WriteString(b.steps[i])
	}
	if b.msg != "" {
		return fmt.Errorf("engine: %s: %s: %w", sb.String(), b.msg, ErrInvalidData)
	}
	return fmt.Errorf("engine: %s: Go type %T is not JSON-like (want nil, bool, a number, string, a slice, or a map with string keys): %w", sb.String(), b.typ, ErrInvalidData)
}

func key(k string) string { return "[" + strconv.Quote(k) + "]" }
func index(i int) string  { return "[" + strconv.Itoa(i) + "]" }

func convertData(v any) (any, *badData) {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return v, nil
	case *interp.XML:
		if x == nil {
			return nil, nil
		}
		return v, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, &badData{msg: fmt.Sprintf("json.Number %q: %v", x, err)}
		}
		return f, nil
	case map[string]any:
		// Copied only when a value inside changes: most data is already
		// in this form, and an event's Send should not copy it.
		var out map[string]any
		for k, e := range x {
			c, bad := convertData(e)
			if bad != nil {
				return nil, bad.at(key(k))
			}
			if out == nil && !same(c, e) {
				out = maps.Clone(x)
			}
			if out != nil {
				out[k] = c
			}
		}
		if out == nil {
			return x, nil
		}
		return out, nil
	case []any:
		var out []any
		for i, e := range x {
			c, bad := convertData(e)
			if bad != nil {
				return nil, bad.at(index(i))
			}
			if out == nil && !same(c, e) {
				out = slices.Clone(x)
			}
			if out != nil {
				out[i] = c
			}
		}
		if out == nil {
			return x, nil
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			c, bad := convertData(rv.Index(i).Interface())
			if bad != nil {
				return nil, bad.at(index(i))
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k := it.Key().String()
			c, bad := convertData(it.Value().Interface())
			if bad != nil {
				return nil, bad.at(key(k))
			}
			out[k] = c
		}
		return out, nil
	}
	return nil, &badData{typ: v}
}

// same reports whether jsonLike returned its argument unchanged: the
// same scalar, map or slice.
func same(c, e any) bool {
	switch x := c.(type) {
	case map[string]any:
		y, ok := e.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []any:
		y, ok := e.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	}
	return reflect.TypeOf(c) == reflect.TypeOf(e)
}

// Data returns the session's datamodel: the document's variables (its
// <data> items and the globals its scripts create; not the system
// variables, host objects or functions) as JSON-like Go values (nil, bool,
// int64, float64, string, []any, map[string]any, time.Time for a Date,
// *interp.XML for a DOM node). The null datamodel has none.
//
// It is safe from any goroutine and reads the datamodel between two
// macrosteps: it waits for the one in progress, if any. A hibernated
// session is read from its record, restored for the call: it stays
// hibernated. A session that ended answers with the data it ended with.
func (s *Session) Data() (map[string]any, error) {
	var out map[string]any
	err := s.read(context.Background(), func(is *interp.Session) (err error) {
		out, err = is.Data()
		return err
	})
	return out, err
}

// Value returns one variable of the session's datamodel, as Data would:
// an error wrapping ErrNoVariable when the datamodel has no such variable.
// It is safe from any goroutine, like Data.
func (s *Session) Value(name string) (any, error) {
	var out any
	err := s.read(context.Background(), func(is *interp.Session) (err error) {
		out, err = is.Value(name)
		return err
	})
	return out, err
}

// Eval evaluates expr, an expression in the document's datamodel language
// (ECMAScript, or In('id') for the null datamodel), against the session's
// datamodel between two macrosteps, and returns its value as Data would.
// It is read-only: an expression that could change the datamodel (an
// assignment, ++ or --, delete, a call or new) is refused with an error
// wrapping ErrNotReadOnly, without running. It runs under
// Options.ScriptBudget like the document's own scripts; _event is the
// event of the session's last macrostep. It is safe from any goroutine,
// like Data; ctx bounds the wait for a hibernated session's record.
func (s *Session) Eval(ctx context.Context, expr string) (any, error) {
	var out any
	err := s.read(ctx, func(is *interp.Session) (err error) {
		s.e.watchRead(s, is)
		defer s.e.leave(s)
		out, err = is.EvalReadOnly(expr)
		return err
	})
	return out, err
}

// read runs f on the interpreter session of s between two macrosteps:
// the live one or, for a hibernated session, one restored from its record
// for the call.
func (s *Session) read(ctx context.Context, f func(is *interp.Session) error) error {
	if err := s.e.ready(ctx, "read", s.id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.sess
	if is == nil {
		if !s.hib.Load() {
			return fmt.Errorf("engine: session %s: its record was lost: %w", s.id, ErrNoSession)
		}
		var err error
		if is, err = s.e.peek(ctx, s); err != nil {
			return err
		}
	}
	if err := f(is); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// peek restores the interpreter session of a hibernated session from its
// record without waking it: the engine keeps it hibernated. s.mu is held.
func (e *Engine) peek(ctx context.Context, s *Session) (*interp.Session, error) {
	rec, err := e.opts.Store.Load(ctx, s.id)
	if err == nil && (rec.Seq != s.cp.seq || rec.Node != e.opts.Node) {
		err = fmt.Errorf("its record is checkpoint %d of node %s, this engine wrote checkpoint %d of node %s", rec.Seq, rec.Node, s.cp.seq, e.opts.Node)
	}
	var is *interp.Session
	if err == nil {
		is, err = e.restore(s.m, s.id, rec.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: read hibernated session %s: %w: %w", s.id, ErrWake, err)
	}
	return is, nil
}

// SessionInfo describes one session of the engine (Engine.Sessions).
type SessionInfo struct {
	ID   string
	Type SessionType
	// Persisted says that the session is checkpointed (a voice session
	// of a document without _persist="false", on an engine with a
	// Store).
	Persisted bool
	// Hibernated says that the session is hibernated (Session.Hibernated).
	Hibernated bool
	// Configuration is its active atomic states in document order, as
	// Session.Configuration returns them (for a hibernated session, those
	// it was hibernated in).
	Configuration []string
}

// Sessions lists the engine's running sessions, hibernated ones included,
// sorted by id. Each is described between two of its macrosteps; a
// hibernated one is not woken.
func (e *Engine) Sessions() []SessionInfo {
	e.mu.Lock()
	all := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		all = append(all, s)
	}
	e.mu.Unlock()
	slices.SortFunc(all, func(a, b *Session) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	out := make([]SessionInfo, 0, len(all))
	for _, s := range all {
		info := SessionInfo{ID: s.id, Type: s.typ, Persisted: e.opts.Store != nil && s.persisted()}
		s.mu.Lock()
		switch {
		case s.sess != nil:
			info.Configuration = s.sess.Configuration()
		case s.hib.Load():
			info.Hibernated = true
			if s.hibCfg != nil {
				info.Configuration = slices.Clone(*s.hibCfg)
			}
		}
		s.mu.Unlock()
		out = append(out, info)
	}
	return out
}

// CheckpointResult is the outcome of CheckpointAll for one session.
type CheckpointResult struct {
	ID  string
	Err error // nil when its checkpoint was written
}

// CheckpointAll writes the checkpoint of every persisted session again,
// as Session.Checkpoint does for one: after the store lost its data, or
// after failed writes, so that a switchover now finds every session where
// it stands. Hibernated sessions are woken from their record to write it
// again (one whose record is gone ends, with an error wrapping ErrWake).
// It returns one result per persisted session, sorted by id, and the
// failures joined (nil when every checkpoint was written). Without a
// Store it does nothing.
func (e *Engine) CheckpointAll(ctx context.Context) ([]CheckpointResult, error) {
	if err := e.ready(ctx, "checkpoint all", ""); err != nil {
		return nil, err
	}
	if e.opts.Store == nil {
		return nil, nil
	}
	var errs []error
	var out []CheckpointResult
	for _, info := range e.Sessions() {
		if !info.Persisted {
			continue
		}
		r := CheckpointResult{ID: info.ID}
		if err := ctx.Err(); err != nil {
			r.Err = fmt.Errorf("engine: session %s: %w: %w", info.ID, ErrCheckpoint, err)
		} else if s, err := e.Session(info.ID); err != nil {
			continue // ended meanwhile: nothing to write
		} else {
			r.Err = s.Checkpoint(ctx)
		}
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
