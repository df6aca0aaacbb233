package persist

import (
	"strconv"
	"sync"
)

// Redis Cluster slots: a key's slot is CRC16 (XMODEM) of its hash tag
// (the part between the first '{' and the next '}', when not empty) or
// of the whole key, modulo 16384. RedisStore names its shards by hash
// tags chosen for their slot.

const numSlots = 16384

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(s string) uint16 {
	var c uint16
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^s[i]]
	}
	return c
}

var (
	slotTagsOnce sync.Once
	slotTags     []string
)

// slotTag returns a short string whose slot, as a hash tag, is slot: the
// first base-36 number that hashes there. The table is built once (some
// 170,000 CRCs).
func slotTag(slot int) string {
	slotTagsOnce.Do(func() {
		slotTags = make([]string, numSlots)
		left := numSlots
		for i := 0; left > 0; i++ {
			t := strconv.FormatInt(int64(i), 36)
			if s := crc16(t) % numSlots; slotTags[s] == "" {
				slotTags[s] = t
				left--
			}
		}
	})
	return slotTags[slot]
}
