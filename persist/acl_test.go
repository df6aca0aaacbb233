package persist

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// aclCommands are the commands the store needs, as the README's minimal
// ACL line allows them.
const aclCommands = "+ping +info +hello +command +cluster|slots " +
	"+get +set +getrange +eval +evalsha +exists +del +pexpire +sadd +srem +smembers +scard " +
	"+incr +hget +hset +hscan +hdel +zadd +zrem +zscore +zrange +zrangebyscore"

// aclUser is the README's minimal ACL line for user ors of cluster-name
// cluster.
func aclUser(cluster, password, commands string) string {
	return "user ors on >" + password + " resetkeys ~ORS:" + cluster + ":* resetchannels -@all " + commands
}

func aclServer(t *testing.T, commands string) *redistest.Server {
	return redistest.Standalone(t, redistest.WithConfig(
		"user default off",
		"user admin on >adminpw ~* &* +@all",
		aclUser("opentest", "s3cret", commands),
	))
}

func TestOpenACL(t *testing.T) {
	srv := aclServer(t, aclCommands)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "admin", Password: "adminpw"})
	defer admin.Close()
	if err := admin.Set(ctx, "ORS:othercluster:session:{x}", "secret call data", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Set(ctx, "customer:42", "secret", 0).Err(); err != nil {
		t.Fatal(err)
	}

	s := redisSections(srv.Addr)
	s["persistence"]["username"] = "ors"
	s["persistence"]["password"] = "s3cret"
	st, err := Open(ctx, openConfig(t, s))
	if err != nil {
		t.Fatalf("Open with the minimal ACL: %v", err)
	}
	defer st.Close()
	saveLoad(t, st)
	rs := st.(*RedisStore)
	if err := rs.Touch(ctx, Writer{Node: "n1"}, []string{"gone"}); err == nil {
		t.Error("Touch of a missing record: no error")
	}
	if _, err := rs.Sweep(ctx); err != nil {
		t.Errorf("Sweep under the minimal ACL: %v", err)
	}
	// The user cannot read outside ORS:<cluster-name>:*.
	for _, key := range []string{"ORS:othercluster:session:{x}", "customer:42"} {
		err := rs.c.Get(ctx, key).Err()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("GET %s as ors: %v, want NOPERM", key, err)
		}
	}
	if err := rs.c.Do(ctx, "keys", "*").Err(); err == nil {
		t.Error("KEYS allowed to ors")
	}
	// Nothing of the probe is left behind.
	if keys := admin.Keys(ctx, "ORS:opentest:*").Val(); len(keys) != 0 {
		t.Errorf("keys left: %v", keys)
	}

	t.Run("wrong password", func(t *testing.T) {
		s := redisSections(srv.Addr)
		s["persistence"]["username"] = "ors"
		s["persistence"]["password"] = "wrong"
		openErr(t, s, `[persistence] username/password: Redis at `+srv.Addr+` refused the password of user "ors"`)
	})
	t.Run("unknown user", func(t *testing.T) {
		s := redisSections(srv.Addr)
		s["persistence"]["username"] = "bob"
		s["persistence"]["password"] = "s3cret"
		openErr(t, s, `[persistence] username/password: Redis at `+srv.Addr+` refused the password of user "bob"`)
	})
	t.Run("no credentials", func(t *testing.T) {
		openErr(t, redisSections(srv.Addr), `[persistence] password: Redis at `+srv.Addr+` requires authentication`)
	})
	t.Run("key pattern of another cluster", func(t *testing.T) {
		s := redisSections(srv.Addr)
		s["orchestration"]["cluster-name"] = "othercluster"
		s["persistence"]["username"] = "ors"
		s["persistence"]["password"] = "s3cret"
		openErr(t, s, `[persistence] username: Redis at `+srv.Addr+` refused user "ors" access to the store's keys: its ACL key pattern must include ~ORS:<cluster-name>:*`)
	})
	// Nothing half-started: the failed Opens left no connection to the
	// server (only admin's) and no goroutine behind.
	st.Close()
	goroutines := runtime.NumGoroutine()
	for range 3 {
		s := redisSections(srv.Addr)
		s["persistence"]["username"], s["persistence"]["password"] = "ors", "wrong"
		if st, err := Open(ctx, openConfig(t, s)); err == nil {
			st.Close()
			t.Fatal("Open with a wrong password succeeded")
		}
		s["persistence"]["password"] = "s3cret"
		s["orchestration"]["cluster-name"] = "othercluster"
		if st, err := Open(ctx, openConfig(t, s)); err == nil {
			st.Close()
			t.Fatal("Open outside the ACL's keys succeeded")
		}
	}
	waitFor(t, "failed Opens to close their connections", func() bool {
		info := admin.Info(ctx, "clients").Val()
		return strings.Contains(info, "connected_clients:1\r\n") && runtime.NumGoroutine() <= goroutines
	})
	for _, missing := range []string{"+evalsha", "+smembers", "+pexpire", "+getrange"} {
		t.Run("without "+missing, func(t *testing.T) {
			srv := aclServer(t, strings.Replace(aclCommands, missing+" ", "", 1))
			s := redisSections(srv.Addr)
			s["persistence"]["username"] = "ors"
			s["persistence"]["password"] = "s3cret"
			openErr(t, s, `[persistence] username: Redis at `+srv.Addr, `command `+strings.ToUpper(missing[1:]), `user "ors"`)
		})
	}
}

