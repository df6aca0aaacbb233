package engine

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrRecordTooLarge is wrapped (with ErrCheckpoint) by the error of a
// call whose checkpoint exceeds Options.MaxRecordSize.
var ErrRecordTooLarge = errors.New("engine: checkpoint larger than MaxRecordSize")

// DefaultMaxRecordSize is the default Options.MaxRecordSize.
const DefaultMaxRecordSize = 32 << 20

// NoRecordLimit, as Options.MaxRecordSize, disables the limit.
const NoRecordLimit = -1

func (e *Engine) maxRecord() int {
	switch e.opts.MaxRecordSize {
	case 0:
		return DefaultMaxRecordSize
	case NoRecordLimit:
		return 0
	}
	return e.opts.MaxRecordSize
}

// tooLarge makes the error for a checkpoint of size bytes, naming the
// largest parts of the session's state. It runs only when the limit is
// exceeded: it snapshots the session again (cheap: incremental) and
// encodes each part on its own. s.mu held.
func (e *Engine) tooLarge(s *Session, size, max int) error {
	type part struct {
		name string
		size int
	}
	var parts []part
	add := func(name string, v any) {
		if b, err := msgpack.Marshal(v); err == nil {
			parts = append(parts, part{name, len(b)})
		}
	}
	if snap, err := s.sess.Snapshot(); err == nil {
		for i := range snap.Vars {
			add("variable "+snap.Vars[i].Name, &snap.Vars[i])
		}
		if snap.Current != nil {
			add("_event ("+snap.Current.Name+")", snap.Current)
		}
		for i := range snap.External {
			add("queued event "+snap.External[i].Name, &snap.External[i])
		}
		for i := range snap.Delayed {
			add("delayed send "+snap.Delayed[i].Event.Name, &snap.Delayed[i])
		}
		for i := range snap.Invocation {
			add("invocation "+snap.Invocation[i].InvokeID, &snap.Invocation[i])
		}
	}
	slices.SortStableFunc(parts, func(a, b part) int { return cmp.Compare(b.size, a.size) })
	var list []string
	for _, p := range parts[:min(len(parts), 3)] {
		list = append(list, fmt.Sprintf("%s %s", p.name, byteSize(p.size)))
	}
	return fmt.Errorf("record of %s exceeds MaxRecordSize %s (largest: %s): %w", byteSize(size), byteSize(max), strings.Join(list, ", "), ErrRecordTooLarge)
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
