package persist

import (
	"crypto/fips140"

	"github.com/redis/go-redis/v9"
)

// newScript is redis.NewScript with Go's FIPS 140-3 enforcement lifted
// for the SHA-1 it takes of the script's text: that digest is the script's
// name in Redis's EVALSHA protocol, not a security function, and taking
// it would otherwise make this package panic at start under
// GODEBUG=fips140=only. Every script of the package is made with it.
func newScript(src string) (s *redis.Script) {
	fips140.WithoutEnforcement(func() { s = redis.NewScript(src) })
	return s
}
