package persist_test

import (
	"encoding/hex"
	"fmt"

	"github.com/orsgo/engine/persist"
	"github.com/redis/go-redis/v9"
)

// A Redis store that seals its records with AES-256-GCM, during a key
// rotation (records under the old key are read, and sealed again with the
// new one when next written; RedisStore.Rekey does the rest), and hashes
// session ids in its keys. persist.Open builds the same from the
// encryption-* and hash-* options.
func ExampleNewSealer() {
	newKey, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c")
	oldKey, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	hashKey, _ := hex.DecodeString("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	sealer, err := persist.NewSealer(persist.SealerOptions{Key: newKey, OldKeys: [][]byte{oldKey}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("records sealed with key id", sealer.CurrentKeyID())
	store, err := persist.NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), persist.RedisOptions{
		Cluster: "prod",
		Sealer:  sealer,
		KeyHash: hashKey,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	fmt.Println(store.SessionKey("ors-node-1~4b2e6a1c-0000-4000-8000-000000000001"))
	// Output:
	// records sealed with key id 1d05c010
	// ORS:prod:session:{1bz}:bc1e55a41e3c85727f645a7b9dbc6dd9
}
