// Package bitset is a set of small non-negative integers stored as bits:
// the interpreter's sets of states (indices in document order) and the
// ECMAScript datamodel's sets of variable names (indices in a document's
// name table) are both one.
package bitset

import "math/bits"

// Set holds the integers below 64*len(s). Iterating upwards (Next) or
// downwards (Prev) gives its members in order without sorting, and
// membership, union and intersection cost a few word operations.
type Set []uint64

// New returns an empty set able to hold 0..n-1.
func New(n int) Set { return make(Set, (n+63)/64) }

// Has reports whether i is a member.
func (s Set) Has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

// Add makes i a member.
func (s Set) Add(i int) { s[i>>6] |= 1 << (uint(i) & 63) }

// Del removes i.
func (s Set) Del(i int) { s[i>>6] &^= 1 << (uint(i) & 63) }

// Clear removes every member.
func (s Set) Clear() { clear(s) }

// Union adds the members of o, a set of the same size or smaller.
func (s Set) Union(o Set) {
	for i := range o {
		s[i] |= o[i]
	}
}

// Intersects reports whether s and o, of the same size, share a member.
func (s Set) Intersects(o Set) bool {
	for i := range s {
		if s[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// HasInRange reports whether any member lies in [lo, hi].
func (s Set) HasInRange(lo, hi int) bool {
	i := s.Next(lo)
	return i >= 0 && i <= hi
}

// Next returns the smallest member >= i, or -1.
func (s Set) Next(i int) int {
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

// Prev returns the largest member <= i, or -1.
func (s Set) Prev(i int) int {
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
