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
	// A CSS2 <number>: digits with at most one '.', nothing else (no sign,
	// exponent, space, NaN or hex, all of which ParseFloat would take).
	if !css2Number(t) {
		return 0, fmt.Errorf("delay %q: not a CSS2 time (like \"2s\" or \"500ms\")", v)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f > float64(1<<62)/float64(unit) {
		return 0, fmt.Errorf("delay %q: not a CSS2 time (like \"2s\" or \"500ms\")", v)
	}
	return time.Duration(f * float64(unit)), nil
}

func css2Number(s string) bool {
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1 && !strings.HasSuffix(s, ".")
}
