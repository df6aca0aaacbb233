package main

import (
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
)

// decodeSnapshot decodes the interpreter snapshot a record carries. It is
// the only place the commands decode snapshots, so that it can follow the
// codec wherever it lives.
func decodeSnapshot(rec *persist.Record) (*interp.Snapshot, error) {
	return persist.DecodeSnapshot(rec.SessionID, rec.Data)
}
