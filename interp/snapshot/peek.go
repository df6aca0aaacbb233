package snapshot

import (
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/orsgo/engine/interp"
)

// Summary is what Peek reads of a snapshot: what a node needs to take a
// session over without restoring it (its document, where it stands, when
// its next delayed send falls due, whether anything waits for it), and
// nothing of its datamodel or its events' data.
type Summary struct {
	// Version is the format version the snapshot was written in.
	Version int
	// SessionID is the session's id (the one Peek was called for, when
	// the snapshot names its session by the id's checksum).
	SessionID string
	DocName   string
	DocHash   [32]byte

	Started, Running bool
	Final            string

	// State indices in document order, as in interp.Snapshot.
	Configuration, StatesToInvoke, DataDone []int
	History                                 []interp.HistoryEntry

	// Internal and External count the events in the session's queues,
	// Invocations its active invocations.
	Internal, External, Invocations int
	// Due are the due times of its delayed sends.
	Due []time.Time
	// Subs are its event subscriptions.
	Subs []string
}

// Peek reads the summary of what Encode wrote for the session sessionID,
// skipping the variables, the events and the invoked sessions' snapshots
// (their encoding is walked, not decoded: a truncated or malformed one is
// an error, a value the interpreter would refuse is not). Errors are
// Decode's.
func Peek(sessionID string, b []byte) (*Summary, error) {
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	d := newDecoder(dec, b)
	s := &Summary{}
	h := &header{version: &s.Version, id: &s.SessionID, doc: &s.DocName, final: &s.Final, hash: &s.DocHash,
		started: &s.Started, running: &s.Running, cfg: &s.Configuration, inv: &s.StatesToInvoke, dd: &s.DataDone,
		hist: &s.History, subs: &s.Subs}
	err := d.fields("snapshot", func(k string) (err error) {
		if ok, err := d.headerField(k, h); ok {
			return err
		}
		switch k {
		case "iq":
			s.Internal, err = d.count()
		case "eq":
			s.External, err = d.count()
		case "invk":
			s.Invocations, err = d.count()
		case "dl":
			s.Due, err = slice(d, func(t *time.Time) error {
				return d.fields("delayed send", func(k string) (err error) {
					if k == "due" {
						*t, err = d.dec.DecodeTime()
						return err
					}
					return d.dec.Skip()
				})
			})
		default: // now, seq, end, cur, vars
			err = d.dec.Skip()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("session %s: snapshot: %v: %w", sessionID, err, ErrCorrupt)
	}
	if err := checkHeader(sessionID, h); err != nil {
		return nil, err
	}
	return s, nil
}

// count skips an array (nil counts as empty) and returns its length.
func (d *decoder) count() (int, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil || n < 0 {
		return 0, err
	}
	for range n {
		if err := d.dec.Skip(); err != nil {
			return 0, err
		}
	}
	return n, nil
}
