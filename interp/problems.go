package interp

// ScriptChecker is implemented by a CompiledDatamodel that can tell which
// of the document's expressions and scripts do not compile.
type ScriptChecker interface {
	// ScriptErrors returns them as file:line:col errors.
	ScriptErrors() []error
}

// ScriptErrors returns, as file:line:col errors, the document's
// expressions and scripts that do not compile. Compile keeps them (each
// raises error.execution when it runs, section 5.9), so that only a
// validator (scxml validate) reports them before a session meets them.
// A datamodel that is not a ScriptChecker (the null datamodel) has none.
func (m *Machine) ScriptErrors() []error {
	if c, ok := m.dm.(ScriptChecker); ok {
		return c.ScriptErrors()
	}
	return nil
}
