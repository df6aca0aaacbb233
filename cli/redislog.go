package cli

import (
	"log/slog"

	"github.com/orsgo/engine/persist"
)

// quietRedis keeps go-redis from printing its own lines to stderr (a
// dial that failed, timestamped, in go-redis's words) in the commands
// that open a store and exit: the error persist.Open returns already
// names the option and every address that did not answer, and the
// duplicate line above it is what a new user read first. scxml serve,
// which runs on, leaves them on its stderr beside its own lines.
func quietRedis() { persist.RedisLogger(slog.New(slog.DiscardHandler)) }
