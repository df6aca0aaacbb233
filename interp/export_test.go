package interp

// SnapshotCacheStats reports how many variables the session's snapshots
// took from the incremental cache and how many they exported afresh.
func SnapshotCacheStats(s *Session) (reused, exported int) {
	if s.ecma == nil {
		return 0, 0
	}
	return s.ecma.inc.reused, s.ecma.inc.exported
}
