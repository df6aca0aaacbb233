package interp

import (
	"fmt"

	"github.com/beevik/etree"
)

// Etree parses the markup as an etree document (package
// github.com/beevik/etree), for Go code that reads XML event data
// (<content> markup in an event, a DOM value of the datamodel). The
// caller owns the document.
func (x *XML) Etree() (*etree.Document, error) {
	if x == nil {
		return nil, fmt.Errorf("interp: nil XML value")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(x.Source); err != nil {
		return nil, fmt.Errorf("interp: XML value: %w", err)
	}
	return doc, nil
}
