package interp

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/orsgo/engine/internal/bitset"
)

// SnapshotVersion is the version of the snapshot format this build
// writes (package snapshot); it reads the versions from
// OldestSnapshotVersion to SnapshotVersion, all of which decode to the
// same Snapshot, and refuses others instead of guessing. Snapshot.Version
// is the version a snapshot was taken with or read from.
const SnapshotVersion = 2

// OldestSnapshotVersion is the oldest snapshot version this build reads.
const OldestSnapshotVersion = 1

// ErrDocumentMismatch is returned when a snapshot is restored against a
// document other than the one its session ran.
var ErrDocumentMismatch = errors.New("interp: snapshot was taken from another document")

// ErrNotRestorable is returned by Snapshot when a datamodel value cannot
// be restored faithfully; the error names the session and variables.
var ErrNotRestorable = errors.New("interp: value cannot be restored faithfully")

// Snapshot is the complete state of a session between two macrosteps:
// restoring it gives a session that behaves exactly as the original would
// have, without re-running anything that already ran. Fields are exported
// for its encoding (package snapshot); treat them as opaque.
type Snapshot struct {
	Version   int
	SessionID string
	DocName   string
	DocHash   [32]byte

	Started bool
	Running bool
	Final   string
	Now     time.Time
	Seq     uint64

	// State indices in document order.
	Configuration  []int
	StatesToInvoke []int
	DataDone       []int
	History        []HistoryEntry
	EndConfig      []string

	Internal   []Event
	External   []Event
	Current    *Event
	Delayed    []DelayedSend
	Vars       []Var
	Invocation []InvokeRecord
	// Subs are the session's event subscriptions (Session.Subscribe).
	Subs []string
}

// HistoryEntry is the recorded value of one history state.
type HistoryEntry struct {
	State  int
	States []int
}

// DelayedSend is a <send> waiting for its delay, with its absolute due time.
type DelayedSend struct {
	Due    time.Time
	Seq    uint64
	Target string
	Type   string
	Event  Event
}

// InvokeRecord is an active invocation with the snapshot of its child
// session (section 6.4).
type InvokeRecord struct {
	Invoke   int // index in Document.Invokes
	InvokeID string
	Type     string
	Done     bool
	// Child, Source and File are set for SCXML invocations: the child's
	// snapshot and the document it runs (which may have come from an
	// expression, so it cannot be found again from the parent document).
	Child  *Snapshot
	Source []byte
	File   string
}

// appendMembers appends the members of s to dst[:0]; nil for a nil dst
// and an empty s.
func appendMembers(dst []int, s bitset.Set) []int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	if n == 0 {
		return dst[:0]
	}
	out := slices.Grow(dst[:0], n)[:n]
	k := 0
	for wi, w := range s { // word by word: a checkpoint lists every data binding
		for ; w != 0; w &= w - 1 {
			out[k] = wi*64 + bits.TrailingZeros64(w)
			k++
		}
	}
	return out
}

// nilIfEmpty is s, or nil when s is empty: the encoding tells an empty
// configuration (nil, as a snapshot has always held it) from [].
func nilIfEmpty(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return s
}

// appendEvents appends items to dst[:0] (nil for a nil dst and no
// items), dropping the events dst held beyond.
func appendEvents(dst, items []Event) []Event {
	clear(dst[min(len(items), len(dst)):])
	return append(dst[:0], items...)
}

// VarsAppender is implemented by a datamodel that can append its
// variables (as ExportVars returns them) to a slice its caller reuses
// from one snapshot to the next (Session.SnapshotInto).
type VarsAppender interface {
	AppendVars(dst []Var) ([]Var, error)
}

