package snapshot_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/scxml"
)

// An incremental snapshot writes the cached encodings of the variables no
// code touched: the bytes must be exactly what encoding the decoded
// snapshot again gives, or records of the same state would differ with
// the session's history.
func TestIncrementalSnapshotEncodesLikeFull(t *testing.T) {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">
  <datamodel>
    <data id="call" expr="({ani: '+33142000000', n: 7, big: 1e300, neg: -1, list: [1, 'two', null, {deep: true}]})"/>
    <data id="count" expr="0"/>
  </datamodel>
  <state id="s"><transition event="inc"><assign location="count" expr="count + 1"/></transition></state>
</scxml>`), &scxml.Options{File: "codec.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession("codec", interp.Options{VerifySnapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		// The first snapshot exports every variable; the later ones take
		// call from the cache.
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		b, err := snapshot.Encode(snap)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := snapshot.Decode("codec", b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := snapshot.Encode(dec)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, again) {
			t.Fatalf("snapshot %d: encoding differs from the re-encoded decoded snapshot\n%x\n%x", i, b, again)
		}
		s.Enqueue(interp.Event{Name: "inc", Type: interp.External})
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
	}
}
