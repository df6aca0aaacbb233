package cli

import (
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/persist"
)

// decodeSnapshot decodes the interpreter snapshot a record carries. It is
// the only place the commands decode snapshots, so that it can follow the
// codec wherever it lives.
func decodeSnapshot(rec *persist.Record) (*interp.Snapshot, error) {
	return snapshot.Decode(rec.SessionID, rec.Data)
}

// varValue is a decoded variable's value.
func varValue(v *interp.Var) (interp.Value, error) {
	return snapshot.VarValue(v)
}
