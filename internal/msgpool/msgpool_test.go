package msgpool

import (
	"bytes"
	"testing"
)

// TestReuse: a pooled encoder comes back empty and writes compact
// integers, whatever the previous user left in it.
func TestReuse(t *testing.T) {
	e := Get()
	if err := e.Enc.EncodeInt(1 << 40); err != nil {
		t.Fatal(err)
	}
	Put(e)
	for range 3 {
		e = Get()
		if e.Buf.Len() != 0 {
			t.Fatalf("buffer holds %d bytes", e.Buf.Len())
		}
		if err := e.Enc.Encode(int64(5)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Buf.Bytes(), []byte{5}) {
			t.Fatalf("5 encoded as % x, want a fixint", e.Buf.Bytes())
		}
		Put(e)
	}
	big := Get()
	big.Buf.Grow(maxPooled + 1)
	Put(big) // dropped, not pooled; nothing to observe but no panic
}
