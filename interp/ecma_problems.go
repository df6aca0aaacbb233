package interp

import "fmt"

// ScriptErrors returns, as file:line:col errors, the document's
// expressions and scripts that do not compile. Compile keeps them (each
// raises error.execution when it runs, section 5.9), so that only a
// validator (scxml validate) reports them before a session meets them.
// The null datamodel has none.
func (m *Machine) ScriptErrors() []error {
	p := m.ecma
	if p == nil {
		return nil
	}
	var errs []error
	for i, e := range m.doc.Exprs {
		err := p.valErrs[i]
		if err == nil && locationAttrs[e.Attr] {
			err = p.asgErrs[i]
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: %s %q does not compile: %w", m.doc.File, e.Pos.Line, e.Pos.Col, e.Attr, e.Source, err))
		}
	}
	for i, s := range m.doc.Scripts {
		if err := p.scrErrs[i]; err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: <script> does not compile: %w", m.doc.File, s.Pos.Line, s.Pos.Col, err))
		}
	}
	return errs
}
