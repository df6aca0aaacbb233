//go:build !unix

package cli

import "time"

// processCPU returns 0: getrusage(2) is Unix's (the CPU figures of scxml
// bench are then 0).
func processCPU() time.Duration { return 0 }
