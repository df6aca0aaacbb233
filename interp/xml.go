package interp

import "encoding/json"

// XML is datamodel data whose value is XML markup: the <content> of a
// <send>, <donedata> or <invoke>, or a DOM the document passed in a
// namelist or <param>. Section B.2 has the ECMAScript datamodel present it
// as a DOM; other consumers see Source, the markup of one root element.
//
// Event.Data holds it as *XML, next to the JSON-like values. It encodes
// to JSON as the string Source; a snapshot keeps it as *XML (package
// snapshot), so that a queued event keeps its DOM across a checkpoint.
type XML struct {
	Source string
}

// String returns the markup.
func (x *XML) String() string { return x.Source }

// MarshalJSON encodes the markup as a JSON string.
func (x *XML) MarshalJSON() ([]byte, error) { return json.Marshal(x.Source) }
