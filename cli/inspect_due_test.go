package cli

import "testing"

// A pending delayed send reads "(in 18.2s)", or "(overdue by 1m43s)"
// once its time has passed with no node running the session.
func TestInspectDueWording(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{{18.2, "in 18.2s"}, {-103, "overdue by 1m43s"}, {0, "in 0s"}} {
		if got := inDuration(c.s); got != c.want {
			t.Errorf("inDuration(%v) = %q, want %q", c.s, got, c.want)
		}
	}
}
