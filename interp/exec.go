package interp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/orsgo/engine/scxml"
)

// executeBlocks runs each <onentry>/<onexit> block; an error stops only the
// block it happened in (section 3.8).
func (s *Session) executeBlocks(blocks [][]scxml.Executable) {
	for _, b := range blocks {
		s.executeContent(b)
	}
}

// executeContent runs a block of executable content. An element that fails
// raises an error event and the rest of the block is skipped (section 4.1).
func (s *Session) executeContent(block []scxml.Executable) {
	_ = s.executeBlock(block)
	s.at = nil // a delayed send delivered later is no element's
}

// errBlockStopped means an element failed, its error event is queued, and
// the enclosing block must stop.
var errBlockStopped = errors.New("block stopped")

func (s *Session) executeBlock(block []scxml.Executable) error {
	for _, x := range block {
		if err := s.execute(x); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) execute(x scxml.Executable) error {
	s.at = x
	switch x := x.(type) {
	case *scxml.Raise:
		s.internalQueue.push(Event{Name: x.Event, Type: Internal})
	case *scxml.Log:
		var v any
		if x.Expr != nil {
			var err error
			if v, err = s.dm.Value(x.Expr); err != nil {
				return s.fail(err)
			}
		}
		s.emit(Effect{Kind: EffectLog, Label: x.Label, Value: v})
	case *scxml.Assign:
		if err := s.dm.Assign(x); err != nil {
			return s.fail(err)
		}
	case *scxml.Script:
		if err := s.dm.Script(x); err != nil {
			return s.fail(err)
		}
	case *scxml.If:
		for _, b := range x.Branches {
			if b.Cond != nil {
				ok, err := s.dm.Cond(b.Cond)
				if err != nil {
					// A condition that cannot be evaluated is false and
					// raises error.execution (section 5.9); the block stops.
					return s.fail(err)
				}
				if !ok {
					continue
				}
			}
			return s.executeBlock(b.Body)
		}
	case *scxml.Foreach:
		var inner error
		err := s.dm.Foreach(x, func() error {
			inner = s.executeBlock(x.Body)
			return inner
		})
		s.at = x
		if err != nil {
			if err == inner {
				return err
			}
			return s.fail(err)
		}
	case *scxml.Send:
		return s.send(x)
	case *scxml.Cancel:
		id := x.SendID
		if x.SendIDExpr != nil {
			var err error
			if id, err = s.dm.String(x.SendIDExpr); err != nil {
				return s.fail(err)
			}
		}
		s.cancelSend(id)
	case *scxml.Custom:
		return s.runCustom(x)
	default:
		return s.fail(fmt.Errorf("unknown executable content %T", x))
	}
	return nil
}

// fail raises error.execution for err, as the failure of the element
// being executed, and stops the block.
func (s *Session) fail(err error) error {
	s.execError(s.atElement(err))
	return errBlockStopped
}

// ElementError is the failure of one element of a document: the cause of
// an error event raised by executable content, a transition's cond or a
// <send>. Its fields are the event's data (see Session.raiseError).
type ElementError struct {
	Tag      string    // the element's local name: "assign", "send", "transition", a custom action's
	Pos      scxml.Pos // where it starts
	Document string    // the document's name (or file)
	Err      error
}

func (e *ElementError) Error() string { return e.Err.Error() }
func (e *ElementError) Unwrap() error { return e.Err }

// atElement makes err the failure of the element being executed, if any.
func (s *Session) atElement(err error) error {
	if s.at == nil {
		return err
	}
	return &ElementError{Tag: tagName(s.at), Pos: s.at.Position(), Document: s.docName(), Err: err}
}

func (s *Session) docName() string {
	if s.m.doc.Name != "" {
		return s.m.doc.Name
	}
	return s.m.doc.File
}

func tagName(x scxml.Executable) string {
	switch x := x.(type) {
	case *scxml.Raise:
		return "raise"
	case *scxml.Log:
		return "log"
	case *scxml.Assign:
		return "assign"
	case *scxml.Script:
		return "script"
	case *scxml.If:
		return "if"
	case *scxml.Foreach:
		return "foreach"
	case *scxml.Send:
		return "send"
	case *scxml.Cancel:
		return "cancel"
	case *scxml.Custom:
		return x.Local
	}
	return fmt.Sprintf("%T", x)
}

// send runs <send> (section 6.2): every attribute is evaluated now, then
// the event is delivered at once or after its delay.
func (s *Session) send(x *scxml.Send) error {
	var err error
	ev := Event{Name: x.Event, Type: External}
	if x.EventExpr != nil {
		if ev.Name, err = s.dm.String(x.EventExpr); err != nil {
			return s.fail(err)
		}
	}
	target := x.Target
	if x.TargetExpr != nil {
		if target, err = s.dm.String(x.TargetExpr); err != nil {
			return s.fail(err)
		}
	}
	typ := x.Type
	if x.TypeExpr != nil {
		if typ, err = s.dm.String(x.TypeExpr); err != nil {
			return s.fail(err)
		}
	}
	ev.SendID = x.ID
	if x.IDLocation != nil {
		s.seq++
		ev.SendID = s.id + "." + strconv.FormatUint(s.seq, 10)
		if err := s.dm.SetLocation(x.IDLocation, ev.SendID); err != nil {
			return s.fail(err)
		}
	}
	delay := x.DelayDur
	if x.DelayExpr != nil {
		str, err := s.dm.String(x.DelayExpr)
		if err != nil {
			return s.fail(err)
		}
		if delay, err = scxml.ParseDelay(str); err != nil {
			return s.fail(fmt.Errorf("%s:%s: <send> delayexpr: %w", s.m.doc.File, x.Pos, err))
		}
	}
	if ev.Data, err = s.sendData(x.Namelist, x.Params, x.Content); err != nil {
		return s.fail(err)
	}
	if typ != "" && typ != SCXMLProcessorType && typ != scxmlProcessorShortType {
		// Another I/O processor: the host decides, after the delay.
	} else {
		typ = ""
		ev.Origin = "#_scxml_" + s.id
		ev.OriginType = SCXMLProcessorType
		if target != "" && !strings.HasPrefix(target, "#_") && !strings.Contains(target, ":") {
			s.raiseError(EventErrorExecution, ev.SendID, s.atElement(fmt.Errorf("%s:%s: <send> target %q: %w", s.m.doc.File, x.Pos, target, ErrInvalidTarget)))
			return errBlockStopped
		}
	}
	msg := Message{Target: target, Type: typ, Event: ev}
	if delay > 0 {
		if target == "#_internal" {
			// Delayed internal events would bypass run-to-completion; the
			// spec only defines immediate delivery to the internal queue.
			s.raiseError(EventErrorExecution, ev.SendID, s.atElement(fmt.Errorf("%s:%s: <send> to #_internal cannot be delayed", s.m.doc.File, x.Pos)))
			return errBlockStopped
		}
		s.seq++
		s.schedule(&delayedSend{Due: s.now.Add(delay), Seq: s.seq, Msg: msg})
		return nil
	}
	s.deliver(&msg)
	return nil
}

// deliver routes an event whose delay, if any, has elapsed.
func (s *Session) deliver(msg *Message) {
	if msg.Type == "" {
		switch target := msg.Target; {
		case target == "":
			s.externalQueue.push(msg.Event)
			return
		case target == "#_internal":
			ev := msg.Event
			ev.Type = Internal
			s.internalQueue.push(ev)
			return
		case target == "#_scxml_"+s.id:
			s.externalQueue.push(msg.Event)
			return
		case strings.HasPrefix(target, "#_scxml_"):
			if s.deliverInvoke(msg) { // an invoked child's own address
				return
			}
		case strings.HasPrefix(target, "#_"):
			if s.deliverInvoke(msg) {
				return
			}
			s.raiseError(EventErrorCommunication, msg.Event.SendID, s.atElement(fmt.Errorf("send to %q: %w", target, ErrUnreachable)))
			return
		}
	}
	// The Host decides now, delivering nothing: the event leaves with
	// the outbox, after the macrostep.
	dec, err := s.host.Route(s, msg)
	switch {
	case err == nil && dec == RouteOutbox:
		s.emit(Effect{Kind: EffectSend, Message: *msg})
	case err == nil && dec == RouteSelf:
		// A loopback through another I/O processor: behind what the
		// session queued for itself before, ahead of what it queues
		// after (W3C test 201).
		s.Enqueue(msg.Event)
	case err == nil:
		// routeDone: delivered inside the tree.
	case errors.Is(err, ErrInvalidTarget) || errors.Is(err, ErrUnsupportedType):
		s.raiseError(EventErrorExecution, msg.Event.SendID, s.atElement(err))
	default:
		s.raiseError(EventErrorCommunication, msg.Event.SendID, s.atElement(err))
	}
}

// sendData evaluates namelist, <param> and <content> into event data:
// content gives its value; namelist and params give an object.
func (s *Session) sendData(namelist []*scxml.Expr, params []*scxml.Param, content *scxml.Content) (any, error) {
	if content != nil {
		return s.dm.Content(content)
	}
	if len(namelist) == 0 && len(params) == 0 {
		return nil, nil
	}
	data := make(map[string]any, len(namelist)+len(params))
	for _, e := range namelist {
		v, err := s.dm.Value(e)
		if err != nil {
			return nil, err
		}
		data[strings.TrimSpace(e.Source)] = v
	}
	for _, p := range params {
		v, err := s.paramValue(p)
		if err != nil {
			return nil, err
		}
		data[p.Name] = v
	}
	return data, nil
}

func (s *Session) paramValue(p *scxml.Param) (any, error) {
	switch {
	case p.Expr != nil:
		return s.dm.Value(p.Expr)
	case p.Location != nil:
		return s.dm.Value(p.Location)
	}
	return nil, nil
}

// doneData evaluates the <donedata> of a final state (section 5.7). An
// error raises error.execution and the done event carries no data.
func (s *Session) doneData(st *scxml.State) any {
	dd := st.Donedata
	if dd == nil {
		return nil
	}
	v, err := s.sendData(nil, dd.Params, dd.Content)
	if err != nil {
		s.execError(err)
		return nil
	}
	return v
}
