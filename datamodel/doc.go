// Package datamodel holds the datamodels of the SCXML Recommendation
// (section 5 and Appendix B) as plug-ins of package interp, one package
// each:
//
//   - ecmascript: section B.2, on goja. Expressions and scripts are
//     compiled once per document; each session has its own runtime, whose
//     global scope is the session's datamodel. It also tracks which
//     variables the code it ran may have changed, so that a snapshot
//     re-exports only those.
//   - null: section B.1, no data and In() only.
//
// The interpreter calls a datamodel only through interp.Datamodel, and
// finds it by the document's datamodel attribute in an interp.Datamodels
// registry: Standard returns the two above, which the engine uses by
// default. Another datamodel (XPath, say) is another package with an
// interp.DatamodelCompiler, added to the registry; interp does not change.
package datamodel
