package interp

import (
	"fmt"

	"github.com/orsgo/engine/internal/bitset"
	"github.com/orsgo/engine/scxml"
)

// This file follows Appendix D of the SCXML Recommendation ("Algorithm for
// SCXML Interpretation") procedure by procedure, under the same names, so
// the two can be read side by side. Sets of states are bitsets in document
// order (see bitset.Set), which makes entryOrder ascending and exitOrder
// descending iteration.

// interpret is procedure interpret(doc) without its final call to
// mainEventLoop, which the caller drives (Start, Step).
func (s *Session) interpret() {
	doc := s.m.doc
	s.running = true
	if doc.Binding == scxml.Early {
		// Early binding: every <data> of the document, in document order.
		for _, st := range doc.States {
			s.initializeDatamodel(st)
		}
	} else {
		// Late binding creates every variable now and assigns values on
		// first entry (section 5.3.3); the root counts as entered now.
		for _, st := range doc.States[1:] {
			for _, d := range st.Data {
				if err := s.dm.DeclareData(d); err != nil {
					s.execError(err)
				}
			}
		}
		s.initializeDatamodel(doc.Root)
	}
	s.executeGlobalScriptElement()
	s.enterStates([]*scxml.Transition{doc.Root.Initial})
}

func (s *Session) initializeDatamodel(st *scxml.State) {
	s.dataDone.Add(st.Index)
	for _, d := range st.Data {
		var err error
		if v, ok := s.params[d.ID]; ok && st.Kind == scxml.KindRoot {
			err = s.dm.SetData(d, v)
		} else {
			err = s.dm.InitData(d)
		}
		if err != nil {
			s.execError(err)
		}
	}
}

func (s *Session) executeGlobalScriptElement() {
	if sc := s.m.doc.Root.Script; sc != nil {
		if err := s.dm.Script(sc); err != nil {
			s.execError(err)
		}
	}
}

// completeMacrostep is the part of mainEventLoop that runs between two
// external events: take eventless transitions and internal events until
// none is left, run the invokes of the states entered, and repeat while
// invoking raised internal events. It ends with exitInterpreter when the
// session stops running.
//
// Appendix D selects eventless transitions again after every internal
// event, and so does this loop, with one exception that keeps section
// 3.13's promise that a macrostep ends once the internal queue holds
// nothing that enables a transition: when the last eventless selection
// raised errors (a cond that throws), they are selected again only after
// a microstep. Otherwise such a cond would spin for ever without a
// microstep: the error.execution it queues enables nothing, the cond is
// evaluated again and fails again, as the reference interpreters avoid.
// Conds that read _event still see every internal event. Every loop is
// bounded: microsteps and internal events dequeued by MaxMicrosteps each
// (events raised while selecting transitions for events, such as a cond
// on "*" that throws, would otherwise spin too).
func (s *Session) completeMacrostep() error {
	microsteps, dequeued := 0, 0
	for s.running {
		macrostepDone := false
		eventless := true        // select eventless transitions next
		eventlessFailed := false // the last selection raised errors
		for s.running && !macrostepDone {
			var enabled []*scxml.Transition
			if eventless {
				queued := s.internalQueue.len()
				enabled = s.selectEventlessTransitions()
				eventless, eventlessFailed = false, s.internalQueue.len() > queued
			}
			if len(enabled) == 0 {
				if s.internalQueue.len() == 0 {
					macrostepDone = true
				} else {
					if dequeued++; dequeued > s.opts.MaxMicrosteps {
						return fmt.Errorf("interp: session %s: more than %d internal events in one macrostep: %w", s.id, s.opts.MaxMicrosteps, ErrLivelock)
					}
					ev, _ := s.internalQueue.pop()
					s.setEvent(ev)
					enabled = s.selectTransitions(&s.current)
					eventless = !eventlessFailed
				}
			}
			if len(enabled) > 0 {
				s.microstep(enabled)
				eventless = true
				if microsteps++; microsteps > s.opts.MaxMicrosteps {
					return fmt.Errorf("interp: session %s: more than %d microsteps: %w", s.id, s.opts.MaxMicrosteps, ErrLivelock)
				}
			}
		}
		if !s.running {
			break
		}
		s.runInvokes()
		if s.internalQueue.len() == 0 {
			break
		}
	}
	if !s.running {
		s.exitInterpreter()
	}
	return nil
}

