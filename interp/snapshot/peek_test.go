package snapshot_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// checkPeek checks that Peek reads of b what Decode read (full).
func checkPeek(t *testing.T, id string, b []byte, full *interp.Snapshot) *snapshot.Summary {
	t.Helper()
	sum, err := snapshot.Peek(id, b)
	if err != nil {
		t.Fatalf("Peek: %v", err)
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
		t.Errorf("Peek = %+v\nwant %+v", sum, want)
	}
	return sum
}

// Peek reads of a snapshot what Decode reads, for the fields it keeps:
// on the golden version 1 snapshot and on a fresh one (version 2).
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
		sum := checkPeek(t, "sess-1", b, full)
		if sum.Internal != 1 || sum.External != 4 || sum.Invocations != 2 || len(sum.Due) != 2 || sum.SessionID != "sess-1" {
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
	for _, c := range badSnapshots(t) {
		if c.peekOK {
			continue
		}
		_, err := snapshot.Peek(c.id, c.b)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "session "+c.id) {
			t.Errorf("%s: err = %v, want %v naming %s", c.name, err, c.want, c.id)
		}
	}
}
