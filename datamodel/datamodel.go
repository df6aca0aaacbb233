package datamodel

import (
	"github.com/orsgo/engine/datamodel/ecmascript"
	"github.com/orsgo/engine/datamodel/null"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// Standard returns the datamodels of the Recommendation, by the value of
// <scxml datamodel>: "ecmascript" (section B.2, package ecmascript) and
// "null" (section B.1, package null). The engine uses them unless its
// Options.Datamodels say otherwise; add an entry to the map it returns to
// run documents of another datamodel.
func Standard() interp.Datamodels {
	return interp.Datamodels{
		scxml.DatamodelECMAScript: ecmascript.Compile,
		scxml.DatamodelNull:       null.Compile,
	}
}
