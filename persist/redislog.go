package persist

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisLogger routes go-redis's own messages (pool and cluster-state
// troubles it otherwise prints to stderr) to l, at Warn, with the
// attribute "component" = "go-redis". go-redis has one logger per
// process: the last call wins. engine.Open calls it when given a Logger.
// A nil l restores nothing: pass a logger.
func RedisLogger(l *slog.Logger) {
	if l == nil {
		return
	}
	redis.SetLogger(redisLog{l.With(slog.String("component", "go-redis"))})
}

// redisLog adapts slog to go-redis's Printf-style logger.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if !r.l.Enabled(ctx, slog.LevelWarn) {
		return
	}
	r.l.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)))
}
