package config_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orsgo/engine/config"
)

func Example() {
	const ini = `
[orchestration]
sessionid-with-nodeid = true
node-id = ors-node-1
cluster-name = prod

[persistence]
type = redis
redis-nodes = redis-1:6379;redis-2:6379;redis-3:6379
redis-connect-timeout = 2000

[log]
verbose = all
`
	c, err := config.Parse(strings.NewReader(ini), "ors.ini")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := c.Persistence
	fmt.Println(c.Node, c.Cluster, p.Type, p.RedisNodes)
	fmt.Println(p.ConnectTimeout, p.SocketTimeout, p.SessionTTL)

	// Every mistake is reported, with its line.
	_, err = config.Parse(strings.NewReader(`
[persistence]
type = redis
redis-nodes = redis-1
tls-enabled = yes
`), "bad.ini")
	fmt.Println(err)
	fmt.Println(errors.Is(err, config.ErrInvalid))
	// Output:
	// ors-node-1 prod redis [redis-1:6379 redis-2:6379 redis-3:6379]
	// 2s 3s 24h0m0s
	// bad.ini:3: [orchestration] cluster-name: required when [persistence] type is redis (keys are ORS:<cluster-name>)
	// bad.ini:3: [orchestration] sessionid-with-nodeid: must be true when [persistence] type is redis, or a backup cannot tell which sessions to recover
	// bad.ini:4: [persistence] redis-nodes: "redis-1" is not host:port
	// bad.ini:5: [persistence] tls-enabled: "yes" is not a boolean (true or false)
	// true
}