// processExternalEvent is the part of mainEventLoop after the blocking
// dequeue of an external event.
func (s *Session) processExternalEvent(ev Event) {
	s.setEvent(ev)
	s.applyFinalizeAndAutoforward(&s.current)
	enabled := s.selectTransitions(&s.current)
	if len(enabled) > 0 {
		s.microstep(enabled)
	}
}

func (s *Session) setEvent(ev Event) {
	s.current = ev
	if s.m.readsEvent {
		s.dm.SetEvent(&s.current)
	}
}

// exitInterpreter exits all active states in exit order; a top-level
// final state reached makes the session done (returnDoneEvent).
func (s *Session) exitInterpreter() {
	if s.endConfig == nil {
		s.endConfig = s.atomicIDs()
		if s.endConfig == nil {
			s.endConfig = []string{}
		}
	}
	var done *Event
	for i := s.configuration.Prev(len(s.m.doc.States) - 1); i >= 0; i = s.configuration.Prev(i - 1) {
		st := s.m.doc.States[i]
		s.executeBlocks(st.OnExit)
		s.cancelInvokes(st)
		s.configuration.Del(i)
		if st.Kind == scxml.KindFinal && st.Parent.Kind == scxml.KindRoot && s.finalID != "" {
			// returnDoneEvent: an invoked session tells its parent.
			done = &Event{Name: "done.invoke", Type: External, Data: s.doneData(st)}
		}
	}
	if done != nil && s.parent != nil {
		s.parent.childDone(s, *done)
	}
	s.delayed = nil
	s.internalQueue = queue{}
	s.externalQueue = queue{}
}

// selectEventlessTransitions: for each atomic state in document order, the
// first eventless transition whose condition holds, searching the state and
// then its ancestors; conflicts removed.
func (s *Session) selectEventlessTransitions() []*scxml.Transition {
	return s.selectTransitionsFor(nil)
}

// selectTransitions: as selectEventlessTransitions, for transitions whose
// event descriptors match event.
func (s *Session) selectTransitions(event *Event) []*scxml.Transition {
	return s.selectTransitionsFor(event)
}

func (s *Session) selectTransitionsFor(event *Event) []*scxml.Transition {
	enabled := s.enabled[:0]
	states := s.m.doc.States
	for i := s.configuration.Next(1); i >= 0; i = s.configuration.Next(i + 1) {
		st := states[i]
		if !st.IsAtomic() {
			continue
		}
	loop:
		for anc := st; anc != nil; anc = anc.Parent {
			for _, t := range anc.Transitions {
				if event == nil {
					if len(t.Events) != 0 {
						continue
					}
				} else if len(t.Events) == 0 || !nameMatch(t.Events, event.Name) {
					continue
				}
				if s.conditionMatch(t) {
					enabled = appendUnique(enabled, t)
					break loop
				}
			}
		}
	}
	s.enabled = enabled
	if len(enabled) > 1 {
		s.enabled = s.removeConflictingTransitions(enabled)
	}
	return s.enabled
}

func appendUnique(ts []*scxml.Transition, t *scxml.Transition) []*scxml.Transition {
	for _, x := range ts {
		if x == t {
			return ts
		}
	}
	return append(ts, t)
}

// conditionMatch evaluates a transition's cond; an error counts as false
// and raises error.execution (section 5.9).
func (s *Session) conditionMatch(t *scxml.Transition) bool {
	if t.Cond == nil {
		return true
	}
	ok, err := s.dm.Cond(t.Cond)
	if err != nil {
		s.execError(err)
		return false
	}
	return ok
}

