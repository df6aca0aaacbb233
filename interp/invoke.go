package interp

import (
	"fmt"

	"github.com/orsgo/engine/scxml"
)

// runInvokes starts the invocations of the states entered during the
// macrostep that are still active, in entry order (mainEventLoop).
func (s *Session) runInvokes() {
	for i := s.statesToInvoke.next(0); i >= 0; i = s.statesToInvoke.next(i + 1) {
		for _, inv := range s.m.doc.States[i].Invokes {
			s.invoke(inv)
		}
	}
	s.statesToInvoke.clear()
}

func (s *Session) invoke(inv *scxml.Invoke) {
	s.execError(fmt.Errorf("%s:%s: <invoke> is not supported yet", s.m.doc.File, inv.Pos))
}

func (s *Session) cancelInvokes(st *scxml.State)         {}
func (s *Session) applyFinalizeAndAutoforward(ev *Event) {}
func (s *Session) deliverInvoke(msg *Message) bool       { return false }

func (s *Session) snapshotInvocations() ([]InvokeRecord, error) { return nil, nil }
func (s *Session) restoreInvocations(recs []InvokeRecord, opts Options) error {
	return nil
}
