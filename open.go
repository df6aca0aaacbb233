package engine

import (
	"context"
	"fmt"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/persist"
)

// Open creates an engine configured by cfg (an ORS-style configuration,
// see package config) on top of opts: the node id comes from
// [orchestration] node-id, session ids carry it when
// sessionid-with-nodeid is true, and the store from [persistence]
// (persist.Open), which the engine then owns: Close closes it. Options
// that cfg sets must be left zero in opts (an error names the one that is
// not), so that a value is never silently overridden.
func Open(ctx context.Context, cfg *config.Config, opts Options) (*Engine, error) {
	return OpenWith(ctx, cfg, opts, persist.OpenOptions{})
}

// OpenWith is Open with the store's tuning beside the configuration: the
// go-redis client's pool, retries and timeouts, and the Redis store's
// batching, retries, WAIT and shards (persist.OpenOptions, given to
// persist.OpenWith).
func OpenWith(ctx context.Context, cfg *config.Config, opts Options, store persist.OpenOptions) (*Engine, error) {
	if cfg == nil {
		return nil, fmt.Errorf("engine: open: nil configuration")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Store != nil {
		return nil, fmt.Errorf("engine: open: option Store is set, but [persistence] chooses the store")
	}
	if cfg.Node != "" {
		if opts.Node != "" && opts.Node != string(cfg.Node) {
			return nil, fmt.Errorf("engine: open: option Node %q differs from [orchestration] node-id %q", opts.Node, cfg.Node)
		}
		opts.Node = string(cfg.Node)
	}
	if !cfg.SessionIDWithNodeID && opts.NewID == nil {
		// Plain UUIDs, as ORS makes without sessionid-with-nodeid; such
		// sessions cannot be attributed to a node after a failure.
		opts.NewID = func() string { return ids.New("").String() }
	}
	st, err := persist.OpenWith(ctx, cfg, store)
	if err != nil {
		return nil, fmt.Errorf("engine: open: %w", err)
	}
	opts.Store = st
	if opts.Logger != nil && cfg.Persistence.Type == config.TypeRedis {
		persist.RedisLogger(opts.Logger) // go-redis's messages, not stderr
	}
	e, err := New(opts)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return nil, err
	}
	e.ownStore = true
	return e, nil
}
