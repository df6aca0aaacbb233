package msgp

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/msgpool"
)

// TestSameBytesAsEncoder: every append function writes what msgpack's
// Encoder (as msgpool configures it) writes for the same call, at every
// boundary of the formats.
func TestSameBytesAsEncoder(t *testing.T) {
	check := func(what string, got []byte, enc func(e *msgpool.Encoder) error) {
		t.Helper()
		e := msgpool.Get()
		defer msgpool.Put(e)
		if err := enc(e); err != nil {
			t.Fatal(err)
		}
		if want := e.Buf.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("%s: % x, msgpack writes % x", what, got, want)
		}
	}
	for _, n := range []int64{0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		check("int", AppendInt([]byte{7}, n)[1:], func(e *msgpool.Encoder) error { return e.Enc.EncodeInt(n) })
		if n >= 0 {
			check("uint", AppendUint(nil, uint64(n)), func(e *msgpool.Encoder) error { return e.Enc.EncodeUint(uint64(n)) })
		}
	}
	check("uint max", AppendUint(nil, math.MaxUint64), func(e *msgpool.Encoder) error { return e.Enc.EncodeUint(math.MaxUint64) })
	for _, l := range []int{0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", l)
		check("str", AppendStr(nil, s), func(e *msgpool.Encoder) error { return e.Enc.EncodeString(s) })
		check("bin", AppendBin(nil, []byte(s)), func(e *msgpool.Encoder) error { return e.Enc.EncodeBytes([]byte(s)) })
		check("map", AppendMapLen(nil, l), func(e *msgpool.Encoder) error { return e.Enc.EncodeMapLen(l) })
		check("array", AppendArrayLen(nil, l), func(e *msgpool.Encoder) error { return e.Enc.EncodeArrayLen(l) })
		for _, id := range []int8{'X', -1} {
			check("ext", AppendExtHeader(nil, id, l), func(e *msgpool.Encoder) error { return e.Enc.EncodeExtHeader(id, l) })
		}
	}
	for _, l := range []int{2, 4, 8} {
		check("ext", AppendExtHeader(nil, 'X', l), func(e *msgpool.Encoder) error { return e.Enc.EncodeExtHeader('X', l) })
	}
	check("nil bin", AppendBin(nil, nil), func(e *msgpool.Encoder) error { return e.Enc.EncodeBytes(nil) })
	check("nil", AppendNil(nil), func(e *msgpool.Encoder) error { return e.Enc.EncodeNil() })
	for _, v := range []bool{false, true} {
		check("bool", AppendBool(nil, v), func(e *msgpool.Encoder) error { return e.Enc.EncodeBool(v) })
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, 2.5, -1e300, math.Inf(1), math.NaN()} {
		check("float", AppendFloat64(nil, f), func(e *msgpool.Encoder) error { return e.Enc.EncodeFloat64(f) })
	}
	for _, tm := range []time.Time{time.Unix(0, 0), time.Unix(1700000000, 0), time.Unix(1700000000, 123456789),
		time.Unix(1<<34, 0), time.Unix(-1, 5), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
		check("time", AppendTime(nil, tm), func(e *msgpool.Encoder) error { return e.Enc.EncodeTime(tm) })
	}
}
