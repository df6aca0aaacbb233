package cli

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
)

// cmdRekey rewrites the records of a Redis store that are not sealed
// with the configuration's current encryption-key (or, with old keys
// only, not in clear), then counts them again; with --check-retired it
// fails unless no record remains under each key given.
//
//	scxml rekey --config ors.ini [--dry-run] [--check-retired KEY]...
func cmdRekey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "ORS configuration `FILE` ([persistence] redis-nodes, encryption-key, encryption-old-keys, ...)")
	dryRun := fs.Bool("dry-run", false, "count the records by key, rewrite nothing")
	var retired []string
	fs.Func("check-retired", "fail unless no record remains under `KEY` (64 hex digits, env:NAME, file:PATH, or its 8-hex-digit key id); repeatable", func(v string) error {
		retired = append(retired, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scxml rekey --config FILE [--dry-run] [--check-retired KEY]...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *configPath == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var retiredIDs []string
	for _, v := range retired {
		id, err := keyIDArg(v)
		if err != nil {
			fmt.Fprintf(stderr, "scxml rekey: --check-retired: %v\n", err)
			return 2
		}
		retiredIDs = append(retiredIDs, id)
	}
	cfg, err := config.ParseFile(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if cfg.Persistence.Type != config.TypeRedis {
		fmt.Fprintf(stderr, "scxml rekey: %s: [persistence] type is %q: only a Redis store has records to rewrite\n", *configPath, cfg.Persistence.Type)
		return 1
	}
	ctx := context.Background()
	st, err := persist.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "scxml rekey: %s: %v\n", *configPath, err)
		return 1
	}
	defer st.Close()
	rs := st.(*persist.RedisStore)
	current := "clear"
	if id := currentKeyID(cfg); id != "" {
		current = "key " + id
	}
	status := 0
	if !*dryRun {
		rep, err := rs.Rekey(ctx, persist.RekeyOptions{})
		if err != nil {
			fmt.Fprintf(stderr, "scxml rekey: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "found %d records: %s\n", rep.Records, describe(rep))
		fmt.Fprintf(stdout, "rewrote %d (%s), %d changed meanwhile (left to their checkpoint), %d errors\n", rep.Rewritten, current, rep.Changed, len(rep.Errors))
		for _, key := range slices.Sorted(mapKeys(rep.Errors)) {
			fmt.Fprintf(stdout, "error: %s: %v\n", key, rep.Errors[key])
			status = 1
		}
	}
	// Count again: what is there now, not what this run believes it did.
	rep, err := rs.Rekey(ctx, persist.RekeyOptions{DryRun: true})
	if err != nil {
		fmt.Fprintf(stderr, "scxml rekey: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "now %d records: %s\n", rep.Records, describe(rep))
	for _, id := range retiredIDs {
		if n := rep.Found(id); n > 0 {
			fmt.Fprintf(stdout, "check: %d records remain under key %s: it cannot be retired yet\n", n, id)
			status = 1
		} else {
			fmt.Fprintf(stdout, "check: no record remains under key %s\n", id)
		}
	}
	return status
}

// currentKeyID returns the id of cfg's encryption-key, or "".
func currentKeyID(cfg *config.Config) string {
	cur, _ := cfg.Persistence.Encryption.Keys()
	if cur == nil {
		return ""
	}
	kid := persist.KeyID(cur)
	return hex.EncodeToString(kid[:])
}

// keyIDArg turns a --check-retired value into a key id: a key (64 hex
// digits, or a reference to one) or a key id (8 hex digits).
func keyIDArg(v string) (string, error) {
	s, err := config.ResolveSecret(v)
	if err != nil {
		return "", err
	}
	raw := strings.ToLower(s.Reveal())
	b, err := hex.DecodeString(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("not hex (a key of 64 hex digits, or a key id of 8)")
	case len(b) == 4:
		return raw, nil
	case len(b) == persist.KeyLen:
		id := persist.KeyID(b)
		return hex.EncodeToString(id[:]), nil
	}
	return "", fmt.Errorf("%d hex digits: want a key of 64, or a key id of 8", len(raw))
}

// describe lists the record counts by key id.
func describe(rep *persist.RekeyReport) string {
	var parts []string
	for _, s := range rep.KeyStates() {
		what := "under key " + s
		if s == persist.Clear {
			what = "in clear"
		}
		parts = append(parts, fmt.Sprintf("%d %s", rep.Before[s], what))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
