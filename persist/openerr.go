package persist

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/redis/go-redis/v9"
)

// optionError is a *config.Error about a [persistence] option found while
// connecting (wraps config.ErrInvalid and the cause).
func optionError(option, msg string, cause error) error {
	return fmt.Errorf("persist: %w", &config.Error{Section: config.SectionPersistence, Option: option, Msg: msg, Err: cause})
}

// explainConnectError turns the error of a first connection to addr into
// one naming the option to look at: TLS verification (tls-cacert,
// tls-sni), the server refusing our certificate (tls-cert), a TLS/plain
// mismatch (tls-enabled), authentication (username, password) and ACL
// refusals (username). Other errors (unreachable address) name
// redis-nodes, as before, and do not wrap config.ErrInvalid.
func explainConnectError(p *config.Persistence, addr string, err error) error {
	t := &p.TLS
	var (
		verr     *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		recHdr   tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknown) || (errors.As(err, &verr) && strings.Contains(msg, "unknown authority")):
		option, trusted := "tls-cacert", ""
		switch {
		case t.CACertFile != "" && t.CACertDir != "":
			trusted = fmt.Sprintf("tls-cacert %q nor tls-cacertdir %q", t.CACertFile, t.CACertDir)
		case t.CACertFile != "":
			trusted = fmt.Sprintf("tls-cacert %q", t.CACertFile)
		case t.CACertDir != "":
			option, trusted = "tls-cacertdir", fmt.Sprintf("tls-cacertdir %q", t.CACertDir)
		default:
			trusted = "the system roots (neither tls-cacert nor tls-cacertdir is set)"
		}
		return optionError(option, fmt.Sprintf("the certificate of Redis at %s is not signed by a CA of %s: %v", addr, trusted, err), err)
	case errors.As(err, &hostname):
		name := t.ServerName
		if name == "" {
			name = hostname.Host
		}
		return optionError("tls-sni", fmt.Sprintf("the certificate of Redis at %s is not valid for %q (set tls-sni to a name it holds): %v", addr, name, err), err)
	case errors.As(err, &invalid) && (invalid.Reason == x509.Expired):
		return optionError("redis-nodes", fmt.Sprintf("the TLS certificate of Redis at %s is expired or not yet valid: %v", addr, err), err)
	case errors.As(err, &invalid):
		return optionError("tls-cacert", fmt.Sprintf("the certificate of Redis at %s is not acceptable: %v", addr, err), err)
	case strings.Contains(msg, "remote error: tls: protocol version") || strings.Contains(msg, "tls: protocol version not supported"):
		return optionError("tls-min-version", fmt.Sprintf("Redis at %s does not speak the TLS versions allowed: %v", addr, err), err)
	case strings.Contains(msg, "remote error: tls: certificate required"):
		return optionError("tls-cert", fmt.Sprintf("Redis at %s requires a client certificate (mutual TLS): set tls-cert and tls-key", addr), err)
	case strings.Contains(msg, "remote error: tls:") && t.CertFile != "":
		return optionError("tls-cert", fmt.Sprintf("Redis at %s refused the client certificate %q (is it signed by a CA the server trusts, and valid?): %v", addr, t.CertFile, err), err)
	case errors.As(err, &recHdr):
		return optionError("tls-enabled", fmt.Sprintf("Redis at %s does not answer in TLS (is it its plain port? use its tls-port, or set tls-enabled = false): %v", addr, err), err)
	case !t.Enabled && (errors.Is(err, io.EOF) || strings.Contains(msg, "connection reset")):
		return optionError("tls-enabled", fmt.Sprintf("Redis at %s closed the connection at once: if it serves TLS only, set tls-enabled = true: %v", addr, err), err)
	case redis.HasErrorPrefix(err, "WRONGPASS"):
		who := "the default user"
		if p.Username != "" {
			who = fmt.Sprintf("user %q", p.Username)
		}
		return optionError("username/password", fmt.Sprintf("Redis at %s refused the password of %s (wrong password, unknown user, or user disabled): %v", addr, who, err), err)
	case redis.HasErrorPrefix(err, "NOAUTH"):
		return optionError("password", fmt.Sprintf("Redis at %s requires authentication: set password (and username for an ACL user)", addr), err)
	case redis.HasErrorPrefix(err, "NOPERM"):
		return aclError(p, addr, err)
	}
	hint := ""
	if t.Enabled && errors.Is(err, context.DeadlineExceeded) {
		hint = " (no TLS answer: if Redis at " + addr + " does not serve TLS on this port, use its tls-port or set tls-enabled = false)"
	}
	return fmt.Errorf("persist: [persistence] redis-nodes %s: %w%s", addr, err, hint)
}