// A password given for a Redis whose default user needs none is a
// mistake (Redis accepts any password then): reported at Open.
func TestOpenPasswordNotNeeded(t *testing.T) {
	srv := redistest.Standalone(t)
	s := redisSections(srv.Addr)
	s["persistence"]["password"] = "s3cret"
	openErr(t, s, `[persistence] password: set, but Redis at `+srv.Addr+` requires none`)
	// With requirepass it is right.
	pw := redistest.Standalone(t, redistest.WithPassword("s3cret"))
	s = redisSections(pw.Addr)
	s["persistence"]["password"] = "s3cret"
	st, err := Open(context.Background(), openConfig(t, s))
	if err != nil {
		t.Fatal(err)
	}
	saveLoad(t, st)
	st.Close()
	s["persistence"]["password"] = "wrong"
	openErr(t, s, `[persistence] username/password: Redis at `+pw.Addr+` refused the password of the default user`)
}

// The README shows the ACL line the tests prove.
func TestACLLineInREADME(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if line := aclUser("prod", "PASSWORD", aclCommands); !strings.Contains(string(b), "    "+line+"\n") {
		t.Fatalf("README.md lacks the minimal ACL line:\n%s", line)
	}
}

// Every command the store's scripts run is in scriptCommands, which
// names the command an ACL refuses, and in the README's minimal ACL line
// (aclCommands, which the tests above prove).
func TestScriptCommands(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	listed := map[string]bool{}
	for _, c := range scriptCommands {
		listed[strings.Fields(c.(string))[0]] = true
	}
	used := regexp.MustCompile(`redis\.call\('([A-Za-z]+)'`).FindAllSubmatch(src, -1)
	if len(used) == 0 {
		t.Fatal("no redis.call found in the scripts")
	}
	for _, m := range used {
		cmd := strings.ToLower(string(m[1]))
		if !listed[cmd] {
			t.Errorf("scripts run %s, not in scriptCommands", cmd)
		}
		if !strings.Contains(aclCommands+" ", "+"+cmd+" ") {
			t.Errorf("scripts run %s, not in the minimal ACL line", cmd)
		}
	}
}

// TestVolatileACL: the volatile registry (Register, Unregister, and
// Volatile's HSCAN pages with HDEL) works under the minimal ACL line
// (aclCommands, the README's), which has +hscan and +hdel for it.
func TestVolatileACL(t *testing.T) {
	srv := aclServer(t, aclCommands)
	ctx := context.Background()
	s := redisSections(srv.Addr)
	s["persistence"]["username"] = "ors"
	s["persistence"]["password"] = "s3cret"
	st, err := Open(ctx, openConfig(t, s))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	v := st.(Volatile)
	for _, id := range []string{"v1", "v2", "v3"} {
		if err := v.Register(ctx, "n1", id, "digital"); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Unregister(ctx, "n1", "v2"); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	vs, err := v.Volatile(ctx, "n1", true)
	if err != nil || len(vs) != 2 || vs[0].SessionID != "v1" || vs[1].SessionID != "v3" {
		t.Fatalf("Volatile: %v, %v", vs, err)
	}
	if vs, err := v.Volatile(ctx, "n1", false); err != nil || len(vs) != 0 {
		t.Fatalf("Volatile after clear: %v, %v", vs, err)
	}
}
