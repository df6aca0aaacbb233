package interp

import (
	"encoding/json"

	"github.com/vmihailenco/msgpack/v5"
)

// XML is datamodel data whose value is XML markup: the <content> of a
// <send>, <donedata> or <invoke>, or a DOM the document passed in a
// namelist or <param>. Section B.2 has the ECMAScript datamodel present it
// as a DOM; other consumers see Source, the markup of one root element.
//
// Event.Data holds it as *XML, next to the JSON-like values. It encodes
// to JSON as the string Source, and to msgpack as an extension type (see
// xmlExtID) that decodes back to *XML, so that a queued event keeps its
// DOM across a snapshot.
type XML struct {
	Source string
}

// xmlExtID is the msgpack extension type of *XML ('X').
const xmlExtID = 'X'

func init() {
	msgpack.RegisterExt(xmlExtID, (*XML)(nil))
}

// String returns the markup.
func (x *XML) String() string { return x.Source }

// MarshalJSON encodes the markup as a JSON string.
func (x *XML) MarshalJSON() ([]byte, error) { return json.Marshal(x.Source) }

// MarshalMsgpack implements msgpack.Marshaler: the extension's payload is
// the markup.
func (x *XML) MarshalMsgpack() ([]byte, error) { return []byte(x.Source), nil }

// UnmarshalMsgpack implements msgpack.Unmarshaler.
func (x *XML) UnmarshalMsgpack(b []byte) error {
	x.Source = string(b)
	return nil
}
