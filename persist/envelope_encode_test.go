package persist

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The hand-written payload encoding is byte for byte what msgpack's
// reflective encoder (compact integers) writes for the payload struct,
// at every size boundary of its str, bin and int formats, and reads back
// as the record it was made from.
func TestEncodeRecordMatchesMsgpack(t *testing.T) {
	strs := []string{"", "s", strings.Repeat("a", 31), strings.Repeat("b", 32), strings.Repeat("c", 255), strings.Repeat("d", 256), strings.Repeat("e", 65535), strings.Repeat("f", 65536)}
	datas := [][]byte{nil, {}, {1}, make([]byte, 255), make([]byte, 256), make([]byte, 65535), make([]byte, 65536)}
	times := []time.Time{{}, time.UnixMilli(1), time.UnixMilli(127), time.UnixMilli(128), time.UnixMilli(255), time.UnixMilli(256),
		time.UnixMilli(65535), time.UnixMilli(65536), time.UnixMilli(1 << 32), time.UnixMilli(-1), time.UnixMilli(-32), time.UnixMilli(-33),
		time.UnixMilli(-128), time.UnixMilli(-129), time.UnixMilli(-32768), time.UnixMilli(-32769), time.UnixMilli(-1 << 40),
		time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	n := 0
	check := func(rec *Record) {
		t.Helper()
		n++
		got, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		if err := enc.Encode(&payload{
			SessionID: rec.SessionID, Node: rec.Node, Type: rec.Type, Data: rec.Data,
			Doc: rec.Doc, DocHash: rec.DocHash[:], Created: unixMilli(rec.Created), Updated: unixMilli(rec.Updated),
		}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[headerLen:], buf.Bytes()) {
			t.Fatalf("record %d (id %d bytes, data %d bytes, created %v): payload differs from msgpack's:\n got %x\nwant %x",
				n, len(rec.SessionID), len(rec.Data), rec.Created, head(got[headerLen:]), head(buf.Bytes()))
		}
		if cap(got) != len(got) {
			t.Errorf("record %d: %d bytes in a buffer of %d: its size was not computed exactly", n, len(got), cap(got))
		}
		// The reader without reflection reads it, as msgpack does.
		var fast, slow payload
		if !decodePayload(got[headerLen:], &fast, false) {
			t.Fatalf("record %d: decodePayload refused the payload", n)
		}
		if err := msgpack.Unmarshal(got[headerLen:], &slow); err != nil {
			t.Fatal(err)
		}
		if fast.SessionID != slow.SessionID || fast.Node != slow.Node || fast.Type != slow.Type || !bytes.Equal(fast.Data, slow.Data) ||
			fast.Doc != slow.Doc || !bytes.Equal(fast.DocHash, slow.DocHash) || fast.Created != slow.Created || fast.Updated != slow.Updated {
			t.Fatalf("record %d: decodePayload read %+v, msgpack %+v", n, fast, slow)
		}
		if decodePayload(got[headerLen:len(got)-1], &fast, false) || decodePayload(append(got[headerLen:len(got):len(got)], 0), &fast, true) {
			t.Fatalf("record %d: decodePayload took a truncated or overlong payload", n)
		}
		back, err := decodeRecord(rec.SessionID, got)
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		if back.Node != rec.Node || back.Type != rec.Type || !bytes.Equal(back.Data, rec.Data) || back.Doc != rec.Doc ||
			back.DocHash != rec.DocHash || !back.Created.Equal(rec.Created) || !back.Updated.Equal(rec.Updated) || back.Seq != rec.Seq {
			t.Errorf("record %d reads back as %+v", n, back)
		}
	}
	for _, s := range strs {
		check(&Record{SessionID: "id" + s, Node: s, Type: "voice", Doc: s, Seq: 7, Data: []byte("x")})
	}
	for _, d := range datas {
		check(&Record{SessionID: "id", Node: "n", Type: "voice", Data: d, Seq: 1 << 40})
	}
	for _, tm := range times {
		check(&Record{SessionID: "id", Node: "n", Created: tm, Updated: tm, DocHash: [32]byte{1, 2, 3}})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 48)] }