var nopermCommand = regexp.MustCompile(`permissions to run the '([^']+)' command`)

// aclError names what the ACL of username refused: a command, or a key.
func aclError(p *config.Persistence, addr string, err error) error {
	who := "the default user"
	if p.Username != "" {
		who = fmt.Sprintf("user %q", p.Username)
	}
	msg := err.Error()
	if m := nopermCommand.FindStringSubmatch(msg); m != nil {
		return optionError("username", fmt.Sprintf("Redis at %s refused command %s to %s: its ACL must allow the store's commands (see the README's minimal ACL line): %v",
			addr, strings.ToUpper(m[1]), who, err), err)
	}
	if strings.Contains(msg, "key") {
		return optionError("username", fmt.Sprintf("Redis at %s refused %s access to the store's keys: its ACL key pattern must include ~ORS:<cluster-name>:* (see the README): %v", addr, who, err), err)
	}
	return optionError("username", fmt.Sprintf("Redis at %s: the ACL of %s refused: %v", addr, who, err), err)
}

// checkPasswordNeeded reports a password configured for the default user
// of a Redis that does not need one: a client without credentials is
// served, so the password is not what protects it (Redis accepts any
// password for a user with nopass, so AUTH itself succeeded).
func checkPasswordNeeded(ctx context.Context, p *config.Persistence, opts *redis.UniversalOptions, addr string) error {
	if p.Password == "" || p.Username != "" {
		return nil
	}
	o := opts.Simple()
	o.Addr, o.Username, o.Password, o.PoolSize, o.MaxRetries = addr, "", "", 1, -1
	c := redis.NewClient(o)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		return optionError("password", fmt.Sprintf("set, but Redis at %s requires none (a client without a password is served): remove password, or protect Redis (requirepass, or an ACL user with username)", addr), nil)
	}
	return nil
}

// preflight checks, before the first checkpoint, that the store's user
// may do what the store does. First it asks every master (ACLs are per
// Redis node) whether each command the store's scripts run, and INCR
// (Promote), is allowed on the store's keys (redis.acl_check_cmd, in a
// script), naming the node and every command refused; then it runs, on a
// probe session of its own, each operation of the store (Save, Load,
// Touch, ListNode, DueBefore, Epoch, Nodes, Delete), so that an
// ACL that refuses one of their commands or keys fails Open, naming the
// command, rather than the first checkpoint. The probe's keys are deleted.
func preflight(ctx context.Context, p *config.Persistence, st *RedisStore, addr string) (err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	node := "acl-probe-" + hex.EncodeToString(rnd[:4])
	id := "acl-probe-" + hex.EncodeToString(rnd[4:])
	step := func(what string, f func() error) {
		if err != nil {
			return
		}
		if e := f(); e != nil {
			err = e
			if errors.Is(e, ErrClosed) {
				return
			}
			var rerr redis.Error
			if errors.As(e, &rerr) && redis.HasErrorPrefix(e, "NOPERM") {
				err = aclError(p, addr, e)
			} else if errors.As(e, &rerr) && strings.Contains(e.Error(), "script") && strings.Contains(e.Error(), "can't run this command") {
				cmds := "a command"
				if bad := scriptRefusals(ctx, st); len(bad) > 0 {
					cmds = "command " + strings.Join(bad, ", ")
				}
				err = optionError("username", fmt.Sprintf("Redis at %s refused %s, run by the store's scripts (%s), to user %q: its ACL must allow the store's commands (see the README's minimal ACL line): %v", addr, cmds, what, p.Username, e), e)
			} else {
				err = fmt.Errorf("persist: checking the store's commands on Redis at %s (%s): %w", addr, what, e)
			}
		}
	}
	step("ACL check", func() error { return checkACL(ctx, p, st, id, addr) })
	w := Writer{Node: node}
	rec := &Record{SessionID: id, Node: node, Seq: 1}
	step("save", func() error { return st.Save(ctx, rec) })
	defer func() {
		// Clean up whatever the probe left, even after a refusal.
		_ = st.Delete(ctx, w, id)
		_, _, _ = st.indexed(ctx, node, false) // unregisters the probe node

	}()
	step("load", func() error { _, e := st.Load(ctx, id); return e })
	step("touch", func() error { return st.Touch(ctx, w, []string{id}) })
	step("list node", func() error { _, e := st.ListNode(ctx, node); return e })
	step("due sessions", func() error { _, e := st.DueBefore(ctx, node, time.Now()); return e })
	step("epoch", func() error { _, e := st.Epoch(ctx, node); return e })
	step("nodes", func() error { _, e := st.Nodes(ctx); return e })
	step("delete", func() error { return st.Delete(ctx, w, id) })
	return err
}