// removeConflictingTransitions keeps, among transitions whose exit sets
// intersect, the one whose source is a descendant of the other's, else the
// one selected first (document order of the selecting states).
func (s *Session) removeConflictingTransitions(enabled []*scxml.Transition) []*scxml.Transition {
	n := len(s.m.doc.States)
	for len(s.tmpSets) < len(enabled) {
		s.tmpSets = append(s.tmpSets, bitset.New(n))
	}
	exits := s.tmpSets[:len(enabled)]
	for i, t := range enabled {
		exits[i].Clear()
		s.computeExitSet([]*scxml.Transition{t}, exits[i])
	}
	// filtered holds indices into enabled, in selection order.
	filtered := make([]int, 0, len(enabled))
	for i1, t1 := range enabled {
		t1Preempted := false
		var toRemove []int
		for _, i2 := range filtered {
			if exits[i1].Intersects(exits[i2]) {
				if s.m.isDescendant(t1.Source, enabled[i2].Source) {
					toRemove = append(toRemove, i2)
				} else {
					t1Preempted = true
					break
				}
			}
		}
		if !t1Preempted {
			for _, r := range toRemove {
				for k, f := range filtered {
					if f == r {
						filtered = append(filtered[:k], filtered[k+1:]...)
						break
					}
				}
			}
			filtered = append(filtered, i1)
		}
	}
	out := make([]*scxml.Transition, len(filtered))
	for k, i := range filtered {
		out[k] = enabled[i]
	}
	return out
}

// microstep exits the source configuration, runs the transitions' content
// and enters the targets.
func (s *Session) microstep(enabled []*scxml.Transition) {
	if s.opts.OnTransition != nil {
		for _, t := range enabled {
			var ev *Event
			if len(t.Events) > 0 {
				ev = &s.current
			}
			s.opts.OnTransition(s, t, ev)
		}
	}
	s.exitStates(enabled)
	s.executeTransitionContent(enabled)
	s.enterStates(enabled)
}

// exitStates records history, runs onexit handlers in exit order, cancels
// invocations and removes the states from the configuration.
func (s *Session) exitStates(enabled []*scxml.Transition) {
	exit := s.exitSet
	exit.Clear()
	s.computeExitSet(enabled, exit)
	for i := exit.Next(0); i >= 0; i = exit.Next(i + 1) {
		s.statesToInvoke.Del(i)
	}
	states := s.m.doc.States
	for i := exit.Prev(len(states) - 1); i >= 0; i = exit.Prev(i - 1) {
		for _, h := range s.m.histories[i] {
			s.recordHistory(h, states[i])
		}
	}
	for i := exit.Prev(len(states) - 1); i >= 0; i = exit.Prev(i - 1) {
		st := states[i]
		s.executeBlocks(st.OnExit)
		s.cancelInvokes(st)
		s.configuration.Del(i)
	}
}

// recordHistory stores in historyValue[h] the active atomic descendants of
// st (deep history) or its active children (shallow history).
func (s *Session) recordHistory(h, st *scxml.State) {
	val := s.historyValue[h.Index][:0]
	last := s.m.last[st.Index]
	for i := s.configuration.Next(st.Index + 1); i >= 0 && i <= last; i = s.configuration.Next(i + 1) {
		c := s.m.doc.States[i]
		if h.Deep {
			if c.IsAtomic() {
				val = append(val, i)
			}
		} else if c.Parent == st {
			val = append(val, i)
		}
	}
	s.historyValue[h.Index] = val
}

// computeExitSet adds to into the active states that are descendants of
// the domain of each transition with targets.
func (s *Session) computeExitSet(transitions []*scxml.Transition, into bitset.Set) {
	for _, t := range transitions {
		if len(t.Targets) == 0 {
			continue
		}
		domain := s.getTransitionDomain(t)
		if domain == nil {
			continue
		}
		last := s.m.last[domain.Index]
		for i := s.configuration.Next(domain.Index + 1); i >= 0 && i <= last; i = s.configuration.Next(i + 1) {
			into.Add(i)
		}
	}
}

