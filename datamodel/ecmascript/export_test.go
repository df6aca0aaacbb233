package ecmascript

import "github.com/orsgo/engine/interp"

// SnapshotCacheStats reports how many variables the session's snapshots
// took from the incremental cache and how many they exported afresh.
func SnapshotCacheStats(s *interp.Session) (reused, exported int) {
	d, ok := s.Datamodel().(*datamodel)
	if !ok {
		return 0, 0
	}
	return d.inc.reused, d.inc.exported
}

// SnapshotTreeStats reports how many objects the session's snapshots
// copied from the trees of tracked variables instead of encoding them.
func SnapshotTreeStats(s *interp.Session) (reusedObjs int) {
	d, ok := s.Datamodel().(*datamodel)
	if !ok {
		return 0
	}
	return d.inc.reusedObjs
}

// SnapshotWarmExports reports how many of the session's snapshots took
// the incremental exporter's fast path (exportWarm).
func SnapshotWarmExports(s *interp.Session) int {
	d, ok := s.Datamodel().(*datamodel)
	if !ok {
		return 0
	}
	return d.inc.warmExports
}