// checkACL asks every master, with a key of a shard it serves, which of
// checkedCommands the store's user may not run, and returns an error
// naming the first master that refuses any, and what it refuses.
func checkACL(ctx context.Context, p *config.Persistence, st *RedisStore, id, addr string) error {
	keys := map[string]string{addr: st.SessionKey(id)}
	if cc, ok := st.c.(*redis.ClusterClient); ok {
		keys = map[string]string{}
		for _, sh := range st.shards() {
			k := sh.record(id)
			m, err := cc.MasterForKey(ctx, k)
			if err != nil {
				return err
			}
			if _, seen := keys[m.Options().Addr]; !seen {
				keys[m.Options().Addr] = k
			}
		}
	}
	for _, a := range slices.Sorted(maps.Keys(keys)) {
		bad, err := aclCheckScript.Run(ctx, st.c, []string{keys[a]}, checkedCommands...).StringSlice()
		if err != nil {
			return err
		}
		switch {
		case len(bad) == len(checkedCommands):
			return optionError("username", fmt.Sprintf("Redis at %s refused %s access to the store's keys: its ACL key pattern must include ~ORS:<cluster-name>:* (see the README)", a, userName(p)), nil)
		case len(bad) > 0:
			return optionError("username", fmt.Sprintf("Redis at %s refuses command %s to %s on the store's keys: its ACL must allow the store's commands (see the README's minimal ACL line; ACLs are per node)",
				a, strings.Join(bad, ", "), userName(p)), nil)
		}
	}
	return nil
}

func userName(p *config.Persistence) string {
	if p.Username == "" {
		return "the default user"
	}
	return fmt.Sprintf("user %q", p.Username)
}

// checkedCommands are scriptCommands and the keyed commands the store
// sends itself that a script does not (INCR, by Promote).
var checkedCommands = append(slices.Clone(scriptCommands), "incr")

// aclCheckScript asks Redis which of the commands in ARGV (each "name
// args...", the key inserted after the name) the user may not run on
// KEYS[1], with redis.acl_check_cmd (Redis 7): a script's ACL error
// gives only its line, not the command.
var aclCheckScript = newScript(`
local bad = {}
for _, spec in ipairs(ARGV) do
  local args = {}
  for w in string.gmatch(spec, '%S+') do args[#args+1] = w end
  table.insert(args, 2, KEYS[1])
  local ok, allowed = pcall(redis.acl_check_cmd, unpack(args))
  if ok and not allowed then bad[#bad+1] = string.upper(args[1]) end
end
return bad
`)

// scriptCommands are the commands the store's scripts run, with arguments
// of the right arity (TestScriptCommands keeps the list in step with the
// scripts).
var scriptCommands = []any{
	"get", "set v", "getrange 0 13", "del", "exists", "pexpire 1",
	"sadd m", "srem m", "smembers", "hget f", "hset f v",
	"zadd 1 m", "zrem m", "zscore m", "zrange 0 -1", "zrangebyscore 0 1",
}

// scriptRefusals returns the commands of scriptCommands that the store's
// user may not run on its keys, or nil when it cannot tell.
func scriptRefusals(ctx context.Context, st *RedisStore) []string {
	bad, err := aclCheckScript.Run(ctx, st.c, []string{st.SessionKey("acl-probe")}, scriptCommands...).StringSlice()
	if err != nil {
		return nil
	}
	return bad
}