func (s *Session) executeTransitionContent(enabled []*scxml.Transition) {
	for _, t := range enabled {
		s.executeContent(t.Content)
	}
}

// enterStates enters the states computed by computeEntrySet in entry
// order: onentry handlers, default initial and history content, late data
// binding, and the done.state events of final states.
func (s *Session) enterStates(enabled []*scxml.Transition) {
	toEnter, defaultEntry := s.entrySet, s.defaultEntry
	toEnter.Clear()
	defaultEntry.Clear()
	s.defaultHist = s.defaultHist[:0]
	s.computeEntrySet(enabled, toEnter, defaultEntry)
	states := s.m.doc.States
	for i := toEnter.Next(0); i >= 0; i = toEnter.Next(i + 1) {
		st := states[i]
		s.configuration.Add(i)
		s.statesToInvoke.Add(i)
		if s.m.doc.Binding == scxml.Late && !s.dataDone.Has(i) {
			s.initializeDatamodel(st)
		}
		s.executeBlocks(st.OnEntry)
		if defaultEntry.Has(i) && st.Initial != nil {
			s.executeContent(st.Initial.Content)
		}
		for _, hc := range s.defaultHist {
			if hc.parent == i {
				s.executeContent(hc.content)
			}
		}
		if st.Kind != scxml.KindFinal {
			continue
		}
		parent := st.Parent
		if parent.Kind == scxml.KindRoot {
			s.running = false
			s.finalID = st.ID
			continue
		}
		s.internalQueue.push(Event{Name: eventDoneState + parent.ID, Type: Platform, Data: s.doneData(st)})
		if gp := parent.Parent; gp != nil && gp.Kind == scxml.KindParallel {
			all := true
			for _, c := range s.m.children[gp.Index] {
				if !s.isInFinalState(c) {
					all = false
					break
				}
			}
			if all {
				s.internalQueue.push(Event{Name: eventDoneState + gp.ID, Type: Platform})
			}
		}
	}
}

// computeEntrySet collects the states to enter for the transitions, with
// their default descendants and the ancestors inside each domain.
func (s *Session) computeEntrySet(transitions []*scxml.Transition, toEnter, defaultEntry bitset.Set) {
	for _, t := range transitions {
		for _, st := range t.Targets {
			s.addDescendantStatesToEnter(st, toEnter, defaultEntry)
		}
		ancestor := s.getTransitionDomain(t)
		for _, st := range s.getEffectiveTargetStates(t, nil) {
			s.addAncestorStatesToEnter(st, ancestor, toEnter, defaultEntry)
		}
	}
}

func (s *Session) addDescendantStatesToEnter(st *scxml.State, toEnter, defaultEntry bitset.Set) {
	states := s.m.doc.States
	if st.Kind == scxml.KindHistory {
		if hv := s.historyValue[st.Index]; len(hv) > 0 {
			for _, i := range hv {
				s.addDescendantStatesToEnter(states[i], toEnter, defaultEntry)
			}
			for _, i := range hv {
				s.addAncestorStatesToEnter(states[i], st.Parent, toEnter, defaultEntry)
			}
			return
		}
		t := st.Transitions[0]
		s.defaultHist = append(s.defaultHist, histContent{parent: st.Parent.Index, content: t.Content})
		for _, c := range t.Targets {
			s.addDescendantStatesToEnter(c, toEnter, defaultEntry)
		}
		for _, c := range t.Targets {
			s.addAncestorStatesToEnter(c, st.Parent, toEnter, defaultEntry)
		}
		return
	}
	toEnter.Add(st.Index)
	if st.IsCompound() {
		defaultEntry.Add(st.Index)
		for _, c := range st.Initial.Targets {
			s.addDescendantStatesToEnter(c, toEnter, defaultEntry)
		}
		for _, c := range st.Initial.Targets {
			s.addAncestorStatesToEnter(c, st, toEnter, defaultEntry)
		}
	} else if st.Kind == scxml.KindParallel {
		for _, child := range s.m.children[st.Index] {
			if !toEnter.HasInRange(child.Index, s.m.last[child.Index]) {
				s.addDescendantStatesToEnter(child, toEnter, defaultEntry)
			}
		}
	}
}