// Snapshot captures the session's state. Call it between macrosteps (after
// Start, Step, Run or Advance returned). It fails with ErrNotRestorable,
// naming the variables, when the datamodel holds values that could not be
// restored faithfully: nothing is silently dropped.
func (s *Session) Snapshot() (*Snapshot, error) {
	snap := &Snapshot{}
	if err := s.SnapshotInto(snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// SnapshotInto is Snapshot into snap, whose slices it reuses (a
// checkpoint that encodes the snapshot and drops it reuses one Snapshot
// from one macrostep to the next, without allocating). Every field of
// snap is overwritten. Slices and values of snap may be shared with the
// session (as Snapshot's are) until it runs again.
func (s *Session) SnapshotInto(snap *Snapshot) error {
	*snap = Snapshot{
		Version:        SnapshotVersion,
		SessionID:      s.id,
		DocName:        s.m.doc.Name,
		DocHash:        s.m.doc.Hash,
		Started:        s.started,
		Running:        s.running,
		Final:          s.finalID,
		Now:            s.now,
		Seq:            s.seq,
		Configuration:  nilIfEmpty(appendMembers(snap.Configuration, s.configuration)),
		StatesToInvoke: appendMembers(snap.StatesToInvoke, s.statesToInvoke),
		DataDone:       appendMembers(snap.DataDone, s.dataDone),
		EndConfig:      s.endConfig,
		Subs:           s.subs,
		Internal:       appendEvents(snap.Internal, s.internalQueue.items[s.internalQueue.head:]),
		External:       appendEvents(snap.External, s.externalQueue.items[s.externalQueue.head:]),
		History:        snap.History[:0],
		Current:        snap.Current,
		Delayed:        snap.Delayed[:0],
		Vars:           snap.Vars[:0],
	}
	for i, hv := range s.historyValue {
		if len(hv) > 0 {
			n := len(snap.History)
			var states []int
			if n < cap(snap.History) {
				states = snap.History[:n+1][n].States[:0]
			}
			snap.History = append(snap.History, HistoryEntry{State: i, States: append(states, hv...)})
		}
	}
	if s.current.Name != "" {
		if snap.Current == nil {
			snap.Current = new(Event)
		}
		*snap.Current = s.current
	} else {
		snap.Current = nil
	}
	snap.Delayed = slices.Grow(snap.Delayed, len(s.delayed))[:len(s.delayed)]
	for i, d := range s.delayed { // in place: a DelayedSend is large
		ds := &snap.Delayed[i]
		ds.Due, ds.Seq, ds.Target, ds.Type, ds.Event = d.Due, d.Seq, d.Msg.Target, d.Msg.Type, d.Msg.Event
	}
	var vars []Var
	var err error
	if a, ok := s.dm.(VarsAppender); ok {
		vars, err = a.AppendVars(snap.Vars)
	} else {
		vars, err = s.dm.ExportVars()
	}
	if err != nil {
		return fmt.Errorf("interp: snapshot of session %s: %w", s.id, err)
	}
	snap.Vars = vars
	inv, err := s.snapshotInvocations()
	if err != nil {
		return err
	}
	snap.Invocation = inv
	return nil
}

// Restore recreates a session from a snapshot taken by Session.Snapshot,
// with a fresh datamodel runtime. Nothing is re-run: no onentry, no <data>
// initialisation, no global script.
func (m *Machine) Restore(snap *Snapshot, opts Options) (*Session, error) {
	if snap == nil {
		return nil, errors.New("interp: restore: nil snapshot")
	}
	if snap.Version < OldestSnapshotVersion || snap.Version > SnapshotVersion {
		return nil, fmt.Errorf("interp: restore session %s: snapshot version %d, this build reads %d to %d",
			snap.SessionID, snap.Version, OldestSnapshotVersion, SnapshotVersion)
	}
	if snap.DocHash != m.doc.Hash {
		return nil, fmt.Errorf("interp: restore session %s: document %q (%x) is not the one the session ran (%q, %x): %w",
			snap.SessionID, m.doc.Name, m.doc.Hash[:6], snap.DocName, snap.DocHash[:6], ErrDocumentMismatch)
	}
	s, err := m.NewSession(snap.SessionID, opts)
	if err != nil {
		return nil, err
	}
	n := len(m.doc.States)
	fill := func(set bitset.Set, idx []int, what string) error {
		for _, i := range idx {
			if i < 0 || i >= n {
				return fmt.Errorf("interp: restore session %s: %s: state index %d out of range", snap.SessionID, what, i)
			}
			set.Add(i)
		}
		return nil
	}
	if err := errors.Join(
		fill(s.configuration, snap.Configuration, "configuration"),
		fill(s.statesToInvoke, snap.StatesToInvoke, "states to invoke"),
		fill(s.dataDone, snap.DataDone, "data binding"),
	); err != nil {
		return nil, err
	}
	for _, h := range snap.History {
		if h.State < 0 || h.State >= n {
			return nil, fmt.Errorf("interp: restore session %s: history state index %d out of range", snap.SessionID, h.State)
		}
		for _, i := range h.States {
			if i < 0 || i >= n {
				return nil, fmt.Errorf("interp: restore session %s: history value index %d out of range", snap.SessionID, i)
			}
		}
		s.historyValue[h.State] = append([]int(nil), h.States...)
	}
	s.started, s.running, s.finalID = snap.Started, snap.Running, snap.Final
	s.now, s.seq, s.endConfig = snap.Now, snap.Seq, snap.EndConfig
	for _, ev := range snap.Internal {
		s.internalQueue.push(ev)
	}
	for _, ev := range snap.External {
		s.externalQueue.push(ev)
	}
	for _, d := range snap.Delayed {
		s.delayed = append(s.delayed, &delayedSend{Due: d.Due, Seq: d.Seq, Msg: Message{Target: d.Target, Type: d.Type, Event: d.Event}})
	}
	if err := s.dm.ImportVars(snap.Vars); err != nil {
		return nil, fmt.Errorf("interp: restore session %s: %w", snap.SessionID, err)
	}
	if snap.Current != nil {
		s.setEvent(*snap.Current)
	}
	s.subs = slices.Clone(snap.Subs)
	slices.Sort(s.subs)
	if err := s.restoreInvocations(snap.Invocation, opts); err != nil {
		return nil, err
	}
	return s, nil
}
