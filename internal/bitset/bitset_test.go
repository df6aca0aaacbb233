package bitset

import (
	"slices"
	"testing"
)

func members(s Set, down bool) []int {
	var out []int
	if down {
		for i := s.Prev(len(s)*64 - 1); i >= 0; i = s.Prev(i - 1) {
			out = append(out, i)
		}
		return out
	}
	for i := s.Next(0); i >= 0; i = s.Next(i + 1) {
		out = append(out, i)
	}
	return out
}

func TestSet(t *testing.T) {
	s := New(200)
	in := []int{0, 5, 63, 64, 127, 199}
	for _, i := range in {
		s.Add(i)
	}
	if got := members(s, false); !slices.Equal(got, in) {
		t.Errorf("Next order: %v, want %v", got, in)
	}
	rev := slices.Clone(in)
	slices.Reverse(rev)
	if got := members(s, true); !slices.Equal(got, rev) {
		t.Errorf("Prev order: %v, want %v", got, rev)
	}
	if !s.HasInRange(6, 63) || s.HasInRange(6, 62) || s.HasInRange(128, 198) || !s.HasInRange(128, 199) {
		t.Error("HasInRange")
	}
	s.Del(63)
	if s.Has(63) || !s.Has(64) {
		t.Error("Del")
	}
	o := New(200)
	o.Add(100)
	if s.Intersects(o) {
		t.Error("Intersects: disjoint sets")
	}
	s.Union(o)
	if !s.Has(100) || !s.Intersects(o) {
		t.Error("Union")
	}
	s.Clear()
	if s.Next(0) != -1 || s.Prev(199) != -1 {
		t.Error("Clear")
	}
}
