// Package redistest starts real redis-server processes on 127.0.0.1 for
// tests: standalone servers (optionally with a password or an ACL user)
// and Redis Clusters of masters and replicas, on free ports, each in its
// own t.TempDir(), without persistence. They are stopped by pid in
// t.Cleanup.
//
// When redis-server (or, for a cluster, redis-cli) is not installed the
// test is skipped with a message saying how to install it, unless the
// environment has CI=true: then it fails.
//
// Servers belong to the test that started them; to share one cluster, a
// test starts it and runs subtests. Waits poll with generous deadlines,
// for loaded machines; REDISTEST_DEBUG=1 logs each unsuccessful poll.
// Helpers that can fail take the calling (sub)test's testing.TB; a
// RedisCluster is safe for use by concurrent subtests.
package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// installHint says how to get the binaries.
const installHint = "install Redis (apt-get install -y redis-server, which brings redis-cli) or run ./scripts/test.sh"

// lookPath finds a Redis binary, or skips (fails, when CI=true) the test.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("redistest: %s not found in PATH: %s", name, installHint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Server is a running redis-server.
type Server struct {
	// Addr is host:port, on 127.0.0.1.
	Addr string
	// Port is Addr's port.
	Port int
	// Dir is the server's working directory (config, log, nodes.conf).
	Dir string
	// TLS is, for a server started WithTLS, the client configuration that
	// trusts it and presents a client certificate; nil otherwise.
	TLS *tls.Config

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
	stop   sync.Once
}

// Option configures a standalone server.
type Option func(*config)

type config struct {
	lines []string
	user  string
	pass  string
	pki   *PKI
}

// tlsConfig returns the helpers' client TLS configuration, or nil.
func (c *config) tlsConfig(t testing.TB) *tls.Config {
	if c.pki == nil {
		return nil
	}
	return c.pki.ClientTLS(t)
}

// WithPassword sets requirepass: clients authenticate with AUTH pw as the
// default user.
func WithPassword(pw string) Option {
	return func(c *config) {
		c.lines = append(c.lines, "requirepass "+pw)
		c.pass = pw
	}
}

// WithUser adds an ACL user allowed every command on every key and
// channel, and turns the default user off: clients must authenticate
// with this username and password.
func WithUser(name, password string) Option {
	return func(c *config) {
		c.lines = append(c.lines,
			"user default off",
			fmt.Sprintf("user %s on >%s ~* &* +@all", name, password))
		c.user, c.pass = name, password
	}
}

// WithConfig appends raw redis.conf lines ("maxmemory 10mb").
func WithConfig(lines ...string) Option {
	return func(c *config) { c.lines = append(c.lines, lines...) }
}

// Standalone starts one redis-server and waits until it answers.
func Standalone(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePorts(t, 1, false)[0]
		s, err := start(t, bin, port, cfg.lines, cfg.tlsConfig(t))
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for
// it to exit. It is safe to call more than once; t.Cleanup calls it too.
func (s *Server) Stop() {
	s.stop.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Running reports whether the process has not exited.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// start writes a config into a fresh directory, starts redis-server on
// port (its tls-port, with port 0, when tc is not nil) and waits until it
// answers. An error means the server did not come up (it is stopped
// then); the caller may retry on another port.
func start(t testing.TB, bin string, port int, lines []string, tc *tls.Config) (*Server, error) {
	t.Helper()
	dir := t.TempDir()
	portLines := []string{"port " + strconv.Itoa(port)}
	if tc != nil {
		portLines = []string{"port 0", "tls-port " + strconv.Itoa(port)}
	}
	conf := append(portLines,
		"bind 127.0.0.1",
		"protected-mode no",
		"daemonize no",
		`save ""`,
		"appendonly no",
		"dir "+dir,
		"logfile "+filepath.Join(dir, "redis.log"),
	)
	conf = append(conf, lines...)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, path)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start %s: %v", bin, err)
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, TLS: tc, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ping(s.Addr, tc) == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("redis-server on port %d exited: %s", port, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer within 30s: %s", port, s.logTail())
		}
	}
}

// ping sends PING on a fresh connection (TLS with tc): any reply, even
// NOAUTH, means the server serves.
func ping(addr string, tc *tls.Config) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if tc != nil {
		tc = tc.Clone()
		// Only whether it serves: a test may give it a certificate that
		// does not verify, on purpose.
		tc.InsecureSkipVerify = true
		tlsConn := tls.Client(c, tc)
		_ = tlsConn.SetDeadline(time.Now().Add(2 * time.Second))
		if err := tlsConn.Handshake(); err != nil {
			return err
		}
		c = tlsConn
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line == "" || (line[0] != '+' && line[0] != '-') {
		return fmt.Errorf("unexpected reply %q", line)
	}
	if strings.HasPrefix(line, "-LOADING") {
		return errors.New(strings.TrimSpace(line))
	}
	return nil
}

// logTail returns the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// freePorts returns n distinct free ports on 127.0.0.1, found by binding
// port 0. With bus, port+10000 (the cluster bus port) is free too and
// none of the ports collides with another's bus port. The ports are free
// when it returns; the servers started on them retry on a collision.
func freePorts(t testing.TB, n int, bus bool) []int {
	t.Helper()
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	listen := func(port int) bool {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		held = append(held, l)
		return true
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatal("redistest: no free ports on 127.0.0.1")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		if bus && (p+10000 > 65535 || !listen(p+10000)) {
			continue
		}
		ports = append(ports, p)
	}
	return ports
}

// client returns a go-redis client of one server (over TLS with tc),
// closed at cleanup.
func client(t testing.TB, addr string, tc *tls.Config) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tc, MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// poll calls f every 50ms until it returns nil, and fails the test with
// f's last error after timeout.
func poll(t testing.TB, timeout time.Duration, what string, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if os.Getenv("REDISTEST_DEBUG") != "" {
			t.Logf("%v %s: %v", time.Now().Format("15:04:05.000"), what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
