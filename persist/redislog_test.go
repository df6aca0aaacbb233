package persist

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestRedisLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	r := redisLog{l.With(slog.String("component", "go-redis"))}
	r.Printf(context.Background(), "redis: %s failed\n", "dial")
	r.Printf(nil, "second") // go-redis may pass a nil context
	out := buf.String()
	if !strings.Contains(out, `level=WARN msg="redis: dial failed" component=go-redis`) || !strings.Contains(out, "msg=second") {
		t.Errorf("logged %q", out)
	}
	RedisLogger(nil) // ignored, not a panic
	buf.Reset()
	quiet := redisLog{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))}
	quiet.Printf(context.Background(), "dropped")
	if buf.Len() != 0 {
		t.Errorf("below the handler's level, logged %q", buf.String())
	}
}