// addAncestorStatesToEnter adds the proper ancestors of st below ancestor,
// filling in the other regions of any parallel among them.
func (s *Session) addAncestorStatesToEnter(st, ancestor *scxml.State, toEnter, defaultEntry bitset.Set) {
	for anc := st.Parent; anc != nil && anc != ancestor; anc = anc.Parent {
		if anc.Kind == scxml.KindRoot {
			break
		}
		toEnter.Add(anc.Index)
		if anc.Kind == scxml.KindParallel {
			for _, child := range s.m.children[anc.Index] {
				if !toEnter.HasInRange(child.Index, s.m.last[child.Index]) {
					s.addDescendantStatesToEnter(child, toEnter, defaultEntry)
				}
			}
		}
	}
}

// isInFinalState: a compound state with an active final child, or a
// parallel state all of whose children are in a final state.
func (s *Session) isInFinalState(st *scxml.State) bool {
	if st.IsCompound() {
		for _, c := range s.m.children[st.Index] {
			if c.Kind == scxml.KindFinal && s.configuration.Has(c.Index) {
				return true
			}
		}
		return false
	}
	if st.Kind == scxml.KindParallel {
		for _, c := range s.m.children[st.Index] {
			if !s.isInFinalState(c) {
				return false
			}
		}
		return true
	}
	return false
}

// getTransitionDomain returns the state whose descendants the transition
// exits and enters: the source of an internal transition that stays
// inside it, else the least common compound ancestor.
func (s *Session) getTransitionDomain(t *scxml.Transition) *scxml.State {
	if t.Source.Kind == scxml.KindRoot {
		// The document's initial transition: everything is entered.
		return t.Source
	}
	tstates := s.getEffectiveTargetStates(t, nil)
	if len(tstates) == 0 {
		return nil
	}
	if t.Type == scxml.Internal && t.Source.IsCompound() {
		all := true
		for _, st := range tstates {
			if !s.m.isDescendant(st, t.Source) {
				all = false
				break
			}
		}
		if all {
			return t.Source
		}
	}
	return s.findLCCA(t.Source, tstates)
}

// findLCCA returns the nearest proper ancestor of head that is a compound
// state or the root and contains every state of tail.
func (s *Session) findLCCA(head *scxml.State, tail []*scxml.State) *scxml.State {
	for anc := head.Parent; anc != nil; anc = anc.Parent {
		if anc.Kind != scxml.KindRoot && !anc.IsCompound() {
			continue
		}
		all := true
		for _, st := range tail {
			if !s.m.isDescendant(st, anc) {
				all = false
				break
			}
		}
		if all {
			return anc
		}
	}
	return s.m.doc.Root
}

// getEffectiveTargetStates returns the targets of t with history states
// replaced by their recorded value or default targets. The result is
// appended to buf; it must not be retained across calls.
func (s *Session) getEffectiveTargetStates(t *scxml.Transition, buf []*scxml.State) []*scxml.State {
	if buf == nil {
		buf = s.targets[:0]
	}
	for _, st := range t.Targets {
		if st.Kind == scxml.KindHistory {
			if hv := s.historyValue[st.Index]; len(hv) > 0 {
				for _, i := range hv {
					buf = appendUniqueState(buf, s.m.doc.States[i])
				}
			} else {
				buf = s.getEffectiveTargetStates(st.Transitions[0], buf)
			}
		} else {
			buf = appendUniqueState(buf, st)
		}
	}
	s.targets = buf
	return buf
}

func appendUniqueState(ss []*scxml.State, st *scxml.State) []*scxml.State {
	for _, x := range ss {
		if x == st {
			return ss
		}
	}
	return append(ss, st)
}
