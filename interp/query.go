package interp

// DelayedSends returns the session's delayed sends not yet delivered, in
// delivery order, as a snapshot holds them (copies: nothing the caller
// does changes the session).
func (s *Session) DelayedSends() []DelayedSend {
	out := make([]DelayedSend, 0, len(s.delayed))
	for _, d := range s.delayed {
		out = append(out, DelayedSend{Due: d.Due, Seq: d.Seq, Target: d.Msg.Target, Type: d.Msg.Type, Event: d.Msg.Event})
	}
	return out
}
