// Package msgp appends msgpack encodings to byte slices, for the
// checkpoint path: the snapshot (package snapshot) and the datamodel's
// variables (package ecmascript) are written straight into one reused
// buffer, without an encoder, a writer interface or reflection.
//
// Every function writes exactly the bytes msgpack/v5's Encoder writes
// with compact integers (internal/msgpool's configuration) for the same
// call: EncodeInt, EncodeUint, EncodeString, EncodeBytes, EncodeFloat64,
// EncodeTime, EncodeMapLen, EncodeArrayLen, EncodeExtHeader (the tests
// compare both encoders on every case), so that what msgpack/v5 decodes
// is exactly what was written. Which calls make a snapshot is the
// snapshot package's format (version 2; it also reads version 1).
package msgp

import (
	"encoding/binary"
	"math"
	"time"
)

// AppendNil appends nil.
func AppendNil(b []byte) []byte { return append(b, 0xc0) }

// AppendBool appends v.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// AppendUint appends n in 1, 2, 3, 5 or 9 bytes (Encoder.EncodeUint).
func AppendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

// AppendInt appends n in 1, 2, 3, 5 or 9 bytes (Encoder.EncodeInt):
// non-negative numbers as AppendUint does.
func AppendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return AppendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n)) // negative fixint
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

// AppendFloat64 appends n as a float 64 (no compact floats).
func AppendFloat64(b []byte, n float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(n))
}

// AppendStrLen appends the header of a string of l bytes.
func AppendStrLen(b []byte, l int) []byte {
	switch {
	case l < 32:
		return append(b, 0xa0|byte(l))
	case l < 256:
		return append(b, 0xd9, byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(l))
}

// AppendStr appends s.
func AppendStr(b []byte, s string) []byte {
	return append(AppendStrLen(b, len(s)), s...)
}

// AppendBin appends p as bin, or nil for a nil slice.
func AppendBin(b, p []byte) []byte {
	if p == nil {
		return AppendNil(b)
	}
	switch l := len(p); {
	case l < 256:
		b = append(b, 0xc4, byte(l))
	case l <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(l))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(l))
	}
	return append(b, p...)
}

// AppendMapLen appends the header of a map of l entries.
func AppendMapLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x80|byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(l))
}

// AppendArrayLen appends the header of an array of l items.
func AppendArrayLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x90|byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(l))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(l))
}

// AppendExtHeader appends the header of an extension of type id and l
// bytes of payload.
func AppendExtHeader(b []byte, id int8, l int) []byte {
	switch l {
	case 1:
		b = append(b, 0xd4)
	case 2:
		b = append(b, 0xd5)
	case 4:
		b = append(b, 0xd6)
	case 8:
		b = append(b, 0xd7)
	case 16:
		b = append(b, 0xd8)
	default:
		switch {
		case l <= math.MaxUint8:
			b = append(b, 0xc7, byte(l))
		case l <= math.MaxUint16:
			b = binary.BigEndian.AppendUint16(append(b, 0xc8), uint16(l))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xc9), uint32(l))
		}
	}
	return append(b, byte(id))
}

// AppendTime appends t as the msgpack timestamp extension (type -1), in
// 4, 8 or 12 bytes as Encoder.EncodeTime chooses.
func AppendTime(b []byte, t time.Time) []byte {
	secs := uint64(t.Unix())
	if secs>>34 == 0 {
		data := uint64(t.Nanosecond())<<34 | secs
		if data&0xffffffff00000000 == 0 {
			return binary.BigEndian.AppendUint32(AppendExtHeader(b, -1, 4), uint32(data))
		}
		return binary.BigEndian.AppendUint64(AppendExtHeader(b, -1, 8), data)
	}
	b = binary.BigEndian.AppendUint32(AppendExtHeader(b, -1, 12), uint32(t.Nanosecond()))
	return binary.BigEndian.AppendUint64(b, secs)
}
