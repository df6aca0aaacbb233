package interp

import "math/bits"

// stateSet is a set of states represented as a bitset over document order
// (scxml.State.Index). Because entry order is document order (Appendix D,
// "entryOrder") and exit order is its reverse, iterating the bits upwards or
// downwards gives both orders without sorting, and membership, union and
// intersection cost a few word operations: the OrderedSet of the spec
// without its allocations.
type stateSet []uint64

func newStateSet(n int) stateSet { return make(stateSet, (n+63)/64) }

func (s stateSet) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }
func (s stateSet) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }
func (s stateSet) del(i int)      { s[i>>6] &^= 1 << (uint(i) & 63) }

func (s stateSet) clear() {
	for i := range s {
		s[i] = 0
	}
}

func (s stateSet) copyFrom(o stateSet) { copy(s, o) }

func (s stateSet) union(o stateSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

func (s stateSet) intersects(o stateSet) bool {
	for i := range s {
		if s[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

func (s stateSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// hasInRange reports whether any member lies in [lo, hi].
func (s stateSet) hasInRange(lo, hi int) bool {
	for i := s.next(lo); i >= 0; {
		return i <= hi
	}
	return false
}

// next returns the smallest member >= i, or -1.
func (s stateSet) next(i int) int {
	if i < 0 {
		i = 0
	}
	w := i >> 6
	if w >= len(s) {
		return -1
	}
	word := s[w] >> (uint(i) & 63)
	if word != 0 {
		return i + bits.TrailingZeros64(word)
	}
	for w++; w < len(s); w++ {
		if s[w] != 0 {
			return w<<6 + bits.TrailingZeros64(s[w])
		}
	}
	return -1
}

// prev returns the largest member <= i, or -1.
func (s stateSet) prev(i int) int {
	if i < 0 {
		return -1
	}
	w := i >> 6
	if w >= len(s) {
		w = len(s) - 1
		i = w<<6 + 63
	}
	word := s[w] << (63 - uint(i)&63)
	if word != 0 {
		return i - bits.LeadingZeros64(word)
	}
	for w--; w >= 0; w-- {
		if s[w] != 0 {
			return w<<6 + 63 - bits.LeadingZeros64(s[w])
		}
	}
	return -1
}
