package persist_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orsgo/engine/persist"
	"github.com/redis/go-redis/v9"
)

// A node checkpoints its sessions; after it fails, a backup lists them
// and loads each one.
func ExampleMemoryStore() {
	ctx := context.Background()
	store := persist.NewMemory(persist.MemoryOptions{TTL: time.Hour})
	defer store.Close()

	// Node A saves a checkpoint after each macrostep.
	for seq := uint64(1); seq <= 3; seq++ {
		data := fmt.Appendf(nil, "snapshot %d", seq)
		if err := store.Save(ctx, &persist.Record{SessionID: "call-1", Node: "A", Type: "voice", Seq: seq, Data: data}); err != nil {
			fmt.Println(err)
		}
	}
	_ = store.Save(ctx, &persist.Record{SessionID: "call-2", Node: "A", Type: "voice", Seq: 1})
	// A checkpoint overtaken by a later one is refused.
	err := store.Save(ctx, &persist.Record{SessionID: "call-1", Node: "A", Seq: 2})
	fmt.Println(errors.Is(err, persist.ErrStale))

	// Call 2 ends.
	_ = store.Delete(ctx, persist.Writer{Node: "A"}, "call-2")

	// Node A fails; node B takes its sessions over.
	ids, _ := store.ListNode(ctx, "A")
	fmt.Println(ids)
	rec, _ := store.Load(ctx, "call-1")
	fmt.Printf("%s seq %d: %s\n", rec.SessionID, rec.Seq, rec.Data)
	_, err = store.Load(ctx, "call-2")
	fmt.Println(err, errors.Is(err, persist.ErrNotFound))
	// Output:
	// true
	// [call-1]
	// call-1 seq 3: snapshot 3
	// session call-2: persist: not found true
}

// A store on a Redis Cluster, authenticating as an ACL user. The user
// needs the ORS keys and the commands of the README's minimal ACL line:
// ping info hello command cluster|slots get set getrange eval evalsha
// exists del pexpire sadd srem smembers scard.
func ExampleNewRedis() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:    []string{"redis-1:6379", "redis-2:6379", "redis-3:6379"},
		Username: "ors",
		Password: "secret",
		// TLSConfig: &tls.Config{...} for tls-enabled.
	})
	store, err := persist.NewRedis(client, persist.RedisOptions{
		Cluster: "ORS_Cluster", // keys ORS:ORS_Cluster:...
		TTL:     12 * time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close() // and the client
	var _ persist.Store = store
}
