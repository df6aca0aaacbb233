package engine

import (
	"context"

	"github.com/orsgo/engine/interp"
)

// SessionState is what Session.State reports: everything an operator's
// query shows about one session, read between two of its macrosteps.
type SessionState struct {
	ID   string
	Type SessionType
	// Node is the node running it (this engine's).
	Node string
	// Running is false once the session ended.
	Running bool
	// Persisted, Hibernated: see SessionInfo.
	Persisted, Hibernated bool
	// Configuration is its active atomic states; Active every active
	// state, compound and parallel ones included; both in document order.
	Configuration, Active []string
	// Data is its datamodel, as Session.Data returns it.
	Data map[string]any
	// Delayed are its delayed sends not yet delivered, in delivery order.
	Delayed []interp.DelayedSend
	// Children are the ids of its running invoked SCXML sessions.
	Children []string
	// Seq is the number of its last checkpoint written (0 if none).
	Seq uint64
}

// State describes the session between two macrosteps (waiting for the one
// in progress). It is safe from any goroutine; a hibernated session is
// read from its record and stays hibernated.
func (s *Session) State(ctx context.Context) (SessionState, error) {
	st := SessionState{ID: s.id, Type: s.typ, Node: s.e.opts.Node, Persisted: s.e.opts.Store != nil && s.persisted()}
	err := s.read(ctx, func(is *interp.Session) (err error) {
		st.Running = is.Running()
		st.Hibernated = s.hib.Load()
		st.Configuration = is.Configuration()
		st.Active = is.ActiveStates()
		st.Delayed = is.DelayedSends()
		for _, c := range is.AppendChildren(nil) {
			st.Children = append(st.Children, c.ID())
		}
		st.Seq = s.cp.seq
		st.Data, err = is.Data()
		return err
	})
	return st, err
}
