package snapshot_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// Peek reads of a snapshot what Decode reads, for the fields it keeps:
// on the golden version 1 snapshot and on a fresh one.
func TestPeek(t *testing.T) {
	golden, err := os.ReadFile("testdata/v1.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := snapshot.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"golden": golden, "fresh": fresh} {
		full, err := snapshot.Decode("sess-1", b)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := snapshot.Peek("sess-1", b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var due []time.Time
		for _, d := range full.Delayed {
			due = append(due, d.Due)
		}
		want := &snapshot.Summary{
			Version: full.Version, SessionID: full.SessionID, DocName: full.DocName, DocHash: full.DocHash,
			Started: full.Started, Running: full.Running, Final: full.Final,
			Configuration: full.Configuration, StatesToInvoke: full.StatesToInvoke, DataDone: full.DataDone, History: full.History,
			Internal: len(full.Internal), External: len(full.External), Invocations: len(full.Invocation),
			Due: due, Subs: full.Subs,
		}
		if !reflect.DeepEqual(sum, want) {
			t.Errorf("%s: Peek = %+v\nwant %+v", name, sum, want)
		}
		if sum.Internal != 1 || sum.External != 4 || sum.Invocations != 2 || len(sum.Due) != 2 {
			t.Errorf("%s: counts %+v", name, sum)
		}
	}
	quiet := &interp.Snapshot{Version: interp.SnapshotVersion, SessionID: "q", Started: true, Running: true, Configuration: []int{0}}
	b, err := snapshot.Encode(quiet)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := snapshot.Peek("q", b); err != nil || sum.Internal+sum.External+sum.Invocations != 0 || sum.Due != nil {
		t.Errorf("quiet snapshot: %+v, %v", sum, err)
	}
	// Errors are Decode's.
	old := sample()
	old.Version = 99
	future, err := snapshot.Encode(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id string
		b        []byte
		want     error
	}{
		{"truncated", "sess-1", fresh[:len(fresh)/2], snapshot.ErrCorrupt},
		{"truncated in the variables", "sess-1", fresh[:bytes.Index(fresh, []byte("vars"))+8], snapshot.ErrCorrupt},
		{"not msgpack", "sess-1", []byte{0xc1, 0x00}, snapshot.ErrCorrupt},
		{"another session", "sess-2", fresh, snapshot.ErrCorrupt},
		{"version", "sess-1", future, snapshot.ErrVersion},
	} {
		_, err := snapshot.Peek(c.id, c.b)
		if !errors.Is(err, c.want) || !bytes.Contains([]byte(err.Error()), []byte(c.id)) {
			t.Errorf("%s: err = %v, want %v naming %s", c.name, err, c.want, c.id)
		}
	}
}
