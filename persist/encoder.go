package persist

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// pooledEncoder is a msgpack encoder with its buffer, reused for record
// envelopes: growing a fresh buffer to a record's size was a quarter of
// the bytes a checkpoint allocated. Encoders use compact integers. (The
// snapshot inside a record is encoded by package snapshot, with its own
// pool: persist sees it as bytes.)
type pooledEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}}

func getEncoder() *pooledEncoder {
	e := encoders.Get().(*pooledEncoder)
	e.buf.Reset()
	e.enc.Reset(&e.buf)
	e.enc.UseCompactInts(true)
	return e
}

func putEncoder(e *pooledEncoder) {
	if e.buf.Cap() <= 64<<10 { // not a rare huge record's buffer
		encoders.Put(e)
	}
}
