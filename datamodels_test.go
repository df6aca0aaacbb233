package engine_test

import (
	"errors"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/datamodel/null"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// Options.Datamodels decides which datamodels the engine's documents may
// use; without it, the standard ones.
func TestOptionsDatamodels(t *testing.T) {
	parse := func(dm string) *scxml.Document {
		doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="`+dm+`"><final id="f"/></scxml>`), nil)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	only, err := engine.New(engine.Options{Datamodels: interp.Datamodels{scxml.DatamodelNull: null.Compile}})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	if _, err := only.Compile(parse("ecmascript")); !errors.Is(err, interp.ErrUnsupportedDatamodel) {
		t.Errorf("ECMAScript document with only null registered: err = %v, want ErrUnsupportedDatamodel", err)
	}
	if _, err := only.Compile(parse("null")); err != nil {
		t.Errorf("null document: %v", err)
	}
	std, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer std.Close()
	for _, dm := range []string{"ecmascript", "null"} {
		if _, err := std.Compile(parse(dm)); err != nil {
			t.Errorf("%s document, default datamodels: %v", dm, err)
		}
	}
}
