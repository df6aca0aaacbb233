package scxml

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDelay parses a CSS2 time value ("1s", "1.5s", "250ms", "0"), the form
// of the delay and delayexpr attributes of <send> (section 6.2.1).
func ParseDelay(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	unit := time.Second
	switch {
	case strings.HasSuffix(t, "ms"):
		t, unit = t[:len(t)-2], time.Millisecond
	case strings.HasSuffix(t, "s"):
		t = t[:len(t)-1]
	case t == "0":
	default:
		return 0, fmt.Errorf("delay %q: not a CSS2 time (like \"2s\" or \"500ms\")", v)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	// ParseFloat accepts "NaN", "Inf" and hex floats; CSS2 times do not.
	if err != nil || f != f || f < 0 || f > float64(1<<62)/float64(unit) || strings.ContainsAny(t, "xXnNiI") {
		return 0, fmt.Errorf("delay %q: not a CSS2 time (like \"2s\" or \"500ms\")", v)
	}
	return time.Duration(f * float64(unit)), nil
}
