package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// String returns the effective configuration in the file's syntax, for
// logs: every option of the three sections with its value, secrets shown
// as "[secret]" (or empty when not set), never their value.
func (c *Config) String() string {
	p := &c.Persistence
	t := &p.TLS
	var b strings.Builder
	line := func(option string, v any) { fmt.Fprintf(&b, "%s = %v\n", option, v) }
	b.WriteString("[orchestration]\n")
	line("node-id", c.Node)
	line("cluster-name", c.Cluster)
	line("sessionid-with-nodeid", c.SessionIDWithNodeID)
	b.WriteString("[persistence]\n")
	line("type", p.Type)
	line("redis-nodes", strings.Join(p.RedisNodes, ";"))
	line("username", p.Username)
	line("password", p.Password)
	line("tls-enabled", t.Enabled)
	line("tls-cert", t.CertFile)
	line("tls-key", t.KeyFile)
	line("tls-key-password", t.KeyPassword)
	line("tls-cacert", t.CACertFile)
	line("tls-cacertdir", t.CACertDir)
	line("tls-sni", t.ServerName)
	minVersion := "1.2"
	if t.MinVersion == 0x0304 {
		minVersion = "1.3"
	}
	line("tls-min-version", minVersion)
	line("redis-connect-timeout", strconv.FormatInt(int64(p.ConnectTimeout/time.Millisecond), 10))
	line("redis-socket-timeout", strconv.FormatInt(int64(p.SocketTimeout/time.Millisecond), 10))
	line("session-ttl", strconv.FormatInt(int64(p.SessionTTL/time.Second), 10))
	line("encryption-key", p.Encryption.Key)
	old := make([]string, len(p.Encryption.OldKeys))
	for i, k := range p.Encryption.OldKeys {
		old[i] = k.String()
	}
	line("encryption-old-keys", strings.Join(old, ";"))
	line("encryption-accept-plaintext", p.Encryption.AcceptPlaintext)
	line("hash-session-keys", p.HashSessionKeys)
	line("hash-key", p.HashKey)
	b.WriteString("[scxml]\n")
	line("fips-enabled", c.FIPS)
	return b.String()
}
