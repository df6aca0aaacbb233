// Package msgpool pools msgpack encoders with their buffers for the
// checkpoint path, where snapshots (package snapshot) and record
// envelopes (package persist) are encoded: growing a fresh buffer to a
// checkpoint's size was a quarter of the bytes a checkpoint allocated.
package msgpool

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// maxPooled is the largest buffer returned to the pool, so that a rare
// huge snapshot does not stay allocated for ever.
const maxPooled = 64 << 10

// Encoder is a msgpack encoder writing into Buf, with compact integers.
type Encoder struct {
	Buf bytes.Buffer
	Enc *msgpack.Encoder
}

var pool = sync.Pool{New: func() any {
	e := &Encoder{}
	e.Enc = msgpack.NewEncoder(&e.Buf)
	return e
}}

// Get returns an Encoder with an empty buffer. Copy out what it wrote
// before Put.
func Get() *Encoder {
	e := pool.Get().(*Encoder)
	e.Buf.Reset()
	e.Enc.Reset(&e.Buf)
	e.Enc.UseCompactInts(true)
	return e
}

// Put returns e to the pool; e must not be used afterwards.
func Put(e *Encoder) {
	if e.Buf.Cap() <= maxPooled {
		pool.Put(e)
	}
}
