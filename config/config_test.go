package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// redisOK is the smallest valid redis configuration; option tests add to it
// or override it (an option set twice is an error, so cases that change
// one of these start from scratch).
const redisOK = `[orchestration]
sessionid-with-nodeid = true
node-id = ors-node-1
cluster-name = prod
[persistence]
type = redis
redis-nodes = redis-1:6379
`

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "redis.test")
	notPEM := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	expand := func(s string) string {
		return strings.NewReplacer("$CERT", cert, "$KEY", key, "$DIR", dir, "$MISSING", missing).Replace(s)
	}

	for _, tc := range []struct {
		name string
		ini  string
		// want checks a successful parse; wantErr is the expected error
		// text (a substring of it), one per line of the joined error.
		want    func(*Config) bool
		wantErr []string
	}{
		// [persistence] type
		{name: "type redis", ini: redisOK, want: func(c *Config) bool { return c.Persistence.Type == TypeRedis }},
		{name: "type none", ini: "[persistence]\ntype = none\n", want: func(c *Config) bool { return c.Persistence.Type == TypeNone }},
		{name: "type memory upper case", ini: "[Persistence]\nTYPE = Memory\n", want: func(c *Config) bool { return c.Persistence.Type == TypeMemory }},
		{name: "type empty is default", ini: "[persistence]\ntype =\n", want: func(c *Config) bool { return c.Persistence.Type == TypeNone }},
		{name: "type cassandra", ini: "[persistence]\ntype = cassandra\n",
			wantErr: []string{`ors.ini:2: [persistence] type: "cassandra" is not supported by this engine (use redis)`}},
		{name: "type unknown", ini: "[persistence]\ntype = mongo\n",
			wantErr: []string{`ors.ini:2: [persistence] type: "mongo" is not one of none, memory, redis`}},

		// [persistence] redis-nodes
		{name: "nodes list", ini: "[persistence]\nredis-nodes = a:1; b:6380 ,[::1]:6379,\n",
			want: func(c *Config) bool {
				return reflect.DeepEqual(c.Persistence.RedisNodes, []string{"a:1", "b:6380", "[::1]:6379"})
			}},
		{name: "nodes required for redis", ini: strings.Replace(redisOK, "redis-nodes = redis-1:6379\n", "", 1),
			wantErr: []string{`ors.ini:6: [persistence] redis-nodes: at least one host:port required when type is redis`}},
		{name: "nodes empty value for redis", ini: strings.Replace(redisOK, "redis-1:6379", "", 1),
			wantErr: []string{`ors.ini:7: [persistence] redis-nodes: at least one host:port required`}},
		{name: "node without port", ini: "[persistence]\nredis-nodes = redis-1\n",
			wantErr: []string{`ors.ini:2: [persistence] redis-nodes: "redis-1" is not host:port`}},
		{name: "node without host", ini: "[persistence]\nredis-nodes = :6379\n",
			wantErr: []string{`":6379" has no host`}},
		{name: "node port 0 and too large", ini: "[persistence]\nredis-nodes = a:0;b:65536\n",
			wantErr: []string{`"a:0": port "0" is not a number from 1 to 65535; "b:65536": port "65536" is not`}},
		{name: "node port not a number", ini: "[persistence]\nredis-nodes = a:x\n",
			wantErr: []string{`"a:x": port "x" is not a number`}},
		{name: "node unbracketed ipv6", ini: "[persistence]\nredis-nodes = ::1:6379\n",
			wantErr: []string{`"::1:6379" is not host:port`}},
		{name: "node twice", ini: "[persistence]\nredis-nodes = a:1,a:1\n",
			wantErr: []string{`"a:1" listed twice`}},

		// username, password
		{name: "credentials", ini: "[persistence]\nusername = ors\npassword = p#ss;word = x\n",
			want: func(c *Config) bool {
				return c.Persistence.Username == "ors" && c.Persistence.Password == "p#ss;word = x"
			}},
		{name: "password alone", ini: "[persistence]\npassword = s3cret\n",
			want: func(c *Config) bool { return c.Persistence.Password == "s3cret" }},
		{name: "username alone", ini: "[persistence]\nusername = ors\n",
			wantErr: []string{`ors.ini:2: [persistence] username: set without password`}},

		// tls-*
		{name: "tls on", ini: "[persistence]\ntls-enabled = TRUE\ntls-cert = $CERT\ntls-key = $KEY\ntls-cacert = $CERT\ntls-cacertdir = $DIR\ntls-sni = redis.test\n",
			want: func(c *Config) bool {
				t := c.Persistence.TLS
				return t.Enabled && t.CertFile == cert && t.KeyFile == key && t.CACertFile == cert && t.CACertDir == dir && t.ServerName == "redis.test"
			}},
		{name: "tls-enabled false", ini: "[persistence]\ntls-enabled = false\n", want: func(c *Config) bool { return !c.Persistence.TLS.Enabled }},
		{name: "tls-enabled yes", ini: "[persistence]\ntls-enabled = yes\n",
			wantErr: []string{`ors.ini:2: [persistence] tls-enabled: "yes" is not a boolean (true or false)`}},
		{name: "tls-cert alone", ini: "[persistence]\ntls-cert = $CERT\n",
			wantErr: []string{`ors.ini:2: [persistence] tls-cert: set without tls-key (both or neither)`}},
		{name: "tls-key alone", ini: "[persistence]\n\ntls-key = $KEY\n",
			wantErr: []string{`ors.ini:3: [persistence] tls-key: set without tls-cert (both or neither)`}},
		{name: "tls-cert missing file", ini: "[persistence]\ntls-enabled = true\ntls-cert = $MISSING\ntls-key = $KEY\n",
			wantErr: []string{`ors.ini:3: [persistence] tls-cert: "$MISSING": no such file or directory`}},
		{name: "tls-key is a directory", ini: "[persistence]\ntls-enabled = true\ntls-cert = $CERT\ntls-key = $DIR\n",
			wantErr: []string{`ors.ini:4: [persistence] tls-key: "$DIR" is a directory, not a file`}},
		{name: "tls-cacert missing", ini: "[persistence]\ntls-enabled = true\ntls-cacert = $MISSING\n",
			wantErr: []string{`[persistence] tls-cacert: "$MISSING": no such file`}},
		{name: "tls-cacertdir is a file", ini: "[persistence]\ntls-enabled = true\ntls-cacertdir = $CERT\n",
			wantErr: []string{`[persistence] tls-cacertdir: "$CERT" is not a directory`}},
		{name: "tls files not looked for when disabled", ini: "[persistence]\ntls-cert = $MISSING\ntls-key = $MISSING\ntls-cacertdir = $MISSING\n",
			want: func(c *Config) bool { return c.Persistence.TLS.CertFile == missing }},
		{name: "tls-sni with space", ini: "[persistence]\ntls-sni = redis test\n",
			wantErr: []string{`[persistence] tls-sni: "redis test" contains spaces`}},

		// timeouts and TTL
		{name: "timeouts", ini: "[persistence]\nredis-connect-timeout = 1500\nredis-socket-timeout = 250\nsession-ttl = 3600\n",
			want: func(c *Config) bool {
				p := c.Persistence
				return p.ConnectTimeout == 1500*time.Millisecond && p.SocketTimeout == 250*time.Millisecond && p.SessionTTL == time.Hour
			}},
		{name: "connect timeout not a number", ini: "[persistence]\nredis-connect-timeout = abc\n",
			wantErr: []string{`ors.ini:2: [persistence] redis-connect-timeout: "abc" is not a duration in milliseconds`}},
		{name: "connect timeout with unit", ini: "[persistence]\nredis-connect-timeout = 5s\n",
			wantErr: []string{`"5s" is not a duration in milliseconds`}},
		{name: "socket timeout zero", ini: "[persistence]\nredis-socket-timeout = 0\n",
			wantErr: []string{`ors.ini:2: [persistence] redis-socket-timeout: 0 milliseconds must be greater than 0`}},
		{name: "socket timeout negative", ini: "[persistence]\nredis-socket-timeout = -5\n",
			wantErr: []string{`redis-socket-timeout: -5 milliseconds must be greater than 0`}},
		{name: "ttl fraction", ini: "[persistence]\nsession-ttl = 1.5\n",
			wantErr: []string{`ors.ini:2: [persistence] session-ttl: "1.5" is not a duration in seconds`}},
		{name: "ttl overflows", ini: "[persistence]\nsession-ttl = 9223372036854775807\n",
			wantErr: []string{`session-ttl: "9223372036854775807" seconds is too large`}},
		{name: "ttl beyond int64", ini: "[persistence]\nsession-ttl = 99999999999999999999\n",
			wantErr: []string{`session-ttl: "99999999999999999999" is too large`}},

		// [orchestration]
		{name: "sessionid-with-nodeid", ini: "[orchestration]\nsessionid-with-nodeid = true\nnode-id = n1\n",
			want: func(c *Config) bool { return c.SessionIDWithNodeID && c.Node == "n1" }},
		{name: "sessionid-with-nodeid needs node-id", ini: "[orchestration]\nsessionid-with-nodeid = true\n",
			wantErr: []string{`[orchestration] node-id: required when sessionid-with-nodeid is true`}},
		{name: "sessionid-with-nodeid not bool", ini: "[orchestration]\nsessionid-with-nodeid = 1\n",
			wantErr: []string{`ors.ini:2: [orchestration] sessionid-with-nodeid: "1" is not a boolean`}},
		{name: "redis needs sessionid-with-nodeid", ini: strings.Replace(redisOK, "= true", "= false", 1),
			wantErr: []string{`ors.ini:2: [orchestration] sessionid-with-nodeid: must be true when [persistence] type is redis`}},
		{name: "node-id with space", ini: "[orchestration]\nnode-id = ors node\n",
			wantErr: []string{`ors.ini:2: [orchestration] node-id: "ors node": character ' ' at offset 3 is not one of [A-Za-z0-9_-]`}},
		{name: "node-id too long", ini: "[orchestration]\nnode-id = " + strings.Repeat("n", 33) + "\n",
			wantErr: []string{`node-id: "` + strings.Repeat("n", 33) + `": 33 characters, longer than 32`}},
		{name: "cluster-name", ini: "[orchestration]\ncluster-name = ors.prod-1_a\n",
			want: func(c *Config) bool { return c.Cluster == "ors.prod-1_a" }},
		{name: "cluster-name required for redis", ini: strings.Replace(redisOK, "cluster-name = prod\n", "", 1),
			wantErr: []string{`[orchestration] cluster-name: required when [persistence] type is redis`}},
		{name: "cluster-name with braces", ini: "[orchestration]\ncluster-name = a{b}\n",
			wantErr: []string{`ors.ini:2: [orchestration] cluster-name: "a{b}": character '{' at offset 1`}},
		{name: "cluster-name with colon", ini: "[orchestration]\ncluster-name = a:b\n",
			wantErr: []string{`character ':' at offset 1`}},
		{name: "cluster-name too long", ini: "[orchestration]\ncluster-name = " + strings.Repeat("c", 65) + "\n",
			wantErr: []string{`65 characters, longer than 64`}},

		// File syntax.
		{name: "comments, CRLF, BOM, other sections", ini: "\ufeff# ORS\r\n; app\r\n[log]\r\nverbose = all\r\n[persistence]\r\n  type = memory  \r\n",
			want: func(c *Config) bool { return c.Persistence.Type == TypeMemory }},
		{name: "unknown option", ini: "[persistence]\nredis-node = a:1\n",
			wantErr: []string{`ors.ini:2: [persistence] redis-node: unknown option (did you mean redis-nodes?)`}},
		{name: "unknown option underscore", ini: "[orchestration]\nsessionid_with_nodeid = true\n",
			wantErr: []string{`unknown option (did you mean sessionid-with-nodeid?)`}},
		{name: "unknown option no suggestion", ini: "[orchestration]\ncall-watching-timeout = 5000\n",
			wantErr: []string{`ors.ini:2: [orchestration] call-watching-timeout: unknown option`}},
		{name: "set twice", ini: "[persistence]\ntype = redis\n[persistence]\ntype = none\n",
			wantErr: []string{`ors.ini:4: [persistence] type: set more than once (first set at ors.ini:2)`}},
		{name: "bad header", ini: "[persistence\ntype = nonsense\n",
			wantErr: []string{`ors.ini:1: syntax error: "[persistence" is not a [section] header`}},
		{name: "empty header", ini: "[ ]\n",
			wantErr: []string{`ors.ini:1: syntax error: empty section name`}},
		{name: "no equals", ini: "[persistence]\ntype redis\n",
			wantErr: []string{`ors.ini:2: syntax error: "type redis" is not an option = value line`}},
		{name: "no name", ini: "[persistence]\n= redis\n",
			wantErr: []string{`ors.ini:2: syntax error: no option name before "="`}},
		{name: "outside section", ini: "type = redis\n",
			wantErr: []string{`ors.ini:1: syntax error: option "type" outside any [section]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(expand(tc.ini)), "ors.ini")
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !tc.want(c) {
					t.Errorf("Parse gave %+v", c)
				}
				return
			}
			if c != nil || err == nil {
				t.Fatalf("Parse = %+v, %v; want an error", c, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.wantErr) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tc.wantErr), err)
			}
			for i, w := range tc.wantErr {
				if w = expand(w); !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q\nwant it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

// Three independent mistakes are all reported, in line order, each with
// its line.
func TestParseReportsAllErrors(t *testing.T) {
	const ini = `# ORS node 1
[orchestration]
sessionid-with-nodeid = true
node-id = ors-node-1
cluster-name = prod

[persistence]
type = redis
redis-nodes = redis-1:6379;redis-2:70000
redis-conect-timeout = 2000
session-ttl = 1h
`
	_, err := Parse(strings.NewReader(ini), "ors.ini")
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`ors.ini:9: [persistence] redis-nodes: "redis-2:70000": port "70000" is not a number from 1 to 65535`,
		`ors.ini:10: [persistence] redis-conect-timeout: unknown option (did you mean redis-connect-timeout?)`,
		`ors.ini:11: [persistence] session-ttl: "1h" is not a duration in seconds`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 3 {
		t.Fatalf("want 3 joined errors, got %#v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Pos != "ors.ini:9" || e.Section != "persistence" || e.Option != "redis-nodes" {
		t.Errorf("first *Error = %+v", e)
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	want := &Config{Persistence: Persistence{
		Type:           TypeNone,
		ConnectTimeout: 5 * time.Second,
		SocketTimeout:  3 * time.Second,
		SessionTTL:     24 * time.Hour,
	}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults() = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v", err)
	}
	for _, ini := range []string{"", "# nothing\n", "[persistence]\n[orchestration]\n", "[persistence]\ntype =\nredis-nodes =\n"} {
		c, err := Parse(strings.NewReader(ini), "empty.ini")
		if err != nil {
			t.Fatalf("Parse(%q): %v", ini, err)
		}
		c.origin = nil
		if !reflect.DeepEqual(c, d) {
			t.Errorf("Parse(%q) = %+v; want the defaults", ini, c)
		}
	}
}

func TestValidateInCode(t *testing.T) {
	var zero Config
	err := zero.Validate()
	for _, w := range []string{
		"[persistence] redis-connect-timeout: 0 milliseconds must be greater than 0",
		"[persistence] redis-socket-timeout: 0 milliseconds must be greater than 0",
		"[persistence] session-ttl: 0 seconds must be greater than 0",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("zero Config: %v\nwant %q", err, w)
		}
	}

	c := Defaults()
	c.Persistence.Type = TypeRedis
	c.Persistence.SessionTTL = 1500 * time.Millisecond
	c.Node = "bad node"
	err = c.Validate()
	want := strings.Join([]string{
		`[orchestration] node-id: "bad node": character ' ' at offset 3 is not one of [A-Za-z0-9_-]`,
		`[orchestration] cluster-name: required when [persistence] type is redis (keys are ORS:<cluster-name>)`,
		`[orchestration] sessionid-with-nodeid: must be true when [persistence] type is redis, or a backup cannot tell which sessions to recover`,
		`[persistence] redis-nodes: at least one host:port required when type is redis`,
		`[persistence] session-ttl: 1.5s is not a whole number of seconds`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
}

func TestFromMapAndSet(t *testing.T) {
	c, err := FromMap(map[string]map[string]string{
		"orchestration": {"sessionid-with-nodeid": "true", "node-id": "n2", "cluster-name": "prod"},
		"persistence":   {"type": "redis", "redis-nodes": "r1:7000,r2:7001", "redis-socket-timeout": "100"},
		"log":           {"verbose": "all"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "n2" || c.Persistence.Type != TypeRedis || len(c.Persistence.RedisNodes) != 2 || c.Persistence.SocketTimeout != 100*time.Millisecond {
		t.Errorf("FromMap = %+v", c)
	}

	_, err = FromMap(map[string]map[string]string{
		"persistence": {"type": "redis", "tls-enabled": "on", "bogus": "1"},
	})
	want := strings.Join([]string{
		`[persistence] bogus: unknown option`,
		`[persistence] tls-enabled: "on" is not a boolean (true or false)`,
		`[orchestration] cluster-name: required when [persistence] type is redis (keys are ORS:<cluster-name>)`,
		`[orchestration] sessionid-with-nodeid: must be true when [persistence] type is redis, or a backup cannot tell which sessions to recover`,
		`[persistence] redis-nodes: at least one host:port required when type is redis`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("FromMap errors:\n%v\nwant:\n%s", err, want)
	}

	c = Defaults()
	if err := c.Set("Persistence", "Type", "memory"); err != nil || c.Persistence.Type != TypeMemory {
		t.Errorf("Set: %v, %q", err, c.Persistence.Type)
	}
	if err := c.Set("persistence", "type", "redis"); err != nil || c.Persistence.Type != TypeRedis {
		t.Errorf("Set may override: %v, %q", err, c.Persistence.Type)
	}
	if err := c.Set("log", "verbose", "all"); err == nil || err.Error() != "[log] unknown section" {
		t.Errorf("Set in an unknown section: %v", err)
	}
	if err := c.Set("persistence", "session-ttl", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Set bad value: %v", err)
	}
}

func TestParseReadError(t *testing.T) {
	_, err := Parse(iotest.ErrReader(fs.ErrClosed), "x.ini")
	if !errors.Is(err, fs.ErrClosed) || !strings.HasPrefix(err.Error(), "x.ini:1: read error") {
		t.Errorf("err = %v", err)
	}
	_, err = Parse(strings.NewReader("[persistence]\npassword = "+strings.Repeat("x", maxLine)), "x.ini")
	if err == nil || !strings.Contains(err.Error(), "x.ini:2: line longer than") {
		t.Errorf("long line: %v", err)
	}
}

func TestParseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ors.ini")
	if err := os.WriteFile(path, []byte("[persistence]\ntype = bad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFile(path); err == nil || !strings.HasPrefix(err.Error(), path+":2: [persistence] type:") {
		t.Errorf("ParseFile: %v", err)
	}
	if _, err := ParseFile(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ParseFile(missing): %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(redisOK)
	f.Add("[persistence]\ntls-cert=/nonexistent\nsession-ttl=-1\n[x\n=\n")
	f.Fuzz(func(t *testing.T, ini string) {
		c, err := Parse(strings.NewReader(ini), "f.ini")
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v", ini, c, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Parse(%q) error does not wrap ErrInvalid: %v", ini, err)
		}
		if c != nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after a successful Parse(%q): %v", ini, err)
			}
		}
	})
}
